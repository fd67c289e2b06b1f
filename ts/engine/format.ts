/**
 * Byte layout of WAL records, snapshots and the control file, as specified in
 * docs/on-disk-format.md and mirrored by native/core/wal_format.h. The store uses the
 * batch encoder; the pure-TS engine uses all of it.
 */
import { crc32c } from './js/crc32c.js';

// WAL record header: crc u32 · length u32 · lsn u64 · kind u8.
export const RECORD_HEADER = 4 + 4 + 8 + 1;
export const MAX_RECORD_BODY = 256 * 1024 * 1024;
/**
 * The last LSN a record may get (native/core/wal_format.h kMaxLsn). LSNs are versions, and a
 * version must fit a signed 64-bit integer (ifVersion's -1n means "unconditional"), so writes
 * stop with LSN_EXHAUSTED here, long before the u64 counter could wrap.
 */
export const MAX_LSN = 0x7fff_ffff_ffff_ffffn;
export const MAX_KEY_BYTES = 4096;
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;

export const KIND_RESERVED = 0;
export const KIND_PUT = 1;
export const KIND_DELETE = 2;
export const KIND_INCR = 3;
export const KIND_BATCH = 4;
/** Kinds >= this are optional: an older reader skips them. */
export const KIND_FIRST_SKIPPABLE = 128;
/**
 * An optional kind: the first record of a new replication timeline (docs/replication.md).
 * Body: u64 timeline id · u64 parent timeline id · u64 time (ms). Changes no entry.
 */
export const KIND_TIMELINE = 128;
/** Optional kind 129: a wall-clock time marker (u64 ms since the epoch) for point-in-time restore (docs/backup.md). */
export const KIND_TIME = 129;
export const TIME_BODY = 8;
export const TIMELINE_BODY = 8 + 8 + 8;

/** Timeline ids are 16 hex digits (ts/replication/timeline.ts); '' for no parent. */
export function encodeTimelineBody(timeline: string, parent: string, timeMs: number): Buffer {
  const b = Buffer.alloc(TIMELINE_BODY);
  b.writeBigUInt64LE(BigInt(`0x${timeline}`), 0);
  b.writeBigUInt64LE(parent === '' ? 0n : BigInt(`0x${parent}`), 8);
  b.writeBigUInt64LE(BigInt(timeMs), 16);
  return b;
}

// PUT body: klen u32 · vlen u32 · expiresAt u64 · key · value.
export const PUT_FIXED = 4 + 4 + 8;
// DELETE body: klen u32 · key.
export const DELETE_FIXED = 4;

// Snapshot: header (magic 8 · formatVersion u32 · reserved u32 · redoLsn u64 · count u64),
// entries (klen u32 · vlen u32 · version u64 · expiresAt u64 · key · value),
// trailer (crc u32 · magic u32).
export const SNAP_MAGIC = Buffer.from('KVSNAP\0\x01', 'latin1');
export const SNAP_HEADER = 8 + 4 + 4 + 8 + 8;
export const SNAP_ENTRY_FIXED = 4 + 4 + 8 + 8;
export const SNAP_TRAILER = 4 + 4;
export const SNAP_END_MAGIC = 0x444e454b;

// Control: magic 8 · formatVersion u32 · catalogVersion u32 · redoLsn u64 · checkpointTimeMs u64 · crc u32.
export const CONTROL_MAGIC = Buffer.from('KVCTRL\0\x01', 'latin1');
export const CONTROL_SIZE = 8 + 4 + 4 + 8 + 8 + 4;
export const FORMAT_VERSION = 1;

export function segmentName(firstLsn: bigint): string {
  return firstLsn.toString(16).padStart(16, '0') + '.wal';
}
export function snapshotName(redoLsn: bigint): string {
  return 'snapshot-' + redoLsn.toString(16).padStart(16, '0') + '.snap';
}
export const SEGMENT_RE = /^[0-9a-f]{16}\.wal$/;
export const SNAPSHOT_RE = /^snapshot-[0-9a-f]{16}\.snap$/;

export type BatchOp =
  | { type: 'put'; key: Buffer; value: Buffer; expiresAt: number }
  | { type: 'del'; key: Buffer };

export function putBodySize(key: Buffer, value: Buffer): number {
  return PUT_FIXED + key.length + value.length;
}

function writePutBody(out: Buffer, at: number, key: Buffer, value: Buffer, expiresAt: number): number {
  out.writeUInt32LE(key.length, at);
  out.writeUInt32LE(value.length, at + 4);
  out.writeBigUInt64LE(BigInt(expiresAt), at + 8);
  key.copy(out, at + PUT_FIXED);
  value.copy(out, at + PUT_FIXED + key.length);
  return at + PUT_FIXED + key.length + value.length;
}

export function encodePutBody(key: Buffer, value: Buffer, expiresAt: number): Buffer {
  const out = Buffer.allocUnsafe(putBodySize(key, value));
  writePutBody(out, 0, key, value, expiresAt);
  return out;
}

export function encodeDeleteBody(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(DELETE_FIXED + key.length);
  out.writeUInt32LE(key.length, 0);
  key.copy(out, DELETE_FIXED);
  return out;
}

/** BATCH body: count u32 · count × (op kind u8 · PUT or DELETE body). */
export function encodeBatchBody(ops: readonly BatchOp[]): Buffer {
  let size = 4;
  for (const op of ops) size += 1 + (op.type === 'put' ? putBodySize(op.key, op.value) : DELETE_FIXED + op.key.length);
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(ops.length, 0);
  let at = 4;
  for (const op of ops) {
    if (op.type === 'put') {
      out[at++] = KIND_PUT;
      at = writePutBody(out, at, op.key, op.value, op.expiresAt);
    } else {
      out[at++] = KIND_DELETE;
      out.writeUInt32LE(op.key.length, at);
      op.key.copy(out, at + 4);
      at += 4 + op.key.length;
    }
  }
  return out;
}

/** A transaction's read set (Engine.batchIf): count u32 · count × (klen u32 · key · version u64). */
export function encodeChecks(checks: ReadonlyArray<{ key: Buffer; version: bigint }>): Buffer {
  let size = 4;
  for (const c of checks) size += 4 + c.key.length + 8;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(checks.length, 0);
  let at = 4;
  for (const c of checks) {
    out.writeUInt32LE(c.key.length, at);
    c.key.copy(out, at + 4);
    out.writeBigUInt64LE(c.version, at + 4 + c.key.length);
    at += 4 + c.key.length + 8;
  }
  return out;
}

/** Decodes encodeChecks()'s bytes; throws FormatError on any malformed byte. */
export function decodeChecks(buf: Buffer): Array<{ key: Buffer; version: bigint }> {
  if (buf.length < 4) throw new FormatError('too short');
  const count = buf.readUInt32LE(0);
  if (count > buf.length) throw new FormatError('count out of range');
  const out: Array<{ key: Buffer; version: bigint }> = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (buf.length - at < 4) throw new FormatError('truncated');
    const klen = buf.readUInt32LE(at);
    at += 4;
    if (klen < 1 || klen > MAX_KEY_BYTES || buf.length - at < klen + 8) throw new FormatError('key length out of range');
    out.push({ key: buf.subarray(at, at + klen), version: buf.readBigUInt64LE(at + klen) });
    at += klen + 8;
  }
  if (at !== buf.length) throw new FormatError('trailing bytes');
  return out;
}

/** A decoded change: what replay and apply need. */
export type Change =
  | { type: 'put'; key: Buffer; value: Buffer; expiresAt: number }
  | { type: 'del'; key: Buffer };

export class FormatError extends Error {
  /** Where in the file or body the bad field is, when the reader knows. */
  constructor(message: string, readonly offset?: number) {
    super(message);
  }
}

function readPut(body: Buffer, at: number): [Change, number] {
  if (at + PUT_FIXED > body.length) throw new FormatError('PUT body too short');
  const klen = body.readUInt32LE(at);
  const vlen = body.readUInt32LE(at + 4);
  const exp = body.readBigUInt64LE(at + 8);
  const start = at + PUT_FIXED;
  if (klen < 1 || klen > MAX_KEY_BYTES || vlen > MAX_VALUE_BYTES || start + klen + vlen > body.length) {
    throw new FormatError('PUT lengths out of range');
  }
  if (exp > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError('expiresAt out of range');
  return [
    {
      type: 'put',
      key: body.subarray(start, start + klen),
      value: body.subarray(start + klen, start + klen + vlen),
      expiresAt: Number(exp),
    },
    start + klen + vlen,
  ];
}

function readDelete(body: Buffer, at: number): [Change, number] {
  if (at + DELETE_FIXED > body.length) throw new FormatError('DELETE body too short');
  const klen = body.readUInt32LE(at);
  const start = at + DELETE_FIXED;
  if (klen < 1 || klen > MAX_KEY_BYTES || start + klen > body.length) throw new FormatError('DELETE key length out of range');
  return [{ type: 'del', key: body.subarray(start, start + klen) }, start + klen];
}

/** Decodes a record body into its changes. Throws FormatError on any malformed byte. */
export function decodeBody(kind: number, body: Buffer): Change[] {
  let changes: Change[];
  let end: number;
  switch (kind) {
    case KIND_PUT:
    case KIND_INCR:
    case KIND_DELETE: {
      const [c, at] = kind === KIND_DELETE ? readDelete(body, 0) : readPut(body, 0);
      changes = [c];
      end = at;
      break;
    }
    case KIND_BATCH: {
      if (body.length < 4) throw new FormatError('BATCH body too short');
      const count = body.readUInt32LE(0);
      if (count > body.length) throw new FormatError('BATCH count out of range');
      changes = [];
      let at = 4;
      for (let i = 0; i < count; i++) {
        if (at >= body.length) throw new FormatError('BATCH truncated');
        const op = body[at++]!;
        let c: Change;
        if (op === KIND_PUT) [c, at] = readPut(body, at);
        else if (op === KIND_DELETE) [c, at] = readDelete(body, at);
        else throw new FormatError(`BATCH op kind ${op} unknown`);
        changes.push(c);
      }
      end = at;
      break;
    }
    default:
      throw new FormatError(`unsupported record kind ${kind}`);
  }
  if (end !== body.length) throw new FormatError('trailing bytes after record body');
  return changes;
}

/** Frames a body as a WAL record into `out` at `at`; returns the offset after it. */
export function writeRecord(out: Buffer, at: number, lsn: bigint, kind: number, body: Buffer): number {
  out.writeUInt32LE(body.length, at + 4);
  out.writeBigUInt64LE(lsn, at + 8);
  out[at + 16] = kind;
  body.copy(out, at + RECORD_HEADER);
  const end = at + RECORD_HEADER + body.length;
  out.writeUInt32LE(crc32c(out, 0, at + 4, end), at);
  return end;
}

export type RecordRead =
  | { ok: true; lsn: bigint; kind: number; body: Buffer; next: number }
  | { ok: false; reason: 'end' | 'short' | 'zero' | 'crc' | 'length' };

/** Reads the record at `at`, checking length and CRC; does not interpret the body. */
export function readRecord(buf: Buffer, at: number): RecordRead {
  if (at === buf.length) return { ok: false, reason: 'end' };
  if (at + RECORD_HEADER > buf.length) return { ok: false, reason: 'short' };
  const len = buf.readUInt32LE(at + 4);
  const kind = buf[at + 16]!;
  if (kind === KIND_RESERVED && buf.readUInt32LE(at) === 0 && len === 0) return { ok: false, reason: 'zero' };
  if (len > MAX_RECORD_BODY) return { ok: false, reason: 'length' };
  const end = at + RECORD_HEADER + len;
  if (end > buf.length) return { ok: false, reason: 'short' };
  if (crc32c(buf, 0, at + 4, end) !== buf.readUInt32LE(at)) return { ok: false, reason: 'crc' };
  if (kind === KIND_RESERVED) return { ok: false, reason: 'zero' };
  return { ok: true, lsn: buf.readBigUInt64LE(at + 8), kind, body: buf.subarray(at + RECORD_HEADER, end), next: end };
}

/** True if a valid record carrying exactly `lsn` starts anywhere in buf after `from`. */
export function validRecordAfter(buf: Buffer, from: number, lsn: bigint): boolean {
  for (let at = from; at + RECORD_HEADER <= buf.length; at++) {
    if (buf.readBigUInt64LE(at + 8) !== lsn) continue;
    const r = readRecord(buf, at);
    if (r.ok) return true;
  }
  return false;
}

export interface ControlData {
  catalogVersion: number;
  redoLsn: bigint;
  checkpointTimeMs: number;
}

export function encodeControl(c: ControlData): Buffer {
  const out = Buffer.alloc(CONTROL_SIZE);
  CONTROL_MAGIC.copy(out, 0);
  out.writeUInt32LE(FORMAT_VERSION, 8);
  out.writeUInt32LE(c.catalogVersion, 12);
  out.writeBigUInt64LE(c.redoLsn, 16);
  out.writeBigUInt64LE(BigInt(c.checkpointTimeMs), 24);
  out.writeUInt32LE(crc32c(out, 0, 0, 32), 32);
  return out;
}

export function decodeControl(buf: Buffer): ControlData {
  if (buf.length !== CONTROL_SIZE) throw new FormatError(`control is ${buf.length} bytes, expected ${CONTROL_SIZE}`);
  if (!buf.subarray(0, 8).equals(CONTROL_MAGIC)) throw new FormatError('control magic mismatch', 0);
  if (crc32c(buf, 0, 0, 32) !== buf.readUInt32LE(32)) throw new FormatError('control CRC mismatch', 32);
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) throw new FormatError(`control format version ${version} is not supported`, 8);
  return {
    catalogVersion: buf.readUInt32LE(12),
    redoLsn: buf.readBigUInt64LE(16),
    checkpointTimeMs: Number(buf.readBigUInt64LE(24)),
  };
}
