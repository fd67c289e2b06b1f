/**
 * Damaged backups and refused restores (issue 16): a flipped byte in the snapshot or a WAL
 * file, a missing WAL file, a truncated snapshot, a missing manifest, a missing archived
 * chunk — verify and restore fail with BACKUP_CORRUPT (or RESTORE_TARGET_UNREACHABLE for a
 * gap) naming the file, and a failed restore leaves no directory behind. Restoring into a
 * non-empty directory or a live store's directory is refused with RESTORE_TARGET_NOT_EMPTY.
 * A failing archive target keeps every unarchived WAL segment through checkpoints while
 * writes go on, and catches up once it works again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/store/store.js';
import { SEGMENT_RE } from '../ts/engine/format.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { DirRepo } from '../ts/backup/dir-repo.js';
import { pruneRepo } from '../ts/backup/prune.js';
import { listRepo } from '../ts/backup/catalog.js';
import { restoreBackup } from '../ts/backup/restore.js';
import { verifyArchive, verifyBackup } from '../ts/backup/verify.js';
import type { Manifest } from '../ts/backup/manifest.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';
import { assertSameDump, dump, sleep } from './backup-util.js';

const test = suite('backup: damage, refusals, failing archive');

/** A repository with one backup of a store whose WAL part spans several files, plus an archive. */
async function fixture(engine: (typeof ENGINES)[number]): Promise<{ repoDir: string; m: Manifest; want: ReturnType<typeof dump>; lastLsn: bigint }> {
  const src = tempDir('bkd-src');
  const repoDir = tempDir('bkd-repo');
  const store = await open({ dir: src, engine, walSegmentBytes: 64 * 1024, checkpointWalBytes: 0 });
  const archiver = new WalArchiver(store._replication(), new DirRepo(repoDir), { partialIntervalMs: 50, chunkBytes: 16 * 1024, timeMarkerMs: 0, log: () => {} });
  try {
    await archiver.start();
    for (let i = 0; i < 100; i++) await store.put(`k${i}`, `value-${i}`.padEnd(200, '.'));
    await store.checkpoint();
    for (let i = 0; i < 300; i++) await store.put(`k${i}`, `value-${i}`.padEnd(200, '.'));
    // No new checkpoint: the backup's WAL part is these 300 records, in several small files.
    const m = await store.backup(repoDir, { checkpoint: false, walFileBytes: 16 * 1024 });
    for (let i = 0; i < 300; i++) await store.put(`k${i % 50}`, `later-${i}`.padEnd(200, '-'));
    await archiver.flush();
    const want = dump(store);
    const lastLsn = store.stats().nextLsn - 1n;
    return { repoDir, m, want, lastLsn };
  } finally {
    await archiver.stop();
    await store.close();
  }
}

async function fails(code: string, file: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: string; message: string };
    assert.is(e.code, code, e.message);
    assert.ok(e.message.includes(file), `the error names ${file}: ${e.message}`);
    return;
  }
  assert.unreachable(`expected ${code} naming ${file}`);
}

function flip(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at]! ^= 0x40;
  fs.writeFileSync(file, b);
}

for (const engine of ENGINES) {
  test(`${engine}: an intact backup verifies and restores; each kind of damage fails verify and restore naming the file`, async () => {
    const { repoDir, m, want, lastLsn } = await fixture(engine);
    const repo = new DirRepo(repoDir);
    const wal = m.files.filter((f) => f.kind === 'wal');
    assert.ok(wal.length >= 3, `the backup has several WAL files (${wal.length})`);
    await verifyBackup(repo, m.id);
    const ok = await restoreBackup(repoDir, path.join(tempDir('bkd-ok'), 'data'));
    assert.is(ok.lastLsn, lastLsn);
    const db = await open({ dir: ok.dir, engine });
    try {
      assertSameDump(dump(db), want, 'intact restore');
    } finally {
      await db.close();
    }
    const bdir = path.join(repoDir, 'backups', m.id);
    const snap = m.files.find((f) => f.kind === 'snapshot')!.path;
    const cases: Array<[string, string, () => void, () => void]> = [];
    const keep = (p: string): [() => void, () => void] => {
      const saved = fs.readFileSync(path.join(bdir, p));
      return [() => {}, () => fs.writeFileSync(path.join(bdir, p), saved)];
    };
    {
      const [, undo] = keep(wal[0]!.path);
      cases.push(['flipped byte in a WAL file', wal[0]!.path, () => flip(path.join(bdir, wal[0]!.path), 100), undo]);
    }
    {
      const [, undo] = keep(snap);
      cases.push(['flipped byte in the snapshot', snap, () => flip(path.join(bdir, snap), 10), undo]);
      cases.push(['truncated snapshot', snap, () => fs.truncateSync(path.join(bdir, snap), 20), undo]);
    }
    {
      const last = wal[wal.length - 1]!.path;
      const [, undo] = keep(last);
      cases.push(['missing WAL file', last, () => fs.rmSync(path.join(bdir, last)), undo]);
    }
    for (const [what, file, damage, undo] of cases) {
      damage();
      await fails('BACKUP_CORRUPT', file, () => verifyBackup(repo, m.id));
      const target = path.join(tempDir('bkd-t'), 'data');
      await fails('BACKUP_CORRUPT', file, () => restoreBackup(repoDir, target, { backupId: m.id }));
      assert.not.ok(fs.existsSync(target), `${what}: a failed restore leaves no directory`);
      assert.equal(fs.readdirSync(path.dirname(target)), [], `${what}: nor a temp directory`);
      undo();
      await verifyBackup(repo, m.id);
    }
    // No manifest: the backup does not exist.
    const manifest = path.join(bdir, 'manifest.json');
    const saved = fs.readFileSync(manifest);
    fs.rmSync(manifest);
    await fails('BACKUP_CORRUPT', 'manifest.json', () => verifyBackup(repo, m.id));
    assert.equal((await listRepo(repo)).incomplete, [m.id]);
    await fails('RESTORE_TARGET_UNREACHABLE', 'no complete backup', () => restoreBackup(repoDir, tempDir('bkd-nm')));
    fs.writeFileSync(manifest, saved);
    // A flipped byte in an archived chunk; then a missing chunk (a gap).
    // (chunks the backup's own WAL covers are not read by a restore: take one after it)
    const chunks = fs.readdirSync(path.join(repoDir, 'wal')).sort().filter((n) => BigInt(`0x${n.slice(0, 16)}`) > BigInt(m.endLsn));
    assert.ok(chunks.length >= 3, `several archived chunks after the backup (${chunks.length})`);
    const mid = path.join(repoDir, 'wal', chunks[Math.floor(chunks.length / 2)]!);
    const midSaved = fs.readFileSync(mid);
    flip(mid, 30);
    await fails('BACKUP_CORRUPT', path.basename(mid), () => verifyArchive(repo));
    await fails('BACKUP_CORRUPT', path.basename(mid), () => restoreBackup(repoDir, tempDir('bkd-ac')));
    fs.rmSync(mid);
    const a = await verifyArchive(repo);
    assert.is(a.gaps.length, 1, 'verify reports the gap');
    await fails('RESTORE_TARGET_UNREACHABLE', 'gap', () => restoreBackup(repoDir, tempDir('bkd-gap'), { untilLsn: lastLsn }));
    const partial = await restoreBackup(repoDir, tempDir('bkd-gap2'));
    assert.ok(partial.gapAfter !== null && partial.lastLsn < lastLsn, 'latest stops at the gap and says so');
    fs.writeFileSync(mid, midSaved);
    await verifyArchive(repo);
  });

  test(`${engine}: restore refuses a non-empty directory and a live store's directory`, async () => {
    const { repoDir } = await fixture(engine);
    const full = tempDir('bkd-full');
    fs.writeFileSync(path.join(full, 'precious'), 'x');
    await fails('RESTORE_TARGET_NOT_EMPTY', full, () => restoreBackup(repoDir, full));
    assert.equal(fs.readdirSync(full), ['precious'], 'nothing changed');
    const live = tempDir('bkd-live');
    const db = await open({ dir: live, engine });
    try {
      await db.put('mine', 'keep');
      await fails('RESTORE_TARGET_NOT_EMPTY', 'LOCK', () => restoreBackup(repoDir, live));
      assert.is(db.get('mine')?.toString(), 'keep');
    } finally {
      await db.close();
    }
  });

  test(`${engine}: a failing archive target keeps unarchived WAL through checkpoints, writes go on, and it catches up`, async () => {
    const src = tempDir('bkd-fail');
    const parent = tempDir('bkd-failrepo');
    const repoDir = path.join(parent, 'repo');
    fs.writeFileSync(repoDir, 'not a directory'); // every write into the repository fails (ENOTDIR)
    const logs: string[] = [];
    const store = await open({ dir: src, engine, walSegmentBytes: 64 * 1024, checkpointWalBytes: 64 * 1024 });
    const archiver = new WalArchiver(store._replication(), new DirRepo(repoDir), { partialIntervalMs: 50, chunkBytes: 16 * 1024, timeMarkerMs: 0, log: (l, msg) => void logs.push(`${l}: ${msg}`) });
    try {
      await archiver.start();
      for (let i = 0; i < 2000; i++) await store.put(`k${i % 100}`, `v${i}`.padEnd(150, '-'));
      for (let i = 0; i < 3; i++) await store.checkpoint();
      await sleep(1200);
      const st = archiver.status();
      assert.ok(st.failures >= 1, 'failures are counted');
      assert.is(st.lastArchivedLsn, 0n);
      assert.ok(st.lagLsn >= 2000n, `the lag is visible (${st.lagLsn})`);
      assert.ok(logs.some((l) => l.startsWith('error: archive:') && l.includes('failed')), 'failures are logged as errors');
      const segs = fs.readdirSync(path.join(src, 'wal')).filter((f) => SEGMENT_RE.test(f)).sort();
      assert.is(segs[0], '0000000000000001.wal', 'no checkpoint dropped the unarchived WAL from LSN 1');
      assert.ok(segs.length > 3, `the WAL grew instead (${segs.length} segments)`);
      // The target works again: everything is shipped, and then checkpoints drop segments.
      fs.rmSync(repoDir);
      for (let i = 0; i < 100 && archiver.status().lagLsn > 0n; i++) await sleep(200);
      await archiver.flush();
      assert.is(archiver.status().lagLsn, 0n, 'caught up');
      assert.ok(logs.some((l) => l.includes('works again')));
      const a = await verifyArchive(new DirRepo(repoDir));
      assert.is(a.first, '1');
      assert.equal(a.gaps, []);
      await store.checkpoint();
      const after = fs.readdirSync(path.join(src, 'wal')).filter((f) => SEGMENT_RE.test(f)).sort();
      assert.ok(after[0] !== '0000000000000001.wal', 'archived WAL can be dropped again');
    } finally {
      await archiver.stop();
      await store.close();
    }
  });
}

test('prune keeps the newest N, drops archived WAL no kept backup needs, and never the newest', async () => {
  const src = tempDir('bkp-src');
  const repoDir = tempDir('bkp-repo');
  const repo = new DirRepo(repoDir);
  const store = await open({ dir: src, engine: ENGINES[0]!, walSegmentBytes: 64 * 1024 });
  const archiver = new WalArchiver(store._replication(), repo, { partialIntervalMs: 20, chunkBytes: 8 * 1024, timeMarkerMs: 0, log: () => {} });
  try {
    await archiver.start();
    const ids: string[] = [];
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 200; i++) await store.put(`k${i}`, `b${b}-${i}`.padEnd(100, '.'));
      await archiver.flush();
      ids.push((await store.backup(repoDir)).id);
      await sleep(5);
    }
    await store.put('after-the-last-backup', 'x');
    await archiver.flush();
    const before = (await listRepo(repo)).archive.length;
    const r = await pruneRepo(repo, { keep: 1 });
    assert.equal(r.kept, [ids[2]]);
    assert.equal(r.deletedBackups.sort(), [ids[0], ids[1]].sort());
    assert.ok(r.deletedArchiveChunks > 0 && r.deletedArchiveChunks < before);
    const c = await listRepo(repo);
    assert.equal(c.backups.map((m) => m.id), [ids[2]]);
    assert.equal(fs.readdirSync(path.join(repoDir, 'backups')), [ids[2]], 'no empty directories left');
    await verifyBackup(repo, ids[2]!);
    // What is left still restores to the latest point.
    const want = dump(store);
    await archiver.flush();
    const res = await restoreBackup(repoDir, tempDir('bkp-r'));
    const db = await open({ dir: res.dir, engine: ENGINES[0]! });
    try {
      assertSameDump(dump(db), want, 'after prune');
    } finally {
      await db.close();
    }
    const none = await pruneRepo(repo, { keepDays: 0.000001 });
    assert.equal(none.kept, [ids[2]], 'the newest backup is never pruned');
  } finally {
    await archiver.stop();
    await store.close();
  }
});

test('maxBytesPerSecond throttles a backup; a bad rate is INVALID_ARGUMENT', async () => {
  const store = await open({ dir: tempDir('bkt-src'), engine: ENGINES[0]! });
  try {
    const v = Buffer.alloc(10_000, 1);
    for (let i = 0; i < 150; i++) await store.put(`k${i}`, v);
    const t0 = performance.now();
    const m = await store.backup(tempDir('bkt-repo'), { maxBytesPerSecond: 2_000_000 });
    const ms = performance.now() - t0;
    assert.ok(m.totalBytes > 1_400_000);
    assert.ok(ms >= (m.totalBytes / 2_000_000) * 1000 * 0.8, `${m.totalBytes} bytes at 2 MB/s took ${ms.toFixed(0)} ms`);
    await rejectsWith('INVALID_ARGUMENT', () => store.backup(tempDir('bkt-repo2'), { maxBytesPerSecond: 0 }));
  } finally {
    await store.close();
  }
});

test.run();
