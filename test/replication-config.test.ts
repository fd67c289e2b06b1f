/**
 * Replication's settings as an operator meets them: `kvstored --help` (the real binary) shows
 * them as one group with flag, file key and variable each and says how a standby is set up,
 * and the commented replication block of deploy/kvstored.example.toml is made of real
 * settings that load, once uncommented, for a primary and for a standby.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIELDS, envName, fileKey, flagName, loadConfig } from '../ts/server/config.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('replication settings');

const REPLICATION = ['replicaOf', 'standbyId', 'replicationApiKey', 'replicationApiKeyFile', 'replicationCa', 'replicationCert', 'replicationKey', 'synchronousStandbys', 'synchronousTimeoutMs'];

test('kvstored --help lists every replication setting under a Replication heading, with flag, file key and variable', () => {
  const help = execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'ts', 'server', 'main.js'), '--help'], { encoding: 'utf8' });
  // The group: from its heading to the next line that is not indented (the next heading).
  const lines = help.split('\n');
  const at = lines.findIndex((l) => /^Replication\b/.test(l));
  assert.ok(at > 0, 'a Replication heading');
  const end = lines.findIndex((l, i) => i > at && l !== '' && !l.startsWith(' '));
  const section = lines.slice(at, end < 0 ? undefined : end).join('\n') + '\n';
  for (const name of REPLICATION) {
    const f = FIELDS.find((x) => x.name === name)!;
    assert.ok(f, name);
    assert.ok(section.includes(envName(f)), `${name}: ${envName(f)}`);
    if (f.noFile) {
      assert.not.ok(section.includes(flagName(f) + ' '), `${name} is environment only: no flag`);
    } else {
      assert.ok(section.includes(flagName(f)), `${name}: ${flagName(f)}`);
      assert.ok(section.includes(`file: ${fileKey(f)} `), `${name}: ${fileKey(f)}`);
    }
  }
  assert.match(section, /replicator role/);
  assert.match(section, /docs\/replication\.md/);
  assert.not.ok(section.includes('--metrics '), 'only replication settings in the group');
});

test('the example file\'s replication block is made of real settings: uncommented, it loads for a primary and for a standby', () => {
  const text = fs.readFileSync(path.join(repoRoot, 'deploy', 'kvstored.example.toml'), 'utf8');
  const block = text.slice(text.indexOf('# Replication'));
  const lines = [...block.matchAll(/^# ([a-z_]+ = .+)$/gm)].map((m) => m[1]!);
  const keys = lines.map((l) => l.split(' ')[0]!);
  assert.equal(keys.sort(), REPLICATION.map((n) => fileKey(FIELDS.find((f) => f.name === n)!)).filter((k) => k !== 'replication_api_key').sort());
  const dir = tempDir('repl-config');
  const load = (subset: string[]): ReturnType<typeof loadConfig>['config'] => {
    const file = path.join(dir, 'k.toml');
    fs.writeFileSync(file, subset.join('\n') + '\n');
    return loadConfig(['--config', file], {}).config;
  };
  const primary = load(lines.filter((l) => l.startsWith('synchronous_')));
  assert.equal([primary.synchronousStandbys, primary.synchronousTimeoutMs, primary.replicaOf], [1, 10_000, undefined]);
  const standby = load(lines.filter((l) => !l.startsWith('synchronous_')));
  assert.is(standby.replicaOf, 'https://primary.example:8443');
  assert.is(standby.standbyId, 'standby-1');
  assert.is(standby.replicationApiKeyFile, '/etc/kvstore/replication-key');
  // A standby may carry synchronous_standbys: it takes effect when the standby is promoted, so a
  // failover keeps the commit level.
  const both = load(lines);
  assert.equal([both.replicaOf, both.synchronousStandbys], ['https://primary.example:8443', 1]);
});

test.run();
