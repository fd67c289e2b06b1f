/**
 * One page of a scan, as the HTTP route (GET /v1/kv) and the gRPC Scan both serve it: at most
 * `limit` entries after the cursor, and whether more may follow. A page that may be followed
 * holds exactly `limit` entries; the next page starts after its last key (before it, in
 * reverse), so a client that passes the cursor back sees every key once, in order, even
 * while keys are written between pages (a key written behind the cursor is not seen).
 *
 * Filtered by permission (docs/auth.md, "Scans"): with `within` (the prefixes the caller may
 * see, from AuthService.authorizeScan), the page reads those prefixes' parts of the range
 * only, in order, so hidden keys are never read, never counted and never become a cursor: the
 * cursor is the last key of the page, a key the caller was shown. A page is still full
 * whenever more visible keys follow. Work per page: at most limit + 1 entries read, plus one
 * engine seek for each granted prefix the page passes through (found by binary search).
 */
import { KvError } from '../errors.js';
import type { Action, AuthService, Principal } from '../auth/service.js';
import { type Store } from '../store/store.js';
import { prefixEnd } from '../store/keys.js';

export const MAX_SCAN_PAGE = 1000;
export const DEFAULT_SCAN_PAGE = 100;
const ZERO = Buffer.from([0]);

export interface ScanPageRequest {
  prefix?: Uint8Array | string;
  start?: Uint8Array | string;
  end?: Uint8Array | string;
  /** 1..MAX_SCAN_PAGE, checked by the caller's schema. */
  limit: number;
  /** The last key of the previous page, from its cursor. */
  after?: Buffer;
  reverse: boolean;
}

export interface ScanPage {
  items: Array<[key: Buffer, value: Buffer]>;
  /** Set when more entries may follow: the last key of this page, to resume after. */
  last?: Buffer;
}

const bound = (b: Uint8Array | string | undefined): Buffer | undefined => (b === undefined || b.length === 0 ? undefined : Buffer.from(b as Uint8Array));

/**
 * The granted prefixes (sorted, prefix-free) that meet the request's range (after its cursor,
 * if any), in scan order, lazily: found by binary search, so a page that fills early looks at
 * no more of them than it reads. Yields nothing when none does: the caller can see no key of
 * this range, whatever it holds. The key ranges of a sorted, prefix-free list are disjoint
 * and in order, so their ends ascend too.
 */
export function* prefixesInRange(within: readonly Buffer[], q: Omit<ScanPageRequest, 'limit' | 'reverse'> & { reverse?: boolean }): Generator<Buffer> {
  let lo = bound(q.start);
  let hi = bound(q.end);
  const p = bound(q.prefix);
  if (p !== undefined) {
    if (lo === undefined || Buffer.compare(p, lo) > 0) lo = p;
    const pend = prefixEnd(p);
    if (pend !== null && (hi === undefined || Buffer.compare(pend, hi) < 0)) hi = pend;
  }
  if (q.after !== undefined && q.after.length > 0) {
    if (q.reverse) hi = hi === undefined || Buffer.compare(q.after, hi) < 0 ? q.after : hi;
    else {
      const next = Buffer.concat([q.after, ZERO]);
      lo = lo === undefined || Buffer.compare(next, lo) > 0 ? next : lo;
    }
  }
  let first = 0; // the first prefix whose range ends after lo
  let n = within.length;
  if (lo !== undefined) {
    while (first < n) {
      const mid = (first + n) >>> 1;
      const end = prefixEnd(within[mid]!);
      if (end === null || Buffer.compare(end, lo) > 0) n = mid;
      else first = mid + 1;
    }
  }
  let stop = within.length; // one past the last prefix that starts before hi
  if (hi !== undefined) {
    let i = first;
    while (i < stop) {
      const mid = (i + stop) >>> 1;
      if (Buffer.compare(within[mid]!, hi) < 0) i = mid + 1;
      else stop = mid;
    }
  }
  if (q.reverse) for (let i = stop - 1; i >= first; i--) yield within[i]!;
  else for (let i = first; i < stop; i++) yield within[i]!;
}

/** One page; with `within`, only keys under those prefixes (see the file comment). */
export function scanPage(store: Store, q: ScanPageRequest, within?: readonly Buffer[]): ScanPage {
  let start = q.start;
  let end = q.end;
  if (q.after !== undefined && q.after.length > 0) {
    if (q.reverse) end = q.after;
    else start = Buffer.concat([q.after, ZERO]);
  }
  const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), reverse: q.reverse };
  // Each part is one prefix: the request's own, or a granted one that meets the range; the
  // two prefix ranges meet, so one prefix extends the other, and the longer is their meet.
  // The store cuts each part to [start, end).
  const own = bound(q.prefix);
  const parts: Iterable<Uint8Array | string | undefined> = within === undefined ? [q.prefix] : prefixesInRange(within, q);
  const items: Array<[Buffer, Buffer]> = [];
  for (const part of parts) {
    const prefix = part !== undefined && own !== undefined && own.length > part.length ? own : part;
    for (const [k, v] of store.scan({ ...range, ...(prefix !== undefined ? { prefix } : {}), limit: q.limit + 1 - items.length })) {
      if (items.length === q.limit) return { items, last: items[items.length - 1]![0] };
      items.push([k, v]);
    }
  }
  return { items };
}

/**
 * What a scan may see, for scanPage's `within`: the prefixes under `scope` on which the
 * caller holds every one of `actions` (scan; scan and read with values), sorted, by
 * AuthService.authorizeScan, the one rule of every entry point;
 * undefined with auth off (null): every key but `_sys.`. Throws AUTH_FAILED for a principal
 * that no longer stands, PERMISSION_DENIED when no key of the range could be visible (decided
 * from the grants alone, so it says nothing about which keys exist). The cursor plays no part
 * here: a later page of an allowed scan is never refused, at worst empty.
 */
export function scanAccess(auth: AuthService | null, principal: Principal | null | undefined, actions: readonly Action[], scope: Uint8Array | string, q: ScanPageRequest): Buffer[] | undefined {
  if (auth === null) return undefined;
  const d = auth.authorizeScan(principal, actions, scope);
  if (d.invalid) throw new KvError('AUTH_FAILED', undefined, { cause: d.reason });
  const within = d.allow ? d.prefixes ?? [] : [];
  if (prefixesInRange(within, { ...q, after: undefined, reverse: false }).next().done === true) throw new KvError('PERMISSION_DENIED', `${actions.join(' and ')} denied: no role of ${principal?.user ?? 'this principal'} grants ${actions.join(' and ')} on any key in this range`);
  return within;
}

/** The key prefix a scan is authorized on: its prefix, else the common prefix of start and end, else everything (''). */
export function scanScope(prefix: Uint8Array | undefined, start: Uint8Array | undefined, end: Uint8Array | undefined): Buffer {
  if (prefix !== undefined && prefix.length > 0) return Buffer.from(prefix);
  if (start === undefined || end === undefined) return Buffer.alloc(0);
  let i = 0;
  while (i < start.length && i < end.length && start[i] === end[i]) i++;
  return Buffer.from(start.subarray(0, i));
}

/** The longest common prefix of a and b: the scope a [start, end) range needs a grant on. */
export function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
