/**
 * The remote KvClient over any Transport: the embedded Store's argument checks that need no
 * server (types, option names, by the same optionNames lists), retries, scan paging, and the
 * closed state. Limits and policy — key and value sizes, reserved keys, TTL ranges,
 * permissions — are the server's to decide, so the client never disagrees with the server it
 * talks to; the codes come back the same as the embedded store throws them.
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import { type RetryPolicy, withRetry } from './retry.js';
import type {
  BatchOperation, DeleteOptions, Entry, Key, KvClient, PutOptions, RemoteStats, RemoteWatcher, ScanOptions, Transport, TxnRequest, TxnResponse, Value,
  WatchEvent, WatchOptions, WatchRange, WhoAmI, WireBatchOp, WireWatch,
} from './types.js';
import { toWireTxn } from './txn-wire.js';
import { bytes } from './bytes.js';
import { splitWatchArgs } from '../store/watch-args.js';

/** A dropped watch stream is reopened at most this many times in a row (reset by every event). */
export const WATCH_RECONNECTS = 10;
/** Errors after which a watch may simply be reopened: the stream broke, nothing was refused for good. */
const RECONNECT = new Set(['UNAVAILABLE', 'TIMEOUT', 'NOT_READY', 'RATE_LIMITED', 'CLOSED']);

const PUT_OPTIONS = optionNames<PutOptions>({ ttlMs: true, ifVersion: true });
const DELETE_OPTIONS = optionNames<DeleteOptions>({ ifVersion: true });
const SCAN_OPTIONS = optionNames<ScanOptions>({ prefix: true, start: true, end: true, limit: true, reverse: true });
const BATCH_PUT_FIELDS = optionNames<Extract<BatchOperation, { type: 'put' }>>({ type: true, key: true, value: true, ttlMs: true });
const BATCH_DEL_FIELDS = optionNames<Extract<BatchOperation, { type: 'del' }>>({ type: true, key: true });

export { bytes };

function ttl(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw new KvError('INVALID_ARGUMENT', `ttlMs must be a positive number of milliseconds, got ${String(v)}`);
  return v;
}

function version(v: unknown): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'bigint' || v < 0n) throw new KvError('INVALID_ARGUMENT', 'ifVersion must be a non-negative bigint');
  return v;
}

export class Client implements KvClient {
  readonly #t: Transport;
  readonly #retry: RetryPolicy;
  readonly #pageSize: number;
  #closed = false;

  /** @internal Use connect(). */
  constructor(transport: Transport, retry: RetryPolicy, pageSize: number) {
    this.#t = transport;
    this.#retry = retry;
    this.#pageSize = pageSize;
  }

  #call<T>(fn: (t: Transport) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new KvError('CLOSED', 'the client is closed'));
    return withRetry(this.#retry, () => fn(this.#t));
  }

  /** Runs `prepare` (argument checks) so that its errors reject the promise, as the embedded store's do. */
  #run<T>(prepare: () => (t: Transport) => Promise<T>): Promise<T> {
    try {
      return this.#call(prepare());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async get(key: Key): Promise<Buffer | undefined> {
    return (await this.getEntry(key))?.value;
  }

  getEntry(key: Key): Promise<Entry | undefined> {
    return this.#run(() => {
      const k = bytes(key, 'key');
      return (t) => t.getEntry(k);
    });
  }

  put(key: Key, value: Value, options: PutOptions = {}): Promise<{ version: bigint }> {
    return this.#run(() => {
      checkOptions('put', options, PUT_OPTIONS);
      const k = bytes(key, 'key');
      const v = bytes(value, 'value');
      const ttlMs = ttl(options.ttlMs);
      const ifVersion = version(options.ifVersion);
      return async (t) => ({ version: await t.put(k, v, ttlMs, ifVersion) });
    });
  }

  delete(key: Key, options: DeleteOptions = {}): Promise<{ deleted: boolean }> {
    return this.#run(() => {
      checkOptions('delete', options, DELETE_OPTIONS);
      const k = bytes(key, 'key');
      const ifVersion = version(options.ifVersion);
      return async (t) => ({ deleted: await t.delete(k, ifVersion) });
    });
  }

  incr(key: Key, by: bigint = 1n): Promise<bigint> {
    return this.#run(() => {
      const k = bytes(key, 'key');
      if (typeof by !== 'bigint') throw new KvError('INVALID_ARGUMENT', 'by must be a bigint');
      return (t) => t.incr(k, by);
    });
  }

  batch(ops: readonly BatchOperation[]): Promise<{ version: bigint }> {
    return this.#run(() => {
      if (!Array.isArray(ops)) throw new KvError('INVALID_ARGUMENT', 'batch needs a non-empty array of operations');
      const wire = ops.map((op: BatchOperation, i): WireBatchOp => {
        if (op?.type === 'put') {
          checkOptions(`batch op ${i}`, op, BATCH_PUT_FIELDS);
          const t = ttl(op.ttlMs);
          return t === undefined ? { type: 'put', key: bytes(op.key, 'key'), value: bytes(op.value, 'value') } : { type: 'put', key: bytes(op.key, 'key'), value: bytes(op.value, 'value'), ttlMs: t };
        }
        if (op?.type === 'del') {
          checkOptions(`batch op ${i}`, op, BATCH_DEL_FIELDS);
          return { type: 'del', key: bytes(op.key, 'key') };
        }
        throw new KvError('INVALID_ARGUMENT', `batch operation ${i} needs type 'put' or 'del'`);
      });
      return async (t) => ({ version: await t.batch(wire) });
    });
  }

  txn(request: TxnRequest): Promise<TxnResponse> {
    return this.#run(() => {
      const wire = toWireTxn(request);
      return (t) => t.txn(wire);
    });
  }

  /** Range and options are checked at the call (it throws), as the embedded watch's are. */
  watch(arg: WatchRange & WatchOptions, opts: WatchOptions = {}): RemoteWatcher {
    if (this.#closed) throw new KvError('CLOSED', 'the client is closed');
    const { range, options } = splitWatchArgs(arg, opts);
    if (options.fromVersion !== undefined && (typeof options.fromVersion !== 'bigint' || options.fromVersion < 1n)) throw new KvError('INVALID_ARGUMENT', 'fromVersion must be a bigint >= 1n');
    const q: WireWatch = {
      ...(range.prefix !== undefined ? { prefix: bytes(range.prefix, 'prefix') } : {}),
      ...(range.start !== undefined ? { start: bytes(range.start, 'start') } : {}),
      ...(range.end !== undefined ? { end: bytes(range.end, 'end') } : {}),
      ...(options.fromVersion !== undefined ? { fromVersion: options.fromVersion } : {}),
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    };
    const stop = new AbortController();
    const events = this.#watchEvents(q, stop.signal);
    return {
      close: () => {
        stop.abort();
        void events.return(undefined);
      },
      [Symbol.asyncIterator]: () => events,
    };
  }

  /** The events of a watch, reopening a dropped stream from the version after the last record received. */
  async *#watchEvents(q: WireWatch, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    let from = q.fromVersion;
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const frame of this.#t.watch({ ...q, ...(from !== undefined ? { fromVersion: from } : {}) }, signal)) {
          if (Array.isArray(frame)) {
            failures = 0;
            from = frame[0]!.version + 1n;
            yield* frame;
          } else {
            from ??= frame.fromVersion;
          }
        }
        return;
      } catch (err) {
        if (signal.aborted) return;
        const code = (err as KvError).code;
        if (!RECONNECT.has(code) || ++failures > Math.min(WATCH_RECONNECTS, this.#retry.retries * WATCH_RECONNECTS)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (failures - 1))));
      }
    }
  }

  /** Options are checked at the call (it throws), as the embedded scan's are; the server is first asked at the first next(). */
  scan(options: ScanOptions = {}): AsyncGenerator<[Buffer, Buffer]> {
    checkOptions('scan', options, SCAN_OPTIONS);
    const limit = options.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new KvError('INVALID_ARGUMENT', 'limit must be a non-negative integer');
    if (options.reverse !== undefined && typeof options.reverse !== 'boolean') throw new KvError('INVALID_ARGUMENT', 'reverse must be a boolean');
    const q = {
      ...(options.prefix !== undefined ? { prefix: bytes(options.prefix, 'prefix') } : {}),
      ...(options.start !== undefined ? { start: bytes(options.start, 'start') } : {}),
      ...(options.end !== undefined ? { end: bytes(options.end, 'end') } : {}),
      reverse: options.reverse === true,
    };
    return this.#pages(q, limit);
  }

  async *#pages(q: { prefix?: Buffer; start?: Buffer; end?: Buffer; reverse: boolean }, limit: number): AsyncGenerator<[Buffer, Buffer]> {
    let left = limit;
    let cursor: string | Buffer | undefined;
    while (left > 0) {
      const ask = Math.min(this.#pageSize, left);
      const c = cursor;
      const page = await this.#call((t) => t.scan({ ...q, limit: ask, ...(c !== undefined ? { cursor: c } : {}) }));
      for (const item of page.items) yield item;
      left -= page.items.length;
      if (page.cursor === undefined) return;
      cursor = page.cursor;
    }
  }

  checkpoint(): Promise<{ redoLsn: bigint }> {
    return this.#call(async (t) => ({ redoLsn: await t.checkpoint() }));
  }

  stats(): Promise<RemoteStats> {
    return this.#call((t) => t.stats());
  }

  whoami(): Promise<WhoAmI> {
    return this.#call((t) => t.whoami());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#t.close();
  }
}
