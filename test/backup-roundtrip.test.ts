/**
 * Backup round trip under load (issue 16), both engines, in process: a writer runs
 * continuously (puts, TTL puts, deletes, incrs, batches) while a base backup is taken and
 * the WAL is archived (small segments and frequent checkpoints, so the source drops WAL the
 * archive must have taken first). At three points the writer pauses and the source's full
 * state (keys, values, versions, expiries) and LSN are recorded: A (by LSN), B (by time),
 * C (the end). Restores to A's LSN, to B's time and to the latest point each equal the
 * source at that point exactly; the backup and the archive verify; the restored directory
 * opens with either engine.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/store/store.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { DirRepo } from '../ts/backup/dir-repo.js';
import { listRepo } from '../ts/backup/catalog.js';
import { restoreBackup } from '../ts/backup/restore.js';
import { verifyArchive, verifyBackup } from '../ts/backup/verify.js';
import { ENGINES, tempDir } from './helpers.js';
import { type Dump, Writer, assertSameDump, dump, sleep } from './backup-util.js';

const test = suite('backup: round trip under load');

const SMALL = { walSegmentBytes: 64 * 1024, checkpointWalBytes: 128 * 1024 };

for (const engine of ENGINES) {
  test(`${engine}: backup under load + archive; restore to an LSN, a time and the latest point equals the source there`, async () => {
    const src = tempDir('bk-src');
    const repoDir = tempDir('bk-repo');
    const repo = new DirRepo(repoDir);
    const store = await open({ dir: src, engine, durability: 'always', ...SMALL });
    const archiver = new WalArchiver(store._replication(), repo, { partialIntervalMs: 300, chunkBytes: 48 * 1024, timeMarkerMs: 100, log: () => {} });
    let writer: Writer | null = null;
    try {
      await archiver.start();
      writer = new Writer(store, engine);
      await sleep(400);
      const before = writer.acked;
      const m = await store.backup(repoDir); // online: the writer keeps going
      assert.ok(writer.acked > before, 'writes were acknowledged while the backup ran');
      assert.ok(BigInt(m.endLsn) >= BigInt(m.startLsn) - 1n);
      assert.ok(writer.acked > 0);
      await sleep(400);
      // A: a chosen LSN, with writes before and after it.
      await writer.pause();
      const lsnA = store.stats().nextLsn - 1n;
      const stateA: Dump = dump(store);
      writer.resume();
      await sleep(400);
      // B: a time. The writer pauses, a TIME marker follows its last write, then T.
      await writer.pause();
      await sleep(300);
      const timeB = Date.now();
      const stateB = dump(store);
      await sleep(300);
      writer.resume();
      await sleep(400);
      await writer.stop();
      writer = null;
      const stateC = dump(store);
      const lsnC = store.stats().nextLsn - 1n;
      await archiver.stop();
      assert.ok(lsnA + 100n < lsnC, `writes went on after A (${lsnA} .. ${lsnC})`);
      assert.ok([...stateC].some(([k, v]) => stateA.get(k) !== v), 'the states at A and C differ');
      assert.ok(store.stats().checkpoints >= 2, `checkpoints ran while archiving (${store.stats().checkpoints})`);

      // The repository: one backup, an archive without gaps reaching the end.
      const c = await listRepo(repo);
      assert.is(c.backups.length, 1);
      await verifyBackup(repo, m.id);
      const a = await verifyArchive(repo);
      assert.equal(a.gaps, [], 'no gap in the archive');
      assert.ok(BigInt(a.last!) >= lsnC, `the archive reaches LSN ${lsnC} (has ${a.last})`);

      const rA = await restoreBackup(repoDir, tempDir('bk-a'), { untilLsn: lsnA });
      assert.is(rA.lastLsn, lsnA);
      const rB = await restoreBackup(repoDir, tempDir('bk-b'), { untilTime: timeB });
      assert.is(rB.stoppedBy, 'time');
      const rC = await restoreBackup(repoDir, tempDir('bk-c'));
      assert.ok(rC.lastLsn >= lsnC);
      for (const [r, want, what] of [[rA, stateA, 'to LSN'], [rB, stateB, 'to time'], [rC, stateC, 'latest']] as const) {
        for (const e of ENGINES) {
          const copy = tempDir('bk-open');
          (await import('node:fs')).cpSync(r.dir, copy, { recursive: true });
          const db = await open({ dir: copy, engine: e });
          try {
            assertSameDump(dump(db), want, `restored ${what} (${e})`);
          } finally {
            await db.close();
          }
        }
      }
    } finally {
      await writer?.stop();
      await archiver.stop();
      await store.close();
    }
  });
}

test.run();
