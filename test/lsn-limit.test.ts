/**
 * LSN (= version) exhaustion: a data directory crafted to start just below MAX_LSN (2^63−1,
 * the last LSN a record may get; versions must fit a signed 64-bit integer) takes the writes
 * up to it, then refuses with LSN_EXHAUSTED — before the counter could wrap to 0 and reuse
 * versions — with the data unchanged and still readable, also after reopening. Both engines.
 * A standby refuses a replicated record past the limit as WAL_BAD_RECORD.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { MAX_LSN, SNAP_END_MAGIC, SNAP_HEADER, SNAP_MAGIC, FORMAT_VERSION, encodeControl, snapshotName, encodePutBody, writeRecord, RECORD_HEADER, KIND_PUT } from '../ts/engine/format.js';
import { crc32c } from '../ts/engine/js/crc32c.js';
import { checkReplicated } from '../ts/engine/js/replicated.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

/** A directory whose last checkpoint is at redo LSN `redo`, with an empty snapshot and no WAL: the next record gets `redo`. */
export function craftDirAt(redo: bigint): string {
  const dir = tempDir('lsn');
  fs.mkdirSync(path.join(dir, 'wal'));
  fs.mkdirSync(path.join(dir, 'base'));
  const snap = Buffer.alloc(SNAP_HEADER + 8);
  SNAP_MAGIC.copy(snap, 0);
  snap.writeUInt32LE(FORMAT_VERSION, 8);
  snap.writeBigUInt64LE(redo, 16);
  snap.writeBigUInt64LE(0n, 24);
  snap.writeUInt32LE(crc32c(snap, 0, 0, SNAP_HEADER), SNAP_HEADER);
  snap.writeUInt32LE(SNAP_END_MAGIC, SNAP_HEADER + 4);
  fs.writeFileSync(path.join(dir, 'base', snapshotName(redo)), snap);
  fs.writeFileSync(path.join(dir, 'control'), encodeControl({ catalogVersion: 0, redoLsn: redo, checkpointTimeMs: Date.now() }));
  return dir;
}

for (const engine of ENGINES) {
  const test = suite(`LSN limit [${engine}]`);

  test('writes up to MAX_LSN succeed; the next one is LSN_EXHAUSTED, data unchanged, reads go on', async () => {
    const dir = craftDirAt(MAX_LSN - 2n);
    let db = await open({ dir, engine });
    try {
      assert.is((await db.put('a', '1')).version, MAX_LSN - 2n);
      assert.is((await db.put('b', '2')).version, MAX_LSN - 1n);
      assert.is((await db.put('a', '3')).version, MAX_LSN, 'the last LSN is usable');
      await rejectsWith('LSN_EXHAUSTED', () => db.put('c', '4'));
      await rejectsWith('LSN_EXHAUSTED', () => db.delete('a'));
      await rejectsWith('LSN_EXHAUSTED', () => db.batch([{ type: 'put', key: 'd', value: '5' }]));
      await rejectsWith('LSN_EXHAUSTED', () => db.put('a', 'x', { ifVersion: MAX_LSN }));
      assert.is(db.get('a')?.toString(), '3');
      assert.is(db.get('b')?.toString(), '2');
      assert.is(db.get('c'), undefined);
      await db.close();
      db = await open({ dir, engine });
      assert.is(db.get('a')?.toString(), '3', 'the writes before the limit survive a reopen');
      assert.is(db.get('c'), undefined);
      await rejectsWith('LSN_EXHAUSTED', () => db.put('c', '4'));
    } finally {
      await db.close();
    }
  });

  test('a directory whose redo LSN is already past the limit opens, reads, and refuses writes', async () => {
    const dir = craftDirAt(0xffff_ffff_ffff_fff0n);
    const db = await open({ dir, engine });
    try {
      assert.is(db.get('a'), undefined);
      await rejectsWith('LSN_EXHAUSTED', () => db.put('a', '1'));
    } finally {
      await db.close();
    }
  });

  test.run();
}

const t = suite('LSN limit: replication');
t('a replicated record past MAX_LSN is refused as WAL_BAD_RECORD (TS check; the native twin is Engine::AppendReplicated)', () => {
  const body = encodePutBody(Buffer.from('k'), Buffer.from('v'), 0);
  const rec = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(rec, 0, MAX_LSN + 1n, KIND_PUT, body);
  assert.throws(() => checkReplicated(rec, MAX_LSN + 1n), (e: { code?: string }) => e.code === 'WAL_BAD_RECORD');
  writeRecord(rec, 0, MAX_LSN, KIND_PUT, body);
  assert.is(checkReplicated(rec, MAX_LSN).lastLsn, MAX_LSN);
});
t.run();
