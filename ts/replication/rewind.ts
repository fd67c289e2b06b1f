/**
 * Directory operations a standby performs while its engine is closed: discarding the WAL
 * tail a new primary never had (rewind, like pg_rewind for a WAL-only store) and installing
 * a base backup. Both are crash-safe: an interrupted rewind leaves a WAL that is a prefix
 * of the old one (the next start plans again and finishes it); an interrupted install leaves
 * either the old directory or no `control`/WAL at all, and a directory without them is
 * planned as empty, so the next start fetches the base backup again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SEGMENT_RE, SNAPSHOT_RE, encodeControl, readRecord, snapshotName } from '../engine/format.js';
import { KvError } from '../errors.js';

export interface RewindResult {
  /** Records discarded (LSN >= keepBelow). */
  records: number;
  bytes: number;
  /** Segments removed whole. */
  segments: string[];
  /** The segment cut short, if any, and where. */
  truncated?: { segment: string; offset: number };
  /** Highest LSN discarded (0 when none). */
  lastDiscarded: bigint;
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function segments(walDir: string): string[] {
  try {
    return fs.readdirSync(walDir).filter((f) => SEGMENT_RE.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Removes every WAL record with LSN >= keepBelow. Segments named at or past keepBelow go
 * whole; the one holding keepBelow is cut at that record. REQUIRES: the engine is closed.
 */
export function rewindWal(dir: string, keepBelow: bigint): RewindResult {
  const walDir = path.join(dir, 'wal');
  const out: RewindResult = { records: 0, bytes: 0, segments: [], lastDiscarded: 0n };
  // Newest first, so a crash midway leaves a gap-free prefix.
  for (const seg of segments(walDir).reverse()) {
    const file = path.join(walDir, seg);
    const first = BigInt(`0x${seg.slice(0, 16)}`);
    const buf = fs.readFileSync(file);
    let at = 0;
    let cut = -1;
    let count = 0;
    while (at < buf.length) {
      const r = readRecord(buf, at);
      if (!r.ok) break;
      if (r.lsn >= keepBelow) {
        if (cut < 0) cut = at;
        count++;
        if (r.lsn > out.lastDiscarded) out.lastDiscarded = r.lsn;
      }
      at = r.next;
    }
    if (first >= keepBelow) {
      out.records += count;
      out.bytes += buf.length;
      out.segments.push(seg);
      fs.unlinkSync(file);
      continue;
    }
    if (cut >= 0 || at < buf.length) {
      const from = cut >= 0 ? cut : at;
      out.records += count;
      out.bytes += buf.length - from;
      out.truncated = { segment: seg, offset: from };
      fs.truncateSync(file, from);
      fsyncPath(file);
    }
    break;
  }
  fsyncPath(walDir);
  return out;
}

/**
 * Replaces the directory's state with a base backup: `snapshotFile` (already complete and
 * fsynced, inside dir) becomes base/snapshot-<redo>.snap and `control` names it; every WAL
 * segment and older snapshot goes. REQUIRES: the engine is closed.
 */
export function installBaseBackup(dir: string, snapshotFile: string, redoLsn: bigint, catalogVersion: number, checkpointTimeMs: number): void {
  const walDir = path.join(dir, 'wal');
  const baseDir = path.join(dir, 'base');
  try {
    // 1. control first: without it nothing below is trusted, and a directory with no control
    //    and no WAL plans as empty (the base backup is fetched again).
    fs.rmSync(path.join(dir, 'control'), { force: true });
    fsyncPath(dir);
    for (const seg of segments(walDir)) fs.unlinkSync(path.join(walDir, seg));
    fs.mkdirSync(walDir, { recursive: true });
    fsyncPath(walDir);
    fs.mkdirSync(baseDir, { recursive: true });
    for (const f of fs.readdirSync(baseDir)) if (SNAPSHOT_RE.test(f) || f.endsWith('.tmp')) fs.unlinkSync(path.join(baseDir, f));
    fs.renameSync(snapshotFile, path.join(baseDir, snapshotName(redoLsn)));
    fsyncPath(baseDir);
    // 2. control last, atomically.
    const tmp = path.join(dir, 'control.tmp');
    fs.writeFileSync(tmp, encodeControl({ catalogVersion, redoLsn, checkpointTimeMs }));
    fsyncPath(tmp);
    fs.renameSync(tmp, path.join(dir, 'control'));
    fsyncPath(dir);
  } catch (err) {
    throw new KvError('IO_ERROR', `installing the base backup in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
