/**
 * Decodes WAL segments for `kvctl wal inspect` and `kvctl wal tail` with the engine's own
 * record reader (ts/engine/format.ts), read-only: files are opened O_RDONLY and never
 * locked, so this works beside a running server and cannot change the directory.
 *
 * Unlike recovery, which stops at the first bad record, the inspector reports it and
 * resynchronises on the next valid record, so one damaged record does not hide the rest.
 */
import { FormatError, KIND_BATCH, KIND_DELETE, KIND_FIRST_SKIPPABLE, KIND_INCR, KIND_PUT, MAX_RECORD_BODY, RECORD_HEADER, type Change, decodeBody, readRecord } from '../engine/format.js';

export type RecordStatus =
  | 'ok'
  /** CRC-32C over length, lsn, kind and body does not match */
  | 'crc'
  /** the record runs past the end of the file */
  | 'short'
  /** zeroed space (kind 0) */
  | 'zero'
  /** the length field is over the 256 MiB limit */
  | 'length'
  /** CRC fine, body does not decode */
  | 'malformed'
  /** CRC fine, an LSN other than the next one */
  | 'lsn-gap'
  /** CRC fine, a kind this version cannot read (5..127) */
  | 'unknown-kind';

export interface OpView {
  op: 'put' | 'del';
  key: Buffer;
  value?: Buffer;
  expiresAt?: number;
}

export interface RecordView {
  segment: string;
  offset: number;
  /** From the header; for a bad record, what the header claims (may be garbage). */
  lsn: bigint | null;
  kind: number | null;
  /** Bytes on disk: header + body (for a bad record: the bytes up to where reading resumes). */
  size: number;
  status: RecordStatus;
  /** For a bad record: whether it is a torn tail (recovery truncates it) or corruption (recovery refuses). */
  verdict?: 'torn-tail' | 'corruption';
  detail?: string;
  ops: OpView[];
}

export const KIND_NAMES: Record<number, string> = { [KIND_PUT]: 'PUT', [KIND_DELETE]: 'DELETE', [KIND_INCR]: 'INCR', [KIND_BATCH]: 'BATCH', 0: 'ZERO' };

export function kindName(kind: number | null): string {
  if (kind === null) return '?';
  if (KIND_NAMES[kind]) return KIND_NAMES[kind]!;
  return kind >= KIND_FIRST_SKIPPABLE ? `OPTIONAL(${kind})` : `UNKNOWN(${kind})`;
}

function opsOf(changes: Change[]): OpView[] {
  return changes.map((c) => (c.type === 'put' ? { op: 'put', key: c.key, value: c.value, expiresAt: c.expiresAt } : { op: 'del', key: c.key }));
}

/** The first offset after `from` where a valid record with lsn in [want, want + 1000) starts, or -1. */
function resync(buf: Buffer, from: number, want: bigint | null): number {
  for (let at = from; at + RECORD_HEADER <= buf.length; at++) {
    if (want !== null) {
      const lsn = buf.readBigUInt64LE(at + 8);
      if (lsn < want || lsn >= want + 1000n) continue;
    } else if (buf.readUInt32LE(at + 4) > MAX_RECORD_BODY) continue;
    const r = readRecord(buf, at);
    if (r.ok) return at;
  }
  return -1;
}

export interface ScanResult {
  records: RecordView[];
  /** Offset just after the last complete, valid record (where a follower resumes). */
  consumed: number;
  /** The LSN the next record should carry, if any record was read. */
  expected: bigint | null;
  /** Bytes at the end that do not (yet) form a valid record, with no valid record after them. */
  trailing: RecordView | null;
}

/**
 * Reads every record of one segment's bytes. `expected` is the LSN the first record should
 * carry (null = take the segment's first record as it is). A bad record followed by a valid
 * one is corruption and reading resumes there; bad bytes with nothing valid after them are
 * returned as `trailing` (a torn tail in the last segment, corruption in any other).
 */
export function scanSegment(segment: string, buf: Buffer, expected: bigint | null, baseOffset = 0): ScanResult {
  const records: RecordView[] = [];
  let at = 0;
  let consumed = 0;
  for (;;) {
    const r = readRecord(buf, at);
    if (r.ok) {
      const view: RecordView = { segment, offset: baseOffset + at, lsn: r.lsn, kind: r.kind, size: r.next - at, status: 'ok', ops: [] };
      if (expected !== null && r.lsn !== expected) {
        view.status = 'lsn-gap';
        view.verdict = 'corruption';
        view.detail = `LSN ${r.lsn} where ${expected} was expected`;
      }
      if (r.kind >= KIND_FIRST_SKIPPABLE) {
        view.detail ??= 'optional record kind: readers skip it';
      } else {
        try {
          view.ops = opsOf(decodeBody(r.kind, r.body));
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
          view.status = /unsupported record kind/.test(err.message) ? 'unknown-kind' : 'malformed';
          view.verdict = 'corruption';
          view.detail = err.message;
        }
      }
      records.push(view);
      expected = r.lsn + 1n;
      at = r.next;
      consumed = at;
      continue;
    }
    if (r.reason === 'end') return { records, consumed, expected, trailing: null };
    const hasHeader = at + RECORD_HEADER <= buf.length;
    const claimedLsn = hasHeader ? buf.readBigUInt64LE(at + 8) : null;
    const claimedKind = hasHeader ? buf[at + 16]! : null;
    const next = resync(buf, at + 1, expected);
    const bad: RecordView = {
      segment, offset: baseOffset + at, lsn: claimedLsn, kind: claimedKind, size: (next < 0 ? buf.length : next) - at, status: r.reason, ops: [],
    };
    if (next < 0) return { records, consumed, expected, trailing: bad };
    bad.verdict = 'corruption';
    bad.detail = `bad record (${r.reason}); a valid record follows at offset ${baseOffset + next}`;
    records.push(bad);
    // The bad record stood for the LSN(s) before the one found: carry on from there.
    expected = buf.readBigUInt64LE(next + 8);
    at = next;
  }
}

