/**
 * The change feed: `store.watch({ prefix | start/end, fromVersion?, maxQueue? })` (or the
 * options as a second argument) → an async iterable of events in
 * LSN order, built on the WAL the way replication's wal-sender is (ReplicationPort.readWal
 * + onFlushed + retainWal), so it sees the writes of every thread sharing the engine, and
 * on a standby the records its primary streamed in.
 *
 * One hub per store tails the WAL once for all its watchers: it reads whole flushed records
 * from its cursor, decodes each once, and pushes the events of a record to every watcher
 * whose range (and filter) they match, all of a record's events at once. A watcher asking
 * for a version older than the hub's cursor first reads the WAL on its own (pulling, at the
 * pace its consumer takes events) until it reaches the hub, then joins it.
 *
 * Memory is bounded per watcher: its queue holds at most `maxQueue` events (and
 * MAX_QUEUE_BYTES of keys and values); when the hub would push past that, the watcher is cut:
 * its queue is dropped and its iterator throws WATCH_LAGGED naming the version to resume
 * from (the first one it did not get). Events are what the WAL holds: put (PUT, INCR and a
 * batch's puts) and del. Expiry writes no WAL record, so no `expire` event is ever emitted
 * (docs/api.md, "Watch"); a put event carries expiresAt.
 */
import { KvError, toKvError } from '../errors.js';
import { KIND_FIRST_SKIPPABLE, decodeBody, readRecord } from '../engine/format.js';
import type { ReplicationPort } from '../replication/port.js';
import { type Codec, decodeWith } from './encoding.js';
import { splitWatchArgs } from './watch-args.js';
import { type Key, compareBytes, isSystemKey, prefixEnd, toBound } from './keys.js';

export interface WatchRange {
  /** Only keys starting with these bytes. */
  prefix?: Key;
  /** Inclusive lower bound. */
  start?: Key;
  /** Exclusive upper bound. */
  end?: Key;
}

export interface WatchOptions {
  /**
   * The first version to report: every event with version >= it (its record must still be in
   * the WAL on disk, else COMPACTED). Default: the next LSN at the call, i.e. every write
   * submitted after watch() returned. To resume after the last event seen at version v, pass v + 1n.
   */
  fromVersion?: bigint;
  /** Events queued for a consumer at most before the watcher is cut (WATCH_LAGGED). Default 10,000. */
  maxQueue?: number;
}

export interface WatchEvent<V = Buffer, K = Buffer> {
  /** 'expire' is part of the type for forward compatibility; this version never emits it. */
  type: 'put' | 'del' | 'expire';
  key: K;
  /** Present on put. */
  value?: V;
  /** On put, when the entry expires (ms since the epoch); absent when it does not. */
  expiresAt?: number;
  /** The LSN of the write; every event of one batch or transaction has the same. */
  version: bigint;
}

/** A watch in progress: iterate it (for await), or close() it. */
export interface Watcher<V = Buffer, K = Buffer> extends AsyncIterable<WatchEvent<V, K>> {
  /** The first version this watcher reports. */
  readonly fromVersion: bigint;
  /** Ends the iteration (a pending next() resolves done) and frees the watcher. Idempotent. */
  close(): void;
  /** @internal Every queued event of the next record (one version), waiting for one; null when done. */
  nextRecord(): Promise<WatchEvent<V, K>[] | null>;
}

export const DEFAULT_MAX_QUEUE = 10_000;
/** Bytes of keys and values one watcher may have queued. */
export const MAX_QUEUE_BYTES = 32 * 1024 * 1024;
/** How much WAL one read takes. */
const READ_BYTES = 1024 * 1024;
/** The hub re-checks the flushed LSN at least this often (a missed wake-up cannot stall it). */
const POLL_MS = 1000;


/** A decoded event with its raw key, shared by every watcher that gets it. */
interface RawEvent {
  type: 'put' | 'del';
  key: Buffer;
  value: Buffer | undefined;
  expiresAt: number;
  version: bigint;
}

/** One record's events (possibly several: a batch, a transaction). */
type RecordEvents = RawEvent[];

/** Decodes whole records into per-record event lists; calls fn for each with its LSN. */
function forEachRecord(records: Buffer, fn: (lsn: bigint, events: RecordEvents) => void): bigint {
  let at = 0;
  let last = 0n;
  while (at < records.length) {
    const r = readRecord(records, at);
    if (!r.ok) throw new KvError('INTERNAL', `the WAL reader returned a broken record run (${r.reason} at ${at})`);
    at = r.next;
    last = r.lsn;
    if (r.kind >= KIND_FIRST_SKIPPABLE) continue;
    const events: RecordEvents = [];
    for (const c of decodeBody(r.kind, r.body)) {
      if (isSystemKey(c.key)) continue; // the catalog never appears in a watch
      events.push(c.type === 'put'
        ? { type: 'put', key: Buffer.from(c.key), value: Buffer.from(c.value), expiresAt: c.expiresAt, version: r.lsn }
        : { type: 'del', key: Buffer.from(c.key), value: undefined, expiresAt: 0, version: r.lsn });
    }
    if (events.length > 0) fn(r.lsn, events);
  }
  return last;
}

type Decoder = (raw: RawEvent) => WatchEvent<unknown, unknown>;

/** Turns a raw event into what the store's keyEncoding / valueEncoding decode it to. */
export function eventDecoder(keys: Codec, values: Codec): Decoder {
  return (e) => {
    const out: WatchEvent<unknown, unknown> = { type: e.type, key: keys.decode === null ? e.key : decodeWith(keys, e.key, 'key'), version: e.version };
    if (e.value !== undefined) out.value = values.decode === null ? e.value : decodeWith(values, e.value, 'value');
    if (e.expiresAt !== 0) out.expiresAt = e.expiresAt;
    return out;
  };
}

class WatcherImpl implements Watcher<unknown, unknown> {
  readonly fromVersion: bigint;
  /** The next LSN this watcher has not seen (catch-up), then the first it accepts from the hub. */
  next: bigint;
  readonly #start: Buffer | null;
  readonly #end: Buffer | null;
  readonly #filter: ((key: Buffer) => boolean) | null;
  readonly #maxQueue: number;
  readonly #decode: Decoder;
  readonly #onClose: (w: WatcherImpl) => void;
  /** Queued records, oldest first; #head indexes the next to hand out. */
  #queue: RecordEvents[] = [];
  #head = 0;
  /** Events pending in the queue, and where the consumer stands inside the first record. */
  #queued = 0;
  #bytes = 0;
  #pos = 0;
  #wake: (() => void) | null = null;
  #room: (() => void) | null = null;
  #error: KvError | null = null;
  closed = false;

  constructor(from: bigint, start: Buffer | null, end: Buffer | null, filter: ((key: Buffer) => boolean) | null, maxQueue: number, decode: Decoder, onClose: (w: WatcherImpl) => void) {
    this.fromVersion = from;
    this.next = from;
    this.#start = start;
    this.#end = end;
    this.#filter = filter;
    this.#maxQueue = maxQueue;
    this.#decode = decode;
    this.#onClose = onClose;
  }

  /** The events of one record this watcher wants (none: undefined). */
  select(events: RecordEvents): RecordEvents | undefined {
    if (events[0]!.version < this.next) return undefined;
    let out: RecordEvents | undefined;
    for (const e of events) {
      if (this.#start !== null && Buffer.compare(e.key, this.#start) < 0) continue;
      if (this.#end !== null && Buffer.compare(e.key, this.#end) >= 0) continue;
      if (this.#filter !== null && !this.#filter(e.key)) continue;
      (out ??= []).push(e);
    }
    return out;
  }

  get queuedEvents(): number {
    return this.#queued;
  }

  /**
   * The hub's push: cuts the watcher instead when it would pass its bound (unless its queue is
   * empty: a record larger than the bound still goes through alone). `pulled`: catch-up, which
   * waits for room() before each read, so it never cuts.
   */
  offer(events: RecordEvents, pulled = false): void {
    if (this.closed || this.#error) return;
    const bytes = events.reduce((n, e) => n + e.key.length + (e.value?.length ?? 0), 0);
    if (!pulled && this.#queued > 0 && (this.#queued + events.length > this.#maxQueue || this.#bytes + bytes > MAX_QUEUE_BYTES)) {
      const resume = this.#queue[this.#head]![0]!.version;
      this.fail(new KvError('WATCH_LAGGED', `the watcher fell ${this.#queued} events behind (its bound is ${this.#maxQueue}) and was cut: watch again with fromVersion ${resume}`), resume);
      return;
    }
    this.#queue.push(events);
    this.#queued += events.length;
    this.#bytes += bytes;
    this.#wake?.();
  }

  /** Catch-up: resolves once the queue has room for more (or the watcher ended). */
  async room(): Promise<void> {
    while (!this.closed && !this.#error && this.#queued >= this.#maxQueue / 2) {
      await new Promise<void>((r) => (this.#room = r));
      this.#room = null;
    }
  }

  resumeFrom: bigint | null = null;

  fail(err: KvError, resumeFrom: bigint | null = null): void {
    if (this.closed || this.#error) return;
    this.#error = err;
    this.resumeFrom = resumeFrom;
    (err as KvError & { resumeFrom?: bigint }).resumeFrom = resumeFrom ?? undefined;
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    this.#bytes = 0;
    this.#onClose(this);
    this.#wake?.();
    this.#room?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.#bytes = 0;
    this.#onClose(this);
    this.#wake?.();
    this.#room?.();
  }

  get ended(): boolean {
    return this.closed || this.#error !== null;
  }

  async nextRecord(): Promise<WatchEvent<unknown, unknown>[] | null> {
    for (;;) {
      if (this.closed) return null;
      if (this.#head < this.#queue.length) {
        const rec = this.#queue[this.#head]!;
        const part = this.#pos === 0 ? rec : rec.slice(this.#pos);
        this.#take(rec, part.length);
        return part.map(this.#decode);
      }
      if (this.#error) throw this.#error;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
  }

  async nextEvent(): Promise<WatchEvent<unknown, unknown> | null> {
    for (;;) {
      if (this.closed) return null;
      if (this.#head < this.#queue.length) {
        const rec = this.#queue[this.#head]!;
        const e = rec[this.#pos]!;
        this.#take(rec, 1);
        return this.#decode(e);
      }
      if (this.#error) throw this.#error;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
  }

  #take(rec: RecordEvents, n: number): void {
    for (let i = this.#pos; i < this.#pos + n; i++) this.#bytes -= rec[i]!.key.length + (rec[i]!.value?.length ?? 0);
    this.#queued -= n;
    this.#pos += n;
    if (this.#pos === rec.length) {
      this.#pos = 0;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    if (this.#room && this.#queued < this.#maxQueue / 2) this.#room();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<unknown, unknown>> {
    return {
      next: async () => {
        const e = await this.nextEvent();
        return e === null ? { done: true, value: undefined } : { done: false, value: e };
      },
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }
}

/** The one WAL tail per store (see the file comment). */
export class WatchHub {
  readonly #port: () => ReplicationPort;
  readonly #joined = new Set<WatcherImpl>();
  readonly #all = new Set<WatcherImpl>();
  /** The next LSN the hub reads; meaningful while it runs. */
  #cursor = 0n;
  #running = false;
  #wake: (() => void) | null = null;

  constructor(port: () => ReplicationPort) {
    this.#port = port;
  }

  /** Watchers open now (for metrics and tests). */
  get size(): number {
    return this.#all.size;
  }

  watch(arg: WatchRange & WatchOptions, opts: WatchOptions, decode: Decoder, filter: ((key: Buffer) => boolean) | null): Watcher<unknown, unknown> {
    const { range, options } = splitWatchArgs(arg, opts);
    let start = toBound(range.start, 'start');
    let end = toBound(range.end, 'end');
    const prefix = toBound(range.prefix, 'prefix');
    if (prefix && prefix.length > 0) {
      if (compareBytes(prefix, start, 'low') > 0) start = prefix;
      const pend = prefixEnd(prefix);
      if (compareBytes(pend, end, 'high') < 0) end = pend;
    }
    const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (!Number.isInteger(maxQueue) || maxQueue < 1 || maxQueue > 10_000_000) throw new KvError('INVALID_ARGUMENT', 'maxQueue must be an integer from 1 to 10,000,000');
    const port = this.#port();
    let from = options.fromVersion;
    if (from !== undefined && (typeof from !== 'bigint' || from < 1n)) throw new KvError('INVALID_ARGUMENT', 'fromVersion must be a bigint >= 1n');
    from ??= port.positions().nextLsn;
    const oldest = port.oldestLsn();
    if (from < oldest) throw compacted(from, oldest);
    const w = new WatcherImpl(from, start, end, filter, maxQueue, decode, (x) => this.#drop(x));
    this.#all.add(w);
    void this.#catchUp(w);
    return w;
  }

  #drop(w: WatcherImpl): void {
    this.#all.delete(w);
    this.#joined.delete(w);
  }

  /** Ends every watcher (the store closes). */
  closeAll(): void {
    for (const w of [...this.#all]) w.close();
    this.#wake?.();
  }

  /** w takes the hub's records from now on (select() skips those below w.next); starts the hub at w.next if idle. */
  #join(w: WatcherImpl): void {
    this.#joined.add(w);
    if (!this.#running) {
      this.#cursor = w.next;
      void this.#run();
    }
  }

  /** Reads the WAL for w until it reaches the hub's cursor, then joins it. */
  async #catchUp(w: WatcherImpl): Promise<void> {
    let release: () => void = () => {};
    try {
      const port = this.#port();
      release = port.retainWal(w.next);
      if (w.next < port.oldestLsn()) throw compacted(w.next, port.oldestLsn());
      for (;;) {
        if (w.ended) return;
        if (this.#running ? w.next >= this.#cursor : w.next > port.positions().flushedLsn) {
          this.#join(w);
          return;
        }
        await w.room();
        if (w.ended) return;
        const records = await this.#read(w.next);
        if (records.length === 0) continue; // nothing flushed past w.next: the loop joins
        const last = forEachRecord(records, (_lsn, events) => {
          const mine = w.select(events);
          if (mine) w.offer(mine, true);
        });
        w.next = last + 1n;
        release();
        release = port.retainWal(w.next);
      }
    } catch (err) {
      w.fail(toKvError(err));
    } finally {
      release();
    }
  }

  async #read(from: bigint): Promise<Buffer> {
    const port = this.#port();
    if (from > port.positions().flushedLsn) return Buffer.alloc(0);
    try {
      return await port.readWal(from, READ_BYTES);
    } catch (err) {
      const e = toKvError(err);
      if (e.code === 'WAL_COMPACTED') throw compacted(from, port.oldestLsn());
      throw e;
    }
  }

  /** The tail: runs while any watcher is joined. */
  async #run(): Promise<void> {
    this.#running = true;
    let release: () => void = () => {};
    let unsubscribe: () => void = () => {};
    try {
      const port = this.#port();
      unsubscribe = port.onFlushed(() => this.#wake?.());
      release = port.retainWal(this.#cursor);
      while (this.#joined.size > 0) {
        const records = await this.#read(this.#cursor);
        if (records.length > 0) {
          const last = forEachRecord(records, (_lsn, events) => {
            for (const w of this.#joined) {
              const mine = w.select(events);
              if (mine) w.offer(mine);
            }
          });
          this.#cursor = last + 1n;
          release();
          release = port.retainWal(this.#cursor);
          continue;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, POLL_MS);
          this.#wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wake = null;
      }
    } catch (err) {
      const e = toKvError(err);
      for (const w of [...this.#joined]) w.fail(e);
    } finally {
      unsubscribe();
      release();
      this.#running = false;
    }
  }
}

function compacted(from: bigint, oldest: bigint): KvError {
  return new KvError('COMPACTED', `version ${from} is no longer in the WAL: the oldest version available is ${oldest}`);
}
