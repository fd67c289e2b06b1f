/**
 * The README's replication walkthrough, run as written (bash) with kvstored and kvctl on the
 * PATH as a package install puts them, against real processes: a primary, a standby
 * kvstored and the embedded replica of examples/replica.ts; then the failover, the promotion
 * and the old primary's rewind. Only the ports change (to free ones). Docs that do not match
 * the code fail here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort } from './cli-proc.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('README replication');

/** Executables named like the package's bins, as npm links them (exec: $! is node's own pid). */
function binDir(): string {
  const dir = tempDir('readme-bin');
  for (const [name, file] of [['kvstored', 'dist/ts/server/main.js'], ['kvctl', 'dist/ts/cli/kvctl.js']] as const) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, file)}" "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

test('the three-process replication walkthrough works as written: standby, embedded replica, failover, promote, rewind', async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Replication\n'));
  assert.ok(section.length > 20, 'the README has a "## Replication" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const [a, b] = [await closedPort(), await closedPort()];
  const script = block.replaceAll('8080', String(a)).replaceAll('8081', String(b));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KVCTL_') && !k.startsWith('KVSTORE_')));
  // Its own process group: whatever the script leaves running when it fails is killed with it.
  const bash = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, PATH: `${binDir()}:${env.PATH}`, TMPDIR: tempDir('readme-repl'), KVCTL_CONFIG_DIR: tempDir('readme-kvctl') },
  });
  let out = '';
  let err = '';
  bash.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  bash.stderr.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const closed = new Promise<void>((resolve) => bash.on('close', () => resolve()));
  const timer = setTimeout(() => process.kill(-bash.pid!, 'SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolve) => bash.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  try {
    process.kill(-bash.pid!, 'SIGKILL'); // what a failed script left running (it holds the pipes)
  } catch {
    // the group is gone: the script stopped everything it started
  }
  await closed;
  const shown = `\n--- stdout\n${out}\n--- stderr\n${err}`;
  assert.is(code, 0, `the walkthrough failed${shown}`);
  assert.ok(out.includes('hello, replicas'), `the standby serves the write${shown}`);
  assert.match(out, /replica: greeting = hello, replicas/);
  assert.match(out, /^b\s+127\.0\.0\.1\s+\d+\s+\d+\s+\d+\s+\d+\s/m, 'cluster status lists the standby');
  assert.match(out, /^example-replica\s+127\.0\.0\.1\s/m, 'cluster status lists the embedded replica');
  assert.match(out, /^hello via the standby$/m, 'a write on the standby is forwarded, and a linearizable read there sees it');
  assert.match(out, /^promoted http:\/\/127\.0\.0\.1:\d+ to primary: timeline 00000002[0-9a-f]{8} \(generation 2, from 00000001[0-9a-f]{8}\) at LSN \d+$/m);
  assert.match(out, /replication: rewound to LSN \d+ to follow timeline 00000002[0-9a-f]{8}: discarded 1 record\(s\)/);
  assert.ok(out.includes('written on the new primary'), 'the old primary has the new primary\'s write');
  assert.match(err, /NOT_FOUND: no such key: last-word/, 'the rewind took the record the new primary never had');
  assert.match(out, /replica: after = written on the new primary/);
  assert.match(out, /^timeline:\s+00000002[0-9a-f]{8} \(generation 2\)$/m);
  assert.match(out, /^a\s+127\.0\.0\.1\s/m, 'the old primary streams from the new one');
});

test.run();
