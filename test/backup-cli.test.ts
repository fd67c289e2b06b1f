/**
 * kvctl's backup commands as a user runs them (the online path and the time restore are in
 * the README walkthrough, test/readme-backup.test.ts): an offline backup of a --data-dir, a
 * backup of a directory a server holds refused (LOCKED), list and verify in JSON, restore
 * to an LSN, unreachable targets and usage errors with their exit codes, a damaged file
 * named with exit 1, prune.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KVCTL, runCli, startKvstored } from './cli-proc.js';
import { ENGINES, tempDir } from './helpers.js';
import { childScript } from './proc.js';

const test = suite('backup: kvctl');
const kvctl = (args: string[]) => runCli(KVCTL, ['--engine', ENGINES[0]!, ...args]);

test('backup create | list | verify | prune and restore --until-lsn on a data directory', async () => {
  const data = path.join(tempDir('bkc'), 'data');
  const repo = tempDir('bkc-repo');
  for (const [k, v] of [['a', '1'], ['b', '2']]) assert.is((await kvctl(['--data-dir', data, 'put', k!, v!])).code, 0);
  const c1 = await kvctl(['--data-dir', data, '--format', 'json', 'backup', 'create', '--to', repo]);
  assert.is(c1.code, 0, c1.stderr);
  const m1 = JSON.parse(c1.stdout) as { id: string; endLsn: string };
  assert.is((await kvctl(['--data-dir', data, 'put', 'a', '3'])).code, 0);
  const c2 = await kvctl(['--data-dir', data, '--format', 'json', 'backup', 'create', '--to', repo]);
  const m2 = JSON.parse(c2.stdout) as { id: string; endLsn: string };
  const list = await kvctl(['--format', 'json', 'backup', 'list', '--repo', repo]);
  assert.equal((JSON.parse(list.stdout) as { backups: { id: string }[] }).backups.map((b) => b.id), [m1.id, m2.id]);
  const v = await kvctl(['backup', 'verify', '--repo', repo]);
  assert.is(v.code, 0, v.stderr);
  assert.is(v.stdout.split('\n').filter((l) => l.startsWith('ok  2')).length, 2, v.stdout);
  // Restore to the first backup's point: a = 1.
  const r1 = path.join(tempDir('bkc-r'), 'one');
  const r = await kvctl(['restore', '--from', repo, '--to-dir', r1, '--until-lsn', m1.endLsn]);
  assert.is(r.code, 0, r.stderr);
  assert.is((await kvctl(['--data-dir', r1, 'get', 'a'])).stdout, '1');
  // Refusals and usage errors: exit 1 with the code, exit 2 for usage; nothing written.
  const again = await kvctl(['restore', '--from', repo, '--to-dir', r1]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /RESTORE_TARGET_NOT_EMPTY/);
  const far = await kvctl(['restore', '--from', repo, '--to-dir', path.join(tempDir('bkc-far'), 'x'), '--until-lsn', '999999']);
  assert.is(far.code, 1);
  assert.match(far.stderr, /RESTORE_TARGET_UNREACHABLE/);
  for (const args of [['restore', '--from', repo, '--to-dir', '/tmp/x', '--until-time', 'noon'], ['restore', '--from', repo, '--to-dir', '/tmp/x', '--until-lsn', '-3'], ['backup', 'prune', '--repo', repo], ['backup', 'create', '--to', repo]]) {
    const u = await kvctl(args);
    assert.is(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
  }
  // A damaged WAL-less snapshot: verify and restore name it, exit 1.
  const snap = fs.readdirSync(path.join(repo, 'backups', m2.id)).find((n) => n.endsWith('.snap'))!;
  const f = path.join(repo, 'backups', m2.id, snap);
  const b = fs.readFileSync(f);
  b[b.length - 12]! ^= 1;
  fs.writeFileSync(f, b);
  const bad = await kvctl(['backup', 'verify', '--repo', repo]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`BACKUP_CORRUPT: .*${snap}`));
  // Prune to one: the newest (damaged) stays, the older goes.
  const p = await kvctl(['--format', 'json', 'backup', 'prune', '--repo', repo, '--keep', '1']);
  assert.equal((JSON.parse(p.stdout) as { deletedBackups: string[] }).deletedBackups, [m1.id]);
});

test('an offline backup of a directory a server holds is refused (LOCKED)', async () => {
  const data = tempDir('bkc-live');
  const server = await startKvstored(data);
  try {
    const off = await kvctl(['--data-dir', data, 'backup', 'create', '--to', tempDir('bkc-x')]);
    assert.is(off.code, 1);
    assert.match(off.stderr, /LOCKED/);
  } finally {
    await server.stop();
  }
});

test('an s3:// location without the optional S3 packages: OBJECT_STORE_UNAVAILABLE, exit 1', async () => {
  const r = await runCli('--import', [childScript('no-aws-sdk'), KVCTL, 'backup', 'list', '--repo', 's3://some-bucket/prefix']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /OBJECT_STORE_UNAVAILABLE: s3:\/\/ locations need the optional packages @aws-sdk\/client-s3 and @aws-sdk\/lib-storage/);
  const dir = await runCli('--import', [childScript('no-aws-sdk'), KVCTL, 'backup', 'list', '--repo', tempDir('bkc-nosdk')]);
  assert.is(dir.code, 0, `directory repositories need no SDK: ${dir.stderr}`);
});

test.run();
