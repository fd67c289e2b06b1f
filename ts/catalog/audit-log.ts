/**
 * The audit log: `_sys.audit:<ms>.<seq>` records, appended in the batch of the change they
 * describe, and `_sys.catalog:audit_stats` (records, bytes, newest id), kept in the same
 * batches, so retention needs no scan. Ids are made from the stats' newest id under the
 * catalog lock (commit.ts), so two threads never write the same id.
 *
 * Retention: pruneBatch picks at most `batch` of the oldest records that are past any bound
 * (count, age, bytes); the pruner (ts/auth/audit.ts) commits one small batch at a time, so a
 * prune never holds the lock longer than any other change.
 */
import { KvError } from '../errors.js';
import type { BatchOperation, SystemView } from '../store/store.js';
import { type AuditRecord, type AuditStats, type AuthSettings, KEYS, PREFIXES, auditId, decode, encode } from './schema.js';

export type AuditEntry = AuditRecord & { id: string };

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: string;
}

export interface AuditReadOptions {
  /** Only records at or after this time (ms since the epoch). */
  since?: number;
  /** Only records after this id (a previous entry's `id`): resume where a reader stopped. */
  after?: string;
  /** At most this many records (default: all). */
  limit?: number;
}

export const EMPTY_STATS: AuditStats = { records: 0, bytes: 0, last: '' };
const PAGE = 512;
const ID = /^(\d{15})\.(\d{6})$/;

/** Stats of a log written before audit_stats existed: one scan, at the first open by this release. */
export function countAudit(sys: SystemView): AuditStats {
  let records = 0;
  let bytes = 0;
  let last = '';
  for (const [k, v] of sys.scan({ prefix: PREFIXES.audit })) {
    records++;
    bytes += k.length + v.length;
    last = k.toString('latin1').slice(PREFIXES.audit.length);
  }
  return { records, bytes, last };
}

/** The next id after `last` at time `now`. */
export function nextAuditId(last: string, now: number): string {
  const m = ID.exec(last);
  const ms = m ? Number(m[1]) : 0;
  if (now > ms) return auditId(now, 0);
  const seq = Number(m![2]) + 1;
  // 10^6 records in one ms: borrow the next ms rather than overflow the sequence.
  return seq > 999_999 ? auditId(ms + 1, 0) : auditId(ms, seq);
}

/** Appends the records to `ops` and returns the stats after them and the entries written. */
export function appendAudit(ops: BatchOperation[], stats: AuditStats, records: AuditRecord[], now: number): { stats: AuditStats; written: AuditEntry[] } {
  let { records: n, bytes, last } = stats;
  const written: AuditEntry[] = [];
  for (const rec of records) {
    last = nextAuditId(last, now);
    const key = PREFIXES.audit + last;
    const value = encode(rec);
    ops.push({ type: 'put', key, value });
    n++;
    bytes += Buffer.byteLength(key) + value.length;
    written.push({ ...rec, id: last });
  }
  return { stats: { records: n, bytes, last }, written };
}

export interface PruneItem {
  key: string;
  bytes: number;
}

/**
 * At most `batch` of the oldest records past a retention bound; [] when the log is within
 * every bound. A record goes while there are more than auditMaxRecords, more than
 * auditMaxBytes, or it is older than auditMaxAgeDays.
 */
export function pruneBatch(sys: SystemView, stats: AuditStats, settings: AuthSettings, now: number, batch: number): PruneItem[] {
  const out: PruneItem[] = [];
  let n = stats.records;
  let bytes = stats.bytes;
  const oldest = now - settings.auditMaxAgeDays * 86_400_000;
  for (const [k, v] of sys.scan({ prefix: PREFIXES.audit, limit: batch })) {
    const key = k.toString('latin1');
    const ms = Number(ID.exec(key.slice(PREFIXES.audit.length))?.[1] ?? 0);
    if (n <= settings.auditMaxRecords && bytes <= settings.auditMaxBytes && ms >= oldest) break;
    const size = k.length + v.length;
    out.push({ key, bytes: size });
    n--;
    bytes -= size;
  }
  return out;
}

/** Audit records, newest first, `limit` at a time (default 100, at most 10,000). */
export function listAudit(sys: SystemView, options: { limit?: number; before?: string } = {}): AuditPage {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new KvError('INVALID_ARGUMENT', 'limit must be an integer in [1, 10000]');
  const end = options.before === undefined ? undefined : PREFIXES.audit + options.before;
  const out: AuditEntry[] = [];
  for (const [k, v] of sys.scan({ prefix: PREFIXES.audit, ...(end ? { end } : {}), reverse: true, limit: limit + 1 })) {
    const key = k.toString('utf8');
    if (out.length === limit) return { entries: out, next: out[out.length - 1]!.id };
    out.push({ ...decode('audit', key, v), id: key.slice(PREFIXES.audit.length) });
  }
  return { entries: out };
}

/**
 * Records oldest first from `since` (or after `after`), read a page at a time as the caller
 * iterates, so exporting a large log holds no more than one page in memory. Records appended
 * while iterating are returned too if they come after the current position.
 */
export function* readAudit(sys: SystemView, options: AuditReadOptions = {}): Generator<AuditEntry> {
  const { since, after, limit } = options;
  if (since !== undefined && (typeof since !== 'number' || !Number.isFinite(since) || since < 0)) throw new KvError('INVALID_ARGUMENT', 'since must be ms since the epoch');
  if (after !== undefined && (typeof after !== 'string' || !ID.test(after))) throw new KvError('INVALID_ARGUMENT', 'after must be an audit entry id');
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new KvError('INVALID_ARGUMENT', 'limit must be a positive integer');
  let start = PREFIXES.audit + (since === undefined ? '' : auditId(Math.floor(since), 0));
  if (after !== undefined && PREFIXES.audit + after + '\0' > start) start = PREFIXES.audit + after + '\0';
  let left = limit ?? Infinity;
  for (;;) {
    let got = 0;
    for (const [k, v] of sys.scan({ prefix: PREFIXES.audit, start, limit: Math.min(PAGE, left) })) {
      const key = k.toString('latin1');
      got++;
      left--;
      start = key + '\0';
      yield { ...decode('audit', key, v), id: key.slice(PREFIXES.audit.length) };
    }
    if (got < PAGE || left <= 0) return;
  }
}

export function statsOps(stats: AuditStats): BatchOperation {
  return { type: 'put', key: KEYS.auditStats, value: encode(stats) };
}
