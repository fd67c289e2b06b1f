/**
 * S3 repositories against a real S3-protocol server (s3rver on loopback, started here): a
 * base backup under writes (multipart upload for the snapshot), WAL archiving, verify, list,
 * restore to the latest point and to an LSN, prune, and a damaged object named by verify
 * and restore. Credentials come from the environment as the AWS chain reads them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/store/store.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { openRepo } from '../ts/backup/repo.js';
import { listRepo } from '../ts/backup/catalog.js';
import { pruneRepo } from '../ts/backup/prune.js';
import { restoreBackup } from '../ts/backup/restore.js';
import { verifyArchive, verifyBackup } from '../ts/backup/verify.js';
import { ENGINES, tempDir } from './helpers.js';
import { type TestS3, startS3 } from './s3-server.js';
import { assertSameDump, dump } from './backup-util.js';

const test = suite('backup: S3');
let s3: TestS3;
test.before(async () => {
  s3 = await startS3();
});
test.after(async () => {
  await s3.close();
});

function findObject(dir: string, suffix: string): string | null {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const f = findObject(p, suffix);
      if (f) return f;
    } else if (p.includes(suffix) && e.name.endsWith('._S3rver_object')) return p;
  }
  return null;
}

for (const engine of ENGINES) {
  test(`${engine}: backup, archive, verify, restore (latest and an LSN) and prune through s3://`, async () => {
    const url = `s3://${s3.bucket}/${engine}/prod`;
    const repo = await openRepo(url);
    const store = await open({ dir: tempDir('s3-src'), engine, walSegmentBytes: 1 << 20 });
    const archiver = new WalArchiver(store._replication(), repo, { partialIntervalMs: 100, chunkBytes: 64 * 1024, timeMarkerMs: 0, log: () => {} });
    try {
      await archiver.start();
      // ~12 MiB of snapshot: more than one 8 MiB part, so the upload is multipart.
      const big = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 200; i++) await store.put(`big-${i}`, big);
      const m1 = await store.backup(url);
      assert.ok(m1.files.find((f) => f.kind === 'snapshot')!.bytes > 8 << 20, 'the snapshot needs a multipart upload');
      for (let i = 0; i < 300; i++) await store.put(`k${i % 40}`, `v${i}`);
      const lsnA = store.stats().nextLsn - 1n;
      const stateA = dump(store);
      for (let i = 0; i < 300; i++) await store.delete(`big-${i % 200}`);
      await store.put('last', 'one');
      await archiver.flush();
      const stateC = dump(store);
      const m2 = await store.backup(url);
      const c = await listRepo(repo);
      assert.equal(c.backups.map((m) => m.id), [m1.id, m2.id]);
      await verifyBackup(repo, m1.id);
      await verifyBackup(repo, m2.id);
      assert.equal((await verifyArchive(repo)).gaps, []);
      const rA = await restoreBackup(url, tempDir('s3-a'), { untilLsn: lsnA });
      assert.is(rA.backupId, m1.id, 'the newest backup before the LSN');
      const rC = await restoreBackup(url, tempDir('s3-c'));
      assert.is(rC.backupId, m2.id);
      for (const [r, want] of [[rA, stateA], [rC, stateC]] as const) {
        const db = await open({ dir: r.dir, engine });
        try {
          assertSameDump(dump(db), want, `restored from S3 (${r.lastLsn})`);
        } finally {
          await db.close();
        }
      }
      // A damaged object: verify and restore name it.
      const snapKey = m2.files.find((f) => f.kind === 'snapshot')!.path;
      const obj = findObject(s3.directory, snapKey);
      assert.ok(obj, 's3rver keeps the object as a file');
      const b = fs.readFileSync(obj!);
      b[b.length - 100]! ^= 1;
      fs.writeFileSync(obj!, b);
      for (const fn of [() => verifyBackup(repo, m2.id), () => restoreBackup(url, tempDir('s3-bad'), { backupId: m2.id })]) {
        try {
          await fn();
          assert.unreachable('the damage is found');
        } catch (err) {
          assert.is((err as { code?: string }).code, 'BACKUP_CORRUPT', (err as Error).message);
          assert.ok((err as Error).message.includes(snapKey), (err as Error).message);
        }
      }
      const p = await pruneRepo(repo, { keep: 1 });
      assert.equal(p.deletedBackups, [m1.id]);
      assert.equal((await listRepo(repo)).backups.map((m) => m.id), [m2.id]);
    } finally {
      await archiver.stop();
      await store.close();
    }
  });
}

test('a missing bucket is a clear IO_ERROR naming the location, with no credentials in it', async () => {
  const repo = await openRepo('s3://no-such-bucket/x');
  const store = await open({ dir: tempDir('s3-nb'), engine: ENGINES[0]! });
  try {
    await store.put('a', 'b');
    await store.backup(repo);
    assert.unreachable('no bucket');
  } catch (err) {
    const e = err as { code?: string; message: string };
    assert.is(e.code, 'IO_ERROR', e.message);
    assert.ok(e.message.includes('s3://no-such-bucket/x'), e.message);
    assert.not.ok(e.message.includes('S3RVER'), 'no credentials in the message');
  } finally {
    await store.close();
  }
});

test.run();
