/**
 * Key ranges of scans and counts: a scan's [start, end) (bounds narrowed by its prefix), and
 * its parts on either side of the catalog's `_sys.` range.
 */
import type { ScanOptions } from './api-types.js';
import { SYSTEM_END, SYSTEM_PREFIX, compareBytes, prefixEnd, toBound } from './keys.js';

type Range = [Buffer | null, Buffer | null];

/** [start, end) of a scan: its bounds narrowed by its prefix (null = unbounded). */
export function scanRange(o: ScanOptions): Range {
  let start = toBound(o.start, 'start');
  let end = toBound(o.end, 'end');
  const prefix = toBound(o.prefix, 'prefix');
  if (prefix && prefix.length > 0) {
    if (compareBytes(prefix, start, 'low') > 0) start = prefix;
    const pend = prefixEnd(prefix);
    if (compareBytes(pend, end, 'high') < 0) end = pend;
  }
  return [start, end];
}

/**
 * The parts of [start, end) the data API sees, in ascending order: the range minus the
 * catalog's [SYSTEM_PREFIX, SYSTEM_END), which holds exactly the keys starting with `_sys.`.
 * Scans and counts ask the engine for these parts only, so they never read (and never have
 * to skip) a catalog key.
 */
export function dataRanges(start: Buffer | null, end: Buffer | null): Range[] {
  const out: Range[] = [];
  const lowEnd = compareBytes(end, SYSTEM_PREFIX, 'high') < 0 ? end : SYSTEM_PREFIX;
  if (compareBytes(start, lowEnd, 'low') < 0) out.push([start, lowEnd]);
  const highStart = compareBytes(start, SYSTEM_END, 'low') > 0 ? start : SYSTEM_END;
  if (compareBytes(highStart, end, 'high') < 0) out.push([highStart, end]);
  return out;
}

/** The catalog's part of [start, end), for the system view; [] when they do not meet. */
export function systemRanges(start: Buffer | null, end: Buffer | null): Range[] {
  const s = compareBytes(start, SYSTEM_PREFIX, 'low') > 0 ? start : SYSTEM_PREFIX;
  const e = compareBytes(end, SYSTEM_END, 'high') < 0 ? end : SYSTEM_END;
  return compareBytes(s, e, 'low') < 0 ? [[s, e]] : [];
}

