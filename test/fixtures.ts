/**
 * Byte-level fixture helpers for corruption tests (leveldb's log_test style): set a byte,
 * shrink a file, fix a CRC, find records. They edit real files in a data directory that a
 * real store wrote; nothing here knows the engines' code, only docs/on-disk-format.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '../ts/engine/js/crc32c.js';

/** WAL record header: crc u32 · length u32 · lsn u64 · kind u8. */
export const HEADER = 4 + 4 + 8 + 1;

export interface RecordAt {
  offset: number;
  length: number;
  lsn: bigint;
  kind: number;
  /** Offset just past the record. */
  end: number;
}

/** The records of a well-formed segment, by walking their length fields. */
export function records(file: string): RecordAt[] {
  const buf = fs.readFileSync(file);
  const out: RecordAt[] = [];
  for (let at = 0; at + HEADER <= buf.length; ) {
    const length = buf.readUInt32LE(at + 4);
    const end = at + HEADER + length;
    if (end > buf.length) break;
    out.push({ offset: at, length, lsn: buf.readBigUInt64LE(at + 8), kind: buf[at + 16]!, end });
    at = end;
  }
  return out;
}

/** Segment files of dir, oldest first, as absolute paths. */
export function segments(dir: string): string[] {
  const wal = path.join(dir, 'wal');
  return fs.readdirSync(wal).filter((n) => /^[0-9a-f]{16}\.wal$/.test(n)).sort().map((n) => path.join(wal, n));
}

export function lastSegment(dir: string): string {
  const all = segments(dir);
  if (all.length === 0) throw new Error(`no WAL segment in ${dir}`);
  return all[all.length - 1]!;
}

/** The segment holding the record with this LSN, and the record. */
export function findRecord(dir: string, lsn: bigint): { file: string; record: RecordAt } {
  for (const file of segments(dir)) {
    const record = records(file).find((r) => r.lsn === lsn);
    if (record) return { file, record };
  }
  throw new Error(`no record with LSN ${lsn} in ${dir}`);
}

export function snapshotFile(dir: string): string {
  const base = path.join(dir, 'base');
  const snaps = fs.readdirSync(base).filter((n) => /^snapshot-[0-9a-f]{16}\.snap$/.test(n));
  if (snaps.length !== 1) throw new Error(`expected one snapshot in ${base}, found ${snaps.join(', ') || 'none'}`);
  return path.join(base, snaps[0]!);
}

/** Sets the byte at offset to fn(old byte). */
export function setByte(file: string, offset: number, fn: (old: number) => number): void {
  const buf = fs.readFileSync(file);
  if (offset < 0 || offset >= buf.length) throw new Error(`offset ${offset} outside ${file} (${buf.length} bytes)`);
  buf[offset] = fn(buf[offset]!) & 0xff;
  fs.writeFileSync(file, buf);
}

export const flip = (b: number): number => b ^ 0xff;

export function writeU32(file: string, offset: number, value: number): void {
  const buf = fs.readFileSync(file);
  buf.writeUInt32LE(value >>> 0, offset);
  fs.writeFileSync(file, buf);
}

export function writeU64(file: string, offset: number, value: bigint): void {
  const buf = fs.readFileSync(file);
  buf.writeBigUInt64LE(value, offset);
  fs.writeFileSync(file, buf);
}

export function shrinkFile(file: string, size: number): void {
  fs.truncateSync(file, size);
}

export function appendZeroes(file: string, count: number): void {
  fs.appendFileSync(file, Buffer.alloc(count));
}

/** Recomputes the CRC of the WAL record at offset (so a deliberate edit passes the CRC check). */
export function fixRecordCrc(file: string, offset: number): void {
  const buf = fs.readFileSync(file);
  const end = offset + HEADER + buf.readUInt32LE(offset + 4);
  buf.writeUInt32LE(crc32c(buf, 0, offset + 4, end), offset);
  fs.writeFileSync(file, buf);
}

/** Recomputes the control file's CRC over bytes [0, 32). */
export function fixControlCrc(dir: string): void {
  const file = path.join(dir, 'control');
  const buf = fs.readFileSync(file);
  buf.writeUInt32LE(crc32c(buf, 0, 0, 32), 32);
  fs.writeFileSync(file, buf);
}

/** Recomputes a snapshot's trailer CRC over header + entries. */
export function fixSnapshotCrc(file: string): void {
  const buf = fs.readFileSync(file);
  const end = buf.length - 8;
  buf.writeUInt32LE(crc32c(buf, 0, 0, end), end);
  fs.writeFileSync(file, buf);
}

/** A copy of a fixture data directory (LOCK included: its pid is dead or empty). */
export function copyDir(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/**
 * The records the writer child (test/children/writer.ts) puts: key-000, key-001, …
 * Values of the first `big` records are ~1 KiB so a fixture spans several 64 KiB segments.
 */
export function fixtureKey(i: number): string {
  return `key-${String(i).padStart(3, '0')}`;
}
export function fixtureValue(i: number, big: boolean): string {
  return big ? `value-${i}-`.padEnd(1000, String.fromCharCode(97 + (i % 26))) : `value-${i}`;
}
