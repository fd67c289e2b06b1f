/**
 * One page of a scan, as the HTTP route (GET /v1/kv) and the gRPC Scan both serve it: at most
 * `limit` entries after the cursor, and whether more may follow. A page that may be followed
 * holds exactly `limit` entries; the next page starts after its last key (before it, in
 * reverse), so a client that passes the cursor back sees every key once, in order, even
 * while keys are written between pages (a key written behind the cursor is not seen).
 */
import { type Store } from '../store/store.js';

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

export function scanPage(store: Store, q: ScanPageRequest): ScanPage {
  let start = q.start;
  let end = q.end;
  if (q.after) {
    if (q.reverse) end = q.after;
    else start = Buffer.concat([q.after, ZERO]);
  }
  const items: Array<[Buffer, Buffer]> = [];
  for (const [k, v] of store.scan({ ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), limit: q.limit + 1, reverse: q.reverse })) {
    if (items.length === q.limit) return { items, last: items[items.length - 1]![0] };
    items.push([k, v]);
  }
  return { items };
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
