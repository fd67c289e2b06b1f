/**
 * The one check of option names for the whole public API (store, batch operations, scans,
 * auth service, catalog settings, the server plugin and its config): a name the callee
 * does not know is refused with UNKNOWN_OPTION, never silently dropped. A dropped `ttl`
 * (for `ttlMs`) writes a key that never expires; a dropped `expires` (for `expiresAt`)
 * makes an API key that never expires. The message names the bad option and the nearest
 * valid one, so the fix is obvious.
 *
 * Cost: a for-in over the caller's (small) object and an includes() over a short list; the
 * edit distance is computed only on the error path. Cheap enough for put() and for every
 * operation of a batch.
 */
import { KvError } from './errors.js';

/**
 * Throws unless `obj` is undefined or an object whose enumerable property names (own and
 * inherited: the callee reads both) are all in `allowed`.
 * - INVALID_ARGUMENT when `obj` is null, an array, or not an object;
 * - UNKNOWN_OPTION naming the first unknown name and the nearest allowed one.
 * `where` names the call in the message ("put", "createApiKey", "batch op 3").
 */
export function checkOptions(where: string, obj: unknown, allowed: readonly string[]): void {
  if (obj === undefined) return;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new KvError('INVALID_ARGUMENT', `${where}: options must be an object, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`);
  }
  for (const name in obj) {
    if (!allowed.includes(name)) throw unknownOption(where, name, allowed);
  }
}

/**
 * The option names of an options type, as a list for checkOptions. Written as an object with
 * every key of T, so the compiler refuses a list that misses a name of T or has one T lacks.
 */
export function optionNames<T extends object>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}

function unknownOption(where: string, name: string, allowed: readonly string[]): KvError {
  if (allowed.length === 0) return new KvError('UNKNOWN_OPTION', `${where}: unknown option ${JSON.stringify(name)}; it takes no options`);
  const near = nearestName(name, allowed)!;
  return new KvError('UNKNOWN_OPTION', `${where}: unknown option ${JSON.stringify(name)}; did you mean ${JSON.stringify(near)}? (valid: ${allowed.join(', ')})`);
}

/**
 * The allowed name closest to `name` by edit distance (insertions, deletions, substitutions
 * and swaps of adjacent characters, ignoring case); the first such in `allowed` on a tie.
 * undefined when `allowed` is empty.
 */
export function nearestName(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(name.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      best = a;
      bestD = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
