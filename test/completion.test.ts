/**
 * `kvctl completion bash|zsh` and `kvb completion …`: the printed script, sourced into a real
 * bash, completes sub-commands (nested), flags and flag choices as the commander program
 * defines them; an unknown shell is a usage error (exit 2).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KVCTL } from './cli-proc.js';
import { repoRoot } from './helpers.js';

const KVB = path.join(repoRoot, 'dist', 'ts', 'cli', 'kvb.js');

/** Sources `tool completion shell` into bash and returns COMPREPLY for each line of words. */
function complete(tool: string, shell: 'bash' | 'zsh', lines: string[][]): string[][] {
  const name = path.basename(tool, '.js');
  const calls = lines.map((words) => {
    const arr = words.map((w) => `'${w}'`).join(' ');
    return `COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _${name}_complete; echo "\${COMPREPLY[*]}"`;
  });
  const script = `set -u\nsource <("${process.execPath}" "${tool}" completion ${shell})\n${calls.join('\n')}\n`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.replace(/\n$/, '').split('\n').map((l) => (l === '' ? [] : l.split(' ')));
}

test('kvctl: sub-commands, nested groups, flags and choices complete from the real program', () => {
  for (const shell of ['bash', 'zsh'] as const) {
    const [top, user, create, fmt, fmtJ, cluster, nothing] = complete(KVCTL, shell, [
      ['kvctl', 'us'],
      ['kvctl', 'user', ''],
      ['kvctl', 'user', 'create', 'alice', '--pa'],
      ['kvctl', '--format', ''],
      ['kvctl', 'user', 'list', '--format', 'j'],
      ['kvctl', 'cluster', ''],
      ['kvctl', 'no-such-command', 'x'],
    ]);
    assert.equal(top, ['user']);
    for (const s of ['create', 'list', 'passwd', '--help']) assert.ok(user!.includes(s), `kvctl user <tab> lacks ${s}: ${user!.join(' ')}`);
    assert.equal(create, ['--password', '--password-stdin']);
    assert.equal(fmt, ['table', 'json']);
    assert.equal(fmtJ, ['json']);
    for (const s of ['status', 'promote', '--url']) assert.ok(cluster!.includes(s), `kvctl cluster <tab> lacks ${s}`);
    assert.equal(nothing, [], 'an unknown command completes nothing of its own');
  }
});

test('kvb completes its workloads and flags; an unknown shell is a usage error', () => {
  const [top, flags] = complete(KVB, 'bash', [['kvb', ''], ['kvb', 'get-heavy', '--conc']]);
  for (const s of ['get-heavy', 'set-heavy', 'mixed', 'completion']) assert.ok(top!.includes(s), `kvb <tab> lacks ${s}: ${top!.join(' ')}`);
  assert.equal(flags, ['--concurrency']);
  const r = spawnSync(process.execPath, [KVCTL, 'completion', 'fish'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown shell "fish"; bash or zsh/);
});

test.run();
