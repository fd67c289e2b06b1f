/**
 * Recovery at open for the pure-TS engine (docs/on-disk-format.md, "Recovery"): the
 * control file names the newest checkpoint, its snapshot is loaded, and every WAL record
 * from its redo LSN on is replayed through Table.applyRecord, the same function a standby
 * applies received records with. Torn tails are truncated; corruption refuses to open
 * unless truncateCorruptTail asks to cut the log there. Synchronous: it runs inside open.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig, LogCallback } from '../types.js';
import {
  FORMAT_VERSION,
  FormatError,
  SEGMENT_RE,
  SNAP_END_MAGIC,
  SNAP_ENTRY_FIXED,
  SNAP_HEADER,
  SNAP_MAGIC,
  SNAP_TRAILER,
  decodeControl,
  readRecord,
  segmentName,
  snapshotName,
  validRecordAfter,
} from '../format.js';
import { crc32c } from './crc32c.js';
import { coded, fsyncDirSync, truncateFileSync } from './io.js';
import type { Table } from './table.js';

export interface Recovered {
  /** The LSN the next record gets. */
  nextLsn: bigint;
  /** The redo LSN of the checkpoint loaded (0n: none). */
  lastCheckpointLsn: bigint;
  /** Its control file's checkpoint time, ms since the epoch (0: none). */
  lastCheckpointTimeMs: number;
  /** First LSNs of the segments on disk, ascending. */
  segments: bigint[];
  walBytes: number;
}

/** Loads control, snapshot and WAL of cfg.dir into `table`. Throws CORRUPT (see above). */
export function recover(cfg: EngineConfig, table: Table, onLog: LogCallback): Recovered {
  const walDir = path.join(cfg.dir, 'wal');
  const baseDir = path.join(cfg.dir, 'base');
  let redo = 1n;
  let lastCheckpointLsn = 0n;
  let lastCheckpointTimeMs = 0;
  const controlPath = path.join(cfg.dir, 'control');
  if (fs.existsSync(controlPath)) {
    let control;
    try {
      control = decodeControl(fs.readFileSync(controlPath));
    } catch (err) {
      throw coded('CORRUPT', `control ${controlPath} at offset ${(err as { offset?: number }).offset ?? 0}: ${(err as Error).message}`);
    }
    redo = control.redoLsn;
    lastCheckpointLsn = redo;
    lastCheckpointTimeMs = control.checkpointTimeMs;
    loadSnapshot(path.join(baseDir, snapshotName(redo)), redo, table);
  }
  let stopReplay = false;
  /** Corruption: refuse to open, or (truncateCorruptTail) cut the WAL here, loudly. */
  const corruptAt = (file: string, offset: number, why: string, later: string[]): void => {
    if (!cfg.truncateCorruptTail) {
      throw coded('CORRUPT', `WAL corrupt in ${file} at offset ${offset}: ${why}`);
    }
    onLog('error', `WAL corrupt in ${file} at offset ${offset}: ${why}; truncating there and discarding ${later.length} later segment(s) as truncateCorruptTail asked`);
    truncateFileSync(file, offset);
    for (const n of later) fs.unlinkSync(path.join(walDir, n));
    fsyncDirSync(walDir);
    stopReplay = true;
  };
  const names = fs.readdirSync(walDir).filter((n) => SEGMENT_RE.test(n)).sort();
  const firsts = names.map((n) => BigInt('0x' + n.slice(0, 16)));
  let expected: bigint | null = null;
  for (let i = 0; i < names.length && !stopReplay; i++) {
    const next = firsts[i + 1];
    if (next !== undefined && next <= redo) continue; // wholly before the redo point
    const file = path.join(walDir, names[i]!);
    const buf = fs.readFileSync(file);
    const isLast = i === names.length - 1;
    let at = 0;
    for (;;) {
      const r = readRecord(buf, at);
      const want: bigint = expected ?? firsts[i]!;
      if (!r.ok) {
        if (r.reason === 'end') break;
        if (isLast && !validRecordAfter(buf, at + 1, want + 1n)) {
          onLog('warn', `torn WAL tail in ${file} at offset ${at} (${r.reason}): truncated`);
          truncateFileSync(file, at);
          break;
        }
        corruptAt(file, at, `bad record (${r.reason})`, names.slice(i + 1));
        break;
      }
      if (at === 0 && r.lsn !== firsts[i]) {
        // A segment is named after its first record; one that is not cannot be placed in LSN order.
        corruptAt(file, at, `segment ${names[i]} begins with LSN ${r.lsn}`, names.slice(i + 1));
        break;
      }
      if (expected === null && r.lsn > redo) {
        corruptAt(file, at, `WAL starts at LSN ${r.lsn} but replay must start at ${redo}: segments are missing`, names.slice(i + 1));
        break;
      }
      if (r.lsn !== want) {
        corruptAt(file, at, `LSN ${r.lsn} where ${want} was expected`, names.slice(i + 1));
        break;
      }
      if (r.lsn >= redo) {
        try {
          table.applyRecord(r.lsn, r.kind, r.body);
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
          corruptAt(file, at, err.message, names.slice(i + 1));
          break;
        }
      }
      expected = r.lsn + 1n;
      at = r.next;
    }
  }
  const segments = fs
    .readdirSync(walDir)
    .filter((n) => SEGMENT_RE.test(n))
    .sort()
    .map((n) => BigInt('0x' + n.slice(0, 16)));
  let walBytes = 0;
  let lastWritten: string | null = null;
  for (const s of segments) {
    const file = path.join(walDir, segmentName(s));
    const size = fs.statSync(file).size;
    walBytes += size;
    if (size > 0) lastWritten = file;
  }
  // The last process may have died with records written but not synced (interval/none, or
  // a kill between write and fdatasync). They were replayed, so they count as flushed from
  // here on (readWal may stream them): sync them first. Older segments were synced when
  // the writer moved past them.
  if (lastWritten !== null) {
    const fd = fs.openSync(lastWritten, 'r');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { nextLsn: expected !== null && expected > redo ? expected : redo, lastCheckpointLsn, lastCheckpointTimeMs, segments, walBytes };
}

function loadSnapshot(file: string, redo: bigint, table: Table): void {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw coded('CORRUPT', `${file}: snapshot named by control is missing (${(err as Error).message})`);
  }
  // Every refusal names the file and the byte offset where the bad field is.
  const bad = (why: string, offset: number): Error => coded('CORRUPT', `snapshot ${file} at offset ${offset}: ${why}`);
  if (buf.length < SNAP_HEADER + SNAP_TRAILER || !buf.subarray(0, 8).equals(SNAP_MAGIC)) throw bad('bad header', 0);
  const end = buf.length - SNAP_TRAILER;
  if (buf.readUInt32LE(end + 4) !== SNAP_END_MAGIC) throw bad('bad trailer (incomplete file?)', end + 4);
  if (crc32c(buf, 0, 0, end) !== buf.readUInt32LE(end)) throw bad('CRC mismatch', end);
  if (buf.readUInt32LE(8) !== FORMAT_VERSION) throw bad('unsupported format version', 8);
  if (buf.readBigUInt64LE(16) !== redo) throw bad('redo LSN does not match control', 16);
  const count = buf.readBigUInt64LE(24);
  let at = SNAP_HEADER;
  for (let n = 0n; n < count; n++) {
    if (at + SNAP_ENTRY_FIXED > end) throw bad(`entry ${n} truncated`, at);
    const klen = buf.readUInt32LE(at);
    const vlen = buf.readUInt32LE(at + 4);
    const version = buf.readBigUInt64LE(at + 8);
    const expiresAt = Number(buf.readBigUInt64LE(at + 16));
    const k = at + SNAP_ENTRY_FIXED;
    if (klen === 0 || k + klen + vlen > end || version >= redo) throw bad(`entry ${n} out of range`, at);
    table.load(buf.toString('latin1', k, k + klen), { value: Buffer.from(buf.subarray(k + klen, k + klen + vlen)), version, expiresAt });
    at = k + klen + vlen;
  }
  if (at !== end) throw bad('trailing bytes after the last entry', at);
}
