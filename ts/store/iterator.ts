/**
 * store.iterator(): Level-style range reads (issue 20). The bounds gt / gte / lt / lte become
 * the scan range [start, end) the engine pages over, and the store's raw entries are decoded
 * here. One StoreIterator is both an async iterator (`for await`, which gives the event loop a
 * turn every page, so a long scan does not starve I/O) and a sync iterable (`for ... of`, the
 * fast form: no promise per entry). Both advance the same cursor.
 *
 * Consistency: like scan(), an iterator reads the live store a page at a time; a write made
 * while it is open is seen if it lands in a page not yet read. There is no snapshot (docs/api.md
 * says why).
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import { type Codec, type KeyInput, decodeWith, encodeWith } from './encoding.js';
import type { Key } from './keys.js';

export interface IteratorOptions<K = Buffer> {
  /** Keys greater than this (encoded with the store's keyEncoding). At most one of gt / gte. */
  gt?: KeyInput<K>;
  /** Keys greater than or equal to this. */
  gte?: KeyInput<K>;
  /** Keys less than this. At most one of lt / lte. */
  lt?: KeyInput<K>;
  /** Keys less than or equal to this. */
  lte?: KeyInput<K>;
  /** Only keys whose stored bytes start with these bytes (not encoded). Combines with the bounds. */
  prefix?: Key;
  /** At most this many entries (a non-negative integer; default all). */
  limit?: number;
  /** Descending key order. Default false. */
  reverse?: boolean;
  /** false: entries carry `undefined` for the key, which is then not decoded. Default true. */
  keys?: boolean;
  /** false: entries carry `undefined` for the value, which is then not decoded. Default true. */
  values?: boolean;
}

/** A part (key or value) of an entry for iterator options O: undefined with `keys: false` / `values: false`. */
type Part<T, O, F extends 'keys' | 'values'> = F extends keyof O
  ? O[F] extends false
    ? undefined
    : O[F] extends true | undefined
      ? T
      : T | undefined
  : T;

/** An entry as iterator(options) yields it. */
export type IteratorEntry<K, V, O = object> = [key: Part<K, O, 'keys'>, value: Part<V, O, 'values'>];

export const ITERATOR_OPTIONS = optionNames<IteratorOptions>({
  gt: true, gte: true, lt: true, lte: true, prefix: true, limit: true, reverse: true, keys: true, values: true,
});

/** The scan the store runs for an iterator: [start, end) in stored bytes. */
export interface ScanRange {
  prefix?: Key;
  start?: Key;
  end?: Key;
  limit?: number;
  reverse?: boolean;
}

const ZERO = Buffer.from([0]);

/** The first key after `k` in byte order: k + 0x00. */
function successor(k: Key): Buffer {
  return Buffer.concat([typeof k === 'string' ? Buffer.from(k, 'utf8') : k, ZERO]);
}

function checkFlag(o: IteratorOptions<unknown>, name: 'reverse' | 'keys' | 'values'): void {
  if (o[name] !== undefined && typeof o[name] !== 'boolean') throw new KvError('INVALID_ARGUMENT', `${name} must be a boolean`);
}

/**
 * The scan for iterator options: names checked (UNKNOWN_OPTION), bounds encoded with `keys`,
 * gt / lte turned into their byte successors. INVALID_ARGUMENT for gt with gte, lt with lte,
 * or a non-boolean flag. limit and reverse are checked by the scan itself.
 */
export function iteratorRange(o: IteratorOptions<unknown>, keys: Codec): ScanRange {
  checkOptions('iterator', o, ITERATOR_OPTIONS);
  if (o.gt !== undefined && o.gte !== undefined) throw new KvError('INVALID_ARGUMENT', 'give gt or gte, not both');
  if (o.lt !== undefined && o.lte !== undefined) throw new KvError('INVALID_ARGUMENT', 'give lt or lte, not both');
  checkFlag(o, 'keys');
  checkFlag(o, 'values');
  const range: ScanRange = {};
  if (o.gte !== undefined) range.start = encodeWith(keys, o.gte, 'key');
  if (o.gt !== undefined) range.start = successor(encodeWith(keys, o.gt, 'key'));
  if (o.lt !== undefined) range.end = encodeWith(keys, o.lt, 'key');
  if (o.lte !== undefined) range.end = successor(encodeWith(keys, o.lte, 'key'));
  if (o.prefix !== undefined) range.prefix = o.prefix;
  if (o.limit !== undefined) range.limit = o.limit;
  if (o.reverse !== undefined) range.reverse = o.reverse;
  return range;
}

/**
 * scan()'s options with start and end encoded by `keys` (prefix stays raw bytes). Anything
 * that is not an options object is passed on for the scan to refuse.
 */
export function scanBounds<O extends { start?: unknown; end?: unknown }>(o: O, keys: Codec): O {
  if (keys.encode === null || typeof o !== 'object' || o === null || Array.isArray(o)) return o;
  const out = { ...o };
  if (o.start !== undefined) out.start = encodeWith(keys, o.start, 'key');
  if (o.end !== undefined) out.end = encodeWith(keys, o.end, 'key');
  return out;
}

/** A scan's raw entries, mapped lazily (decode errors surface at the entry that has them). */
export function* mapEntries<T>(src: Generator<[Buffer, Buffer]>, map: (k: Buffer, v: Buffer) => T): Generator<T> {
  for (const [k, v] of src) yield map(k, v);
}

/** Raw entry → what the iterator yields: decoded parts, undefined for a part not asked for. */
export function entryMapper(o: IteratorOptions<unknown>, keys: Codec, values: Codec): (k: Buffer, v: Buffer) => [unknown, unknown] {
  const wantKey = o.keys !== false;
  const wantValue = o.values !== false;
  if (wantKey && wantValue && keys.decode === null && values.decode === null) return (k, v) => [k, v];
  return (k, v) => [wantKey ? decodeWith(keys, k, 'key') : undefined, wantValue ? decodeWith(values, v, 'value') : undefined];
}

/** The async iterator gives the event loop a turn after this many entries (one engine page). */
const YIELD_EVERY = 1024;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

/**
 * A cursor over a store's range. `for await (const [k, v] of db.iterator())` or, synchronously,
 * `for (const [k, v] of db.iterator())`. Closing (return(), close(), `break`, `await using`,
 * `using`) ends it and yields nothing more. Once the store is closed, the iterator fails with
 * CLOSED when it needs another page from the engine.
 */
export class StoreIterator<T> implements AsyncIterableIterator<T, undefined, undefined>, Iterable<T, undefined, undefined> {
  readonly #source: Generator<[Buffer, Buffer]>;
  readonly #map: (k: Buffer, v: Buffer) => T;
  #count = 0;
  #closed = false;

  /** @internal Use store.iterator(). */
  constructor(source: Generator<[Buffer, Buffer]>, map: (k: Buffer, v: Buffer) => T) {
    this.#source = source;
    this.#map = map;
  }

  /** The next entry, synchronously. An engine or decode error closes the iterator and is thrown. */
  nextSync(): IteratorResult<T, undefined> {
    if (this.#closed) return DONE;
    try {
      const r = this.#source.next();
      if (r.done) {
        this.#closed = true;
        return DONE;
      }
      this.#count++;
      return { done: false, value: this.#map(r.value[0], r.value[1]) };
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * The next entry. Entries are read in the order next() is called, even when calls overlap;
   * after every page the promise waits one event-loop turn before it settles.
   */
  async next(): Promise<IteratorResult<T, undefined>> {
    const r = this.nextSync();
    if (!r.done && this.#count % YIELD_EVERY === 0) await turn();
    return r;
  }

  /** Every remaining entry (giving the event loop a turn every page); the iterator is then done. */
  async all(): Promise<T[]> {
    const out: T[] = [];
    for (;;) {
      const r = this.nextSync();
      if (r.done) return out;
      out.push(r.value);
      if (this.#count % YIELD_EVERY === 0) await turn();
    }
  }

  /** Ends the iteration: no further entries, the engine is not asked again. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.return(undefined);
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The sync form over the same cursor: `for (const e of it)`; breaking out closes it. */
  [Symbol.iterator](): Iterator<T, undefined, undefined> {
    return {
      next: () => this.nextSync(),
      return: () => {
        this.close();
        return DONE;
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
