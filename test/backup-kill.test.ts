/**
 * kill -9 during a backup and during archiving (issue 16), a real child process each: what
 * is left in the repository is either a complete backup that verifies or an incomplete one
 * (no manifest) that verify refuses and restore ignores; archived chunks are whole (a chunk
 * cut by the kill stays a temp file nobody lists), their bytes equal the source's WAL, and
 * archiving started again after the crash continues without a gap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/store/store.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { DirRepo } from '../ts/backup/dir-repo.js';
import { listArchive, listRepo } from '../ts/backup/catalog.js';
import { readAll } from '../ts/backup/repo.js';
import { restoreBackup } from '../ts/backup/restore.js';
import { verifyArchive, verifyBackup } from '../ts/backup/verify.js';
import { ENGINES, tempDir } from './helpers.js';
import { type Child, startChild } from './proc.js';
import { dump, sleep } from './backup-util.js';

const test = suite('backup: kill -9');
let child: Child | null = null;
test.after.each(async () => {
  await child?.kill();
  child = null;
});

async function checkRepo(repoDir: string): Promise<{ complete: number; incomplete: number }> {
  const repo = new DirRepo(repoDir);
  const c = await listRepo(repo);
  for (const m of c.backups) await verifyBackup(repo, m.id);
  for (const id of c.incomplete) {
    try {
      await verifyBackup(repo, id);
      assert.unreachable(`the interrupted backup ${id} verified`);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'BACKUP_CORRUPT', (err as Error).message);
    }
  }
  return { complete: c.backups.length, incomplete: c.incomplete.length };
}

for (const engine of ENGINES) {
  test(`${engine}: kill -9 in the middle of a backup leaves nothing verify accepts but complete backups`, async () => {
    const src = tempDir('bkk-src');
    const repoDir = tempDir('bkk-repo');
    child = startChild('backup-worker', [src, engine, repoDir, 'backup']);
    await child.waitFor((l) => l.startsWith('backup '), 60_000);
    // The next backup has stored its snapshot and is copying WAL files: kill it there.
    await child.waitFor((l) => l.startsWith('file snapshot-'), 60_000);
    await child.kill();
    child = null;
    const r = await checkRepo(repoDir);
    assert.ok(r.complete >= 1, 'the first backup is complete');
    assert.is(r.incomplete, 1, 'the interrupted one is incomplete');
    // A restore picks the complete backup and the result opens.
    const res = await restoreBackup(repoDir, tempDir('bkk-r'));
    const db = await open({ dir: res.dir, engine });
    try {
      assert.ok(dump(db).size >= 400);
    } finally {
      await db.close();
    }
    // Random moments too: whatever the kill leaves, only complete backups verify.
    for (let round = 0; round < 3; round++) {
      const dir2 = tempDir('bkk-src2');
      child = startChild('backup-worker', [dir2, engine, repoDir, 'backup']);
      await child.waitFor((l) => l.startsWith('backup '), 60_000);
      await sleep(20 + Math.floor(Math.random() * 200));
      await child.kill();
      child = null;
      await checkRepo(repoDir);
    }
  });

  test(`${engine}: kill -9 while archiving leaves whole chunks equal to the source WAL, and archiving resumes without a gap`, async () => {
    const src = tempDir('bka-src');
    const repoDir = tempDir('bka-repo');
    child = startChild('backup-worker', [src, engine, repoDir, 'archive']);
    await child.waitFor((l) => l.startsWith('backup '), 60_000);
    let shipped = 0;
    for (let i = 0; i < 200 && shipped < 30; i++) {
      await sleep(50);
      shipped = child.lines().filter((l) => l.startsWith('shipped ')).length;
    }
    assert.ok(shipped >= 30, `chunks were shipped (${shipped})`);
    await child.kill();
    child = null;
    const repo = new DirRepo(repoDir);
    const a = await verifyArchive(repo);
    assert.equal(a.gaps, []);
    assert.is(a.first, '1');
    // The archived bytes are the source's WAL, byte for byte (the source was killed: no checkpoint dropped any).
    const store = await open({ dir: src, engine, checkpointWalBytes: 0 });
    const archiver = new WalArchiver(store._replication(), repo, { partialIntervalMs: 20, chunkBytes: 64 * 1024, timeMarkerMs: 0, log: () => {} });
    try {
      const chunks = await listArchive(repo);
      const port = store._replication();
      for (const c of chunks.slice(-5)) {
        const want = await port.readWal(c.first, 1 << 20);
        assert.ok((await readAll(repo, c.key)).equals(want.subarray(0, (await readAll(repo, c.key)).length)), `${c.key} equals the source WAL`);
      }
      // Restart archiving: it continues where the archive ends, and restore reaches the source's end.
      await archiver.start();
      await store.put('after-restart', 'yes');
      await archiver.flush();
      const b = await verifyArchive(repo);
      assert.equal(b.gaps, [], 'no gap after the restart');
      assert.is(BigInt(b.last!), store.stats().nextLsn - 1n);
      const res = await restoreBackup(repoDir, tempDir('bka-r'));
      assert.is(res.lastLsn, store.stats().nextLsn - 1n);
      const want = dump(store);
      const db = await open({ dir: res.dir, engine });
      try {
        const got = dump(db);
        assert.is(got.size, want.size);
        for (const [k, v] of want) assert.is(got.get(k), v, k);
      } finally {
        await db.close();
      }
      const leftovers = fs.readdirSync(path.join(repoDir, 'wal')).filter((n) => n.includes('.tmp-'));
      assert.ok(leftovers.length <= 1, 'at most the one chunk the kill cut is a temp file');
    } finally {
      await archiver.stop();
      await store.close();
    }
  });
}

test.run();
