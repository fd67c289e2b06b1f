/**
 * kvctl's backup commands as a user runs them (the online path and the time restore are in
 * the README walkthrough, test/readme-backup.test.ts): an offline backup of a --data-dir, a
 * backup of a directory a server holds refused (LOCKED), list and verify in JSON, restore
 * to an LSN, unreachable targets and usage errors with their exit codes, a damaged file
 * named with exit 1, prune; a gap in the archived WAL (a chunk deleted) fails verify with
 * the missing LSN range and the chunks around it, text and JSON, and a restore past it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KVCTL, runCli, startKvstored } from './cli-proc.js';
import { ENGINES, tempDir } from './helpers.js';
import { childScript } from './proc.js';
import { open } from '../ts/store/store.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { openRepo } from '../ts/backup/repo.js';
import { listArchive } from '../ts/backup/catalog.js';
import { assertManifest } from './backup-util.js';

const test = suite('backup: kvctl');
const kvctl = (args: string[]) => runCli(KVCTL, ['--engine', ENGINES[0]!, ...args]);

test('backup create | list | verify | prune and restore --until-lsn on a data directory', async () => {
  const data = path.join(tempDir('bkc'), 'data');
  const repo = tempDir('bkc-repo');
  for (const [k, v] of [['a', '1'], ['b', '2']]) assert.is((await kvctl(['--data-dir', data, 'put', k!, v!])).code, 0);
  const t1 = Date.now();
  const c1 = await kvctl(['--data-dir', data, '--format', 'json', 'backup', 'create', '--to', repo]);
  assert.is(c1.code, 0, c1.stderr);
  const m1 = JSON.parse(c1.stdout) as { id: string; endLsn: string };
  // The manifest's every field, checked against the files (a data directory never in
  // replication: no system id or timeline).
  const onDisk = assertManifest({ dir: path.join(repo, 'backups', m1.id), notBefore: t1, notAfter: Date.now(), dataDir: data, engine: ENGINES[0]!, systemId: null, timeline: null, minEndLsn: 2n });
  assert.equal({ ...onDisk, ms: (m1 as { ms?: number }).ms }, m1, 'create --format json prints the manifest');
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

test('a missing archived WAL chunk: verify exits 1 naming the LSN range and the chunks around it; restore past it is refused', async () => {
  const repoDir = tempDir('bkc-gap-repo');
  const srcDir = tempDir('bkc-gap');
  const store = await open({ dir: srcDir, engine: ENGINES[0]! });
  const archiver = new WalArchiver(store._replication(), await openRepo(repoDir), { partialIntervalMs: 50, chunkBytes: 2048, timeMarkerMs: 0, log: () => {} });
  let m: { id: string; endLsn: string };
  try {
    await archiver.start();
    for (let i = 0; i < 20; i++) await store.put(`a${i}`, 'x'.repeat(100));
    m = await store.backup(repoDir);
    for (let i = 0; i < 200; i++) await store.put(`b${i}`, 'y'.repeat(100));
    await archiver.flush();
  } finally {
    await archiver.stop();
    await store.close();
  }
  const ok = await kvctl(['--format', 'json', 'backup', 'verify', '--repo', repoDir]);
  assert.is(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { ok: boolean; archive: { gaps: unknown[] } }).archive.gaps, []);
  // Delete a chunk in the middle of what a restore of the backup needs.
  const after = (await listArchive(await openRepo(repoDir))).filter((c) => c.first > BigInt(m.endLsn) + 1n);
  assert.ok(after.length >= 3, `several chunks after the backup (${after.length})`);
  const [before, gone, next] = [after[0]!, after[1]!, after[2]!];
  fs.rmSync(path.join(repoDir, gone.key));
  const range = `${gone.first}..${gone.last}`;
  const text = await kvctl(['backup', 'verify', '--repo', repoDir]);
  assert.is(text.code, 1, `a gap fails verify: ${text.stdout}`);
  assert.match(text.stdout, /^ok  \d/m, 'the backup itself still verifies');
  assert.match(text.stdout, new RegExp(`^BAD archive: .*missing LSNs: ${range} \\(${before.key} \\.\\. ${next.key}\\)$`, 'm'));
  assert.match(text.stderr, new RegExp(`^kvctl: BACKUP_CORRUPT: ${repoDir}: wal/: archived WAL LSN ${range} is missing \\(after ${before.key}, before ${next.key}\\): restores cannot cross it \\(backup ${m.id}\\)`));
  const js = await kvctl(['--format', 'json', 'backup', 'verify', '--repo', repoDir]);
  assert.is(js.code, 1);
  const out = JSON.parse(js.stdout) as { ok: boolean; archive: { gaps: unknown[] } };
  assert.is(out.ok, false);
  assert.equal(out.archive.gaps, [{ from: String(gone.first), to: String(gone.last), chunkBefore: before.key, chunkAfter: next.key, blocks: [m.id] }]);
  const err = JSON.parse(js.stderr) as { error: { code: string; message: string; exitCode: number } };
  assert.is(err.error.code, 'BACKUP_CORRUPT');
  assert.is(err.error.exitCode, 1);
  assert.ok(err.error.message.includes(`LSN ${range} is missing`), err.error.message);
  // A restore to an LSN past the gap is refused, naming the range; to the latest point it
  // stops before the gap and says so.
  const past = await kvctl(['restore', '--from', repoDir, '--to-dir', path.join(tempDir('bkc-gap-r'), 'x'), '--until-lsn', String(next.last)]);
  assert.is(past.code, 1);
  assert.match(past.stderr, new RegExp(`RESTORE_TARGET_UNREACHABLE: .*reach LSN ${gone.first - 1n}, not ${next.last} \\(the archive has a gap after LSN ${gone.first - 1n}: archived WAL LSN ${range} is missing, before ${repoDir}: ${next.key}\\)`));
  const latest = await kvctl(['--format', 'json', 'restore', '--from', repoDir, '--to-dir', path.join(tempDir('bkc-gap-l'), 'x')]);
  assert.is(latest.code, 0, latest.stderr);
  assert.is((JSON.parse(latest.stdout) as { lastLsn: string; gapAfter: string }).gapAfter, String(gone.first - 1n));
  // A gap no backup's restore crosses (before every backup's end) is reported, not a failure.
  const b2 = await kvctl(['--data-dir', srcDir, '--format', 'json', 'backup', 'create', '--to', repoDir]);
  assert.is(b2.code, 0, b2.stderr);
  fs.rmSync(path.join(repoDir, 'backups', m.id), { recursive: true });
  const harmless = await kvctl(['--format', 'json', 'backup', 'verify', '--repo', repoDir]);
  assert.is(harmless.code, 0, harmless.stderr);
  assert.equal((JSON.parse(harmless.stdout) as { ok: boolean; archive: { gaps: { blocks: string[] }[] } }).archive.gaps.map((g) => g.blocks), [[]]);
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
