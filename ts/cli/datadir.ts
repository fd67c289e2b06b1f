/**
 * Read-only looks at a data directory (docs/on-disk-format.md) for the offline commands:
 * who holds LOCK, what control says, the WAL segments and the snapshots. Nothing here
 * takes the lock or writes a byte, so it is safe while a server runs on the directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type ControlData, FormatError, SEGMENT_RE, SNAPSHOT_RE, SNAP_END_MAGIC, SNAP_HEADER, SNAP_MAGIC, SNAP_TRAILER, decodeControl } from '../engine/format.js';
import { crc32c } from '../engine/js/crc32c.js';
import { alive } from '../engine/js/lock.js';
import { CliError } from './common.js';

export function requireDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new CliError('NOT_FOUND', `no data directory at ${dir}`);
  }
  if (!st.isDirectory()) throw new CliError('NOT_FOUND', `${dir} is not a directory`);
}

/**
 * The live process holding dir (the pid in LOCK, if that process exists), else null. The same
 * test the engines make (ts/engine/js/lock.ts), without touching the file.
 */
export function lockHolder(dir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'LOCK'), 'latin1');
  } catch {
    return null;
  }
  if (!/^\d+\n?$/.test(text)) return null;
  const pid = Number(text.trim());
  return pid > 0 && alive(pid) ? pid : null;
}

/** control, or null when there has been no checkpoint; CORRUPT when it does not decode. */
export function readControl(dir: string): ControlData | null {
  const file = path.join(dir, 'control');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return decodeControl(buf);
  } catch (err) {
    if (err instanceof FormatError) throw new CliError('CORRUPT', `${file}: ${err.message}`);
    throw err;
  }
}

export interface SegmentInfo {
  name: string;
  file: string;
  firstLsn: bigint;
  bytes: number;
}

export function listSegments(dir: string): SegmentInfo[] {
  const walDir = path.join(dir, 'wal');
  let names: string[];
  try {
    names = fs.readdirSync(walDir).filter((n) => SEGMENT_RE.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SegmentInfo[] = [];
  for (const name of names) {
    const file = path.join(walDir, name);
    try {
      out.push({ name, file, firstLsn: BigInt('0x' + name.slice(0, 16)), bytes: fs.statSync(file).size });
    } catch {
      // removed by a checkpoint meanwhile
    }
  }
  return out;
}

export interface SnapshotInfo {
  name: string;
  file: string;
  bytes: number;
  modifiedMs: number;
  /** null when the header does not decode (the reason is in `problem`) */
  redoLsn: bigint | null;
  entries: bigint | null;
  /** The snapshot control names (the one recovery would load). */
  current: boolean;
  /** A checkpoint still writing it (or one that died doing so). */
  inProgress: boolean;
  /** Set by verify: 'ok' or what is wrong. */
  check?: string;
  problem?: string;
}

export function listSnapshots(dir: string, verify: boolean): SnapshotInfo[] {
  const baseDir = path.join(dir, 'base');
  let names: string[];
  try {
    names = fs.readdirSync(baseDir).filter((n) => SNAPSHOT_RE.test(n) || (n.endsWith('.snap.tmp') && SNAPSHOT_RE.test(n.slice(0, -4)))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let control: ControlData | null = null;
  try {
    control = readControl(dir);
  } catch {
    // listed anyway; `status` reports the bad control file
  }
  const out: SnapshotInfo[] = [];
  for (const name of names) {
    const file = path.join(baseDir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue;
    }
    const info: SnapshotInfo = { name, file, bytes: st.size, modifiedMs: st.mtimeMs, redoLsn: null, entries: null, current: false, inProgress: name.endsWith('.tmp') };
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const head = Buffer.alloc(SNAP_HEADER);
        if (fs.readSync(fd, head, 0, SNAP_HEADER, 0) < SNAP_HEADER) info.problem = 'shorter than its header';
        else if (!head.subarray(0, 8).equals(SNAP_MAGIC)) info.problem = 'bad magic';
        else {
          info.redoLsn = head.readBigUInt64LE(16);
          info.entries = head.readBigUInt64LE(24);
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      info.problem = (err as Error).message;
    }
    info.current = !info.inProgress && control !== null && info.redoLsn === control.redoLsn;
    if (verify && !info.inProgress) info.check = info.problem ?? verifySnapshot(file);
    out.push(info);
  }
  return out;
}

/** Checks a snapshot's trailer and CRC (reading it in 1 MiB slices): 'ok' or the problem. */
export function verifySnapshot(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < SNAP_HEADER + SNAP_TRAILER) return 'too short';
    const trailer = Buffer.alloc(SNAP_TRAILER);
    fs.readSync(fd, trailer, 0, SNAP_TRAILER, size - SNAP_TRAILER);
    if (trailer.readUInt32LE(4) !== SNAP_END_MAGIC) return 'no end marker (cut short?)';
    const buf = Buffer.alloc(1 << 20);
    let crc = 0;
    for (let at = 0; at < size - SNAP_TRAILER;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - SNAP_TRAILER - at), at);
      if (n <= 0) return 'read failed';
      crc = crc32c(buf, crc, 0, n);
      at += n;
    }
    return crc === trailer.readUInt32LE(0) ? 'ok' : 'CRC mismatch';
  } finally {
    fs.closeSync(fd);
  }
}
