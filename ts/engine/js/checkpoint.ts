/**
 * Fuzzy checkpoints for the pure-TS engine (docs/on-disk-format.md, "Checkpoint"): the
 * table is copied into base/snapshot-<redo>.snap in slices between turns of the event
 * loop while writers go on, then `control` is replaced to name it and older snapshots
 * are removed. Entry versions plus replay from `redo` make the fuzzy copy exact. The
 * caller (JsEngine) picks redo, starts a new segment and drops the obsolete segments.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  FORMAT_VERSION,
  SNAPSHOT_RE,
  SNAP_END_MAGIC,
  SNAP_ENTRY_FIXED,
  SNAP_HEADER,
  SNAP_MAGIC,
  SNAP_TRAILER,
  encodeControl,
  snapshotName,
} from '../format.js';
import { crc32c } from './crc32c.js';
import { fsyncDir } from './io.js';
import type { Table } from './table.js';

/**
 * Writes the snapshot for `redo` (entries expired at `now` left out) and the control file
 * naming it. `beforeControl` runs between the two: the engine syncs the WAL through every
 * record the copy could have seen (see js-engine.ts runCheckpoint).
 */
export async function writeCheckpoint(dir: string, table: Table, redo: bigint, now: number, beforeControl: () => Promise<void>): Promise<number> {
  const baseDir = path.join(dir, 'base');
  const final = path.join(baseDir, snapshotName(redo));
  const tmp = final + '.tmp';
  const fh = await fs.promises.open(tmp, 'w+', 0o600);
  try {
    const header = Buffer.alloc(SNAP_HEADER);
    SNAP_MAGIC.copy(header, 0);
    header.writeUInt32LE(FORMAT_VERSION, 8);
    header.writeBigUInt64LE(redo, 16);
    await fh.write(header, 0, SNAP_HEADER, 0);
    let count = 0n;
    let pos = SNAP_HEADER;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      const b = Buffer.concat(chunk, chunkBytes);
      chunk = [];
      chunkBytes = 0;
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
    };
    // Fuzzy copy: entries are copied in slices between turns of the event loop, so
    // writers keep going; versions plus replay from `redo` make the result exact.
    for (const [k, e] of table.entries) {
      if (e.expiresAt !== 0 && e.expiresAt <= now) continue;
      if (e.version >= redo) continue; // replay from redo restores it
      const rec = Buffer.allocUnsafe(SNAP_ENTRY_FIXED + k.length + e.value.length);
      rec.writeUInt32LE(k.length, 0);
      rec.writeUInt32LE(e.value.length, 4);
      rec.writeBigUInt64LE(e.version, 8);
      rec.writeBigUInt64LE(BigInt(e.expiresAt), 16);
      rec.write(k, SNAP_ENTRY_FIXED, 'latin1');
      e.value.copy(rec, SNAP_ENTRY_FIXED + k.length);
      chunk.push(rec);
      chunkBytes += rec.length;
      count++;
      if (chunk.length >= 1024) await flush(); // a slice is ~1k entries: a short pause for writers
    }
    await flush();
    header.writeBigUInt64LE(count, 24);
    await fh.write(header, 0, SNAP_HEADER, 0);
    // The CRC covers the header, whose count is known only now: read the file back
    // (it is in the page cache) rather than hold a copy of the table in memory.
    const trailer = Buffer.alloc(SNAP_TRAILER);
    trailer.writeUInt32LE(await crcOfFile(fh, pos), 0);
    trailer.writeUInt32LE(SNAP_END_MAGIC, 4);
    await fh.write(trailer, 0, SNAP_TRAILER, pos);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, final);
  await fsyncDir(baseDir);
  await beforeControl();
  const checkpointTimeMs = Date.now();
  const control = encodeControl({ catalogVersion: 0, redoLsn: redo, checkpointTimeMs });
  const ctmp = path.join(dir, 'control.tmp');
  await fs.promises.writeFile(ctmp, control, { mode: 0o600 });
  const cfh = await fs.promises.open(ctmp, 'r+');
  await cfh.sync();
  await cfh.close();
  await fs.promises.rename(ctmp, path.join(dir, 'control'));
  await fsyncDir(dir);
  for (const n of await fs.promises.readdir(baseDir)) {
    if ((SNAPSHOT_RE.test(n) && n !== snapshotName(redo)) || n.endsWith('.snap.tmp')) {
      await fs.promises.unlink(path.join(baseDir, n));
    }
  }
  return checkpointTimeMs;
}

async function crcOfFile(fh: fs.promises.FileHandle, length: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(length, 1 << 20));
  let crc = 0;
  for (let off = 0; off < length; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - off), off);
    crc = crc32c(buf, crc, 0, bytesRead);
    off += bytesRead;
  }
  return crc;
}
