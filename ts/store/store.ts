/**
 * The store facade: open(), the typed API, TTL, CAS, scans, and the promise bookkeeping
 * that turns the engine's durable-LSN callbacks into resolved writes. No users, no
 * policy beyond reserving the `_sys.` prefix: the data API refuses it, and only the
 * system view (systemView(), used by ts/catalog) reads and writes it.
 */
import { KvError, toKvError } from '../errors.js';
import { type BatchOp, KIND_TIMELINE, encodeBatchBody, encodeTimelineBody } from '../engine/format.js';
import type { Engine } from '../engine/types.js';
import { openEngine } from './open.js';
import { type TxnRequest, type TxnResponse, runTxn } from './txn.js';
import { type WatchOptions, type WatchRange, type Watcher, WatchHub, eventDecoder } from './watch.js';
import type { ReplicationPort } from '../replication/port.js';
import type { BackupOptions } from '../backup/create.js';
import type { Manifest } from '../backup/manifest.js';
import type { Location } from '../backup/repo.js';
import { enginePort } from './replication-port.js';
import { dataRanges, scanRange, systemRanges } from './ranges.js';
import type { ResolvedOptions } from './options.js';
import { type Key, type Value, SYSTEM_END, SYSTEM_PREFIX, toKey, toSystemKey, toValue } from './keys.js';
import { checkOptions, optionNames } from '../options.js';
import { type Codec, type KeyInput, type ValueInput, BINARY, decodeWith, encodeWith } from './encoding.js';
import { type IteratorEntry, type IteratorOptions, StoreIterator, entryMapper, iteratorRange, mapEntries, scanBounds } from './iterator.js';

export type { Entry, PutOptions, DeleteOptions, BatchOperation, ScanOptions, StoreStats, ReplicationInfo, ReplicaHandle, SystemView } from './api-types.js';
import type { BatchOperation, DeleteOptions, Entry, PutOptions, ReplicaHandle, ReplicationInfo, ScanOptions, StoreStats, SystemView } from './api-types.js';

const PUT_OPTIONS = optionNames<PutOptions>({ ttlMs: true, ifVersion: true });
const DELETE_OPTIONS = optionNames<DeleteOptions>({ ifVersion: true });
const SCAN_OPTIONS = optionNames<ScanOptions>({ prefix: true, start: true, end: true, limit: true, reverse: true });
const BATCH_PUT_FIELDS = optionNames<Extract<BatchOperation, { type: 'put' }>>({ type: true, key: true, value: true, ttlMs: true });
const BATCH_DEL_FIELDS = optionNames<Extract<BatchOperation, { type: 'del' }>>({ type: true, key: true });

const SCAN_PAGE = 1024;
/** Appended to a key: the first key after it. */
const ZERO = Buffer.from([0]);
/** TTL sweep: every SWEEP_MS, examine at most SWEEP_BUDGET entries (bounded work per tick). */
const SWEEP_MS = 100;
const SWEEP_BUDGET = 2000;
/**
 * Backpressure under `interval` and `none`: a write resolves at once unless more than this
 * many records are still unwritten, then it waits for the flusher like `always` does. This
 * bounds the WAL queue (and gives a pure-TS flusher a turn) when a caller loops on
 * `await put()`, whose microtasks would otherwise never let I/O callbacks run.
 */
const MAX_UNFLUSHED = 8192n;

/** Keys of the data API: anything but `_sys.`. */
const dataKey = (key: Key): Buffer => toKey(key, false);
/** has(): getInto with no room tells present (>= 0 or < -1) from absent (-1) without a copy. */
const NO_ROOM = Buffer.alloc(0);

interface Waiter {
  lsn: bigint;
  resolve: () => void;
  reject: (err: KvError) => void;
}

/**
 * V and K: what values and keys decode to, by the store's valueEncoding / keyEncoding (Buffer
 * for both by default). Encoding happens here, in TypeScript; with the default binary encoding
 * there is no codec and each call pays one boolean check (docs/api.md, "Encodings and types").
 */
export class Store<V = Buffer, K = Buffer> {
  #engine: Engine;
  readonly #kind: 'native' | 'js';
  readonly #opts: ResolvedOptions;
  readonly #keys: Codec;
  readonly #values: Codec;
  /**
   * Both encodings binary (the default): get, getInto, put and delete then take exactly the
   * path they took before encodings existed, after this one check (issue 20: the binary path
   * must not get slower).
   */
  readonly #binary: boolean;
  /** Writes waiting for durability, in LSN order (this handle submits LSNs in order). */
  #waiters: Waiter[] = [];
  #waitHead = 0;
  #durableLsn = 0n;
  #ioError: KvError | null = null;
  #sweeper: NodeJS.Timeout;
  #expired = 0;
  /** The replication role this store plays when one is attached (ts/replication/node.ts). */
  #replica: ReplicaHandle | null = null;
  /** Replication's synchronous-commit wait, on a primary with synchronous standbys. */
  #commitGate: ((lsn: bigint) => Promise<void>) | null = null;
  /**
   * _promote() is running: the engine may already take writes (the native engine flips its
   * role on its own thread) but the TIMELINE record must be the first record of the new
   * timeline, so writes are refused until it is written.
   */
  #promoting = false;

  static #promotingError(): KvError {
    return new KvError('READ_ONLY', 'this store is being promoted to primary; retry in a moment');
  }
  /** The WAL tail of watch(), made at the first watch. */
  #watchHub: WatchHub | null = null;

  /** @internal Use open(). */
  constructor(engine: Engine, kind: 'native' | 'js', opts: ResolvedOptions, keys: Codec = BINARY, values: Codec = BINARY) {
    this.#engine = engine;
    this.#kind = kind;
    this.#opts = opts;
    this.#keys = keys;
    this.#values = values;
    this.#binary = keys === BINARY && values === BINARY;
    this.#durableLsn = engine.stats().durableLsn;
    this.#sweeper = setInterval(() => {
      try {
        if (!this.#promoting) this.#expired += this.#engine.sweep(opts.clock(), SWEEP_BUDGET);
      } catch {
        clearInterval(this.#sweeper); // closed underneath us
      }
    }, SWEEP_MS);
    this.#sweeper.unref();
  }

  /** @internal The engine's durable-LSN callback. */
  _onDurable(lsn: bigint, code?: string, message?: string): void {
    if (lsn > this.#durableLsn) this.#durableLsn = lsn;
    const w = this.#waiters;
    let i = this.#waitHead;
    for (; i < w.length && w[i]!.lsn <= lsn; i++) w[i]!.resolve();
    if (code) {
      this.#ioError = new KvError('IO_ERROR', message ?? 'WAL write failed');
      for (; i < w.length; i++) w[i]!.reject(this.#ioError);
    }
    if (i === w.length) {
      this.#waiters = [];
      this.#waitHead = 0;
    } else {
      this.#waitHead = i;
    }
  }

  /**
   * A promise that settles when `lsn` is durable as the policy defines it and, on a primary
   * with synchronous standbys, when the commit gate (their quorum) confirmed it too.
   */
  #durable<T>(lsn: bigint, result: T): Promise<T> {
    const local = this.#locallyDurable(lsn, result);
    const gate = this.#commitGate;
    return gate === null ? local : local.then((r) => gate(lsn).then(() => r));
  }

  #locallyDurable<T>(lsn: bigint, result: T): Promise<T> {
    if (lsn <= this.#durableLsn) return Promise.resolve(result);
    if (this.#opts.config.durability !== 0 && lsn - this.#durableLsn <= MAX_UNFLUSHED) return Promise.resolve(result);
    if (this.#ioError) return Promise.reject(this.#ioError);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push({ lsn, resolve: () => resolve(result), reject });
    });
  }

  /**
   * An outcome decided on state that may hold writes not yet acknowledged — a compare that
   * failed (VERSION_MISMATCH), an incr on a pending non-number (NOT_A_NUMBER), a delete of a key
   * whose pending delete already removed it — is reported only once every write submitted
   * before it is acknowledged, as a write of its own would be. Otherwise a client that hears the
   * refusal and then reads may not see the write that caused it (reads show acknowledged
   * writes only, under `always`), and after a crash that write may never have existed: not
   * linearizable (test/store.test.ts: "a refusal that reveals a pending write").
   */
  #afterSubmitted<T>(result: T): Promise<T> {
    let last: bigint;
    try {
      last = this.#engine.walPositions().nextLsn - 1n;
    } catch {
      return Promise.resolve(result);
    }
    return this.#whenAcknowledged(last, result);
  }

  /** Resolves with result once every write up to last is acknowledged (at once when it already is). */
  #whenAcknowledged<T>(last: bigint, result: T): Promise<T> {
    return last <= this.#durableLsn && this.#commitGate === null ? Promise.resolve(result) : this.#durable(last, result);
  }

  /**
   * @internal A linearizable read (ts/server/routing.ts): resolves with the LSN of the last
   * record submitted so far, once every write up to it is acknowledged as a write of its own
   * would be — durable here and, on a primary with synchronous standbys, confirmed by their
   * quorum (the commit gate, which refuses with FENCED when this node lost its lease). A
   * read that waits for it after reading shows nothing a failover could take back.
   */
  _acknowledgedThrough(): Promise<bigint> {
    let last: bigint;
    try {
      last = this.#engine.walPositions().nextLsn - 1n;
    } catch (err) {
      return Promise.reject(toKvError(err));
    }
    return this.#whenAcknowledged(last, last);
  }

  #refuse(err: unknown): Promise<never> {
    const e = toKvError(err);
    if (e.code !== 'VERSION_MISMATCH' && e.code !== 'NOT_A_NUMBER') return Promise.reject(e);
    return this.#afterSubmitted(undefined).then(
      () => Promise.reject(e),
      () => Promise.reject(e),
    );
  }

  #expiry(ttlMs: number | undefined): number {
    if (ttlMs === undefined) return 0;
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new KvError('INVALID_ARGUMENT', `ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`);
    }
    return Math.ceil(this.#opts.clock() + ttlMs);
  }

  static #version(v: bigint | undefined): bigint {
    if (v === undefined) return -1n;
    if (typeof v !== 'bigint' || v < 0n) throw new KvError('INVALID_ARGUMENT', 'ifVersion must be a non-negative bigint');
    return v;
  }

  #call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw toKvError(err);
    }
  }

  /** A data-API key: encoded with the keyEncoding, then checked (not empty, not `_sys.`). */
  readonly #key = (key: unknown): Buffer => dataKey(this.#keys.encode === null ? (key as Key) : encodeWith(this.#keys, key, 'key'));

  /** A stored value decoded with the valueEncoding. */
  #decoded(v: Buffer | undefined): V | undefined {
    return (v === undefined || this.#values.decode === null ? v : decodeWith(this.#values, v, 'value')) as V | undefined;
  }

  /** The value, or undefined when absent or expired. Synchronous: reads never wait for the disk. */
  get(key: KeyInput<K>): V | undefined {
    if (this.#binary) return this.#get(dataKey(key as Key)) as V | undefined;
    return this.#decoded(this.#get(this.#key(key)));
  }

  /** Whether the key is present (and not expired); no value is copied or decoded. */
  has(key: KeyInput<K>): boolean {
    const k = this.#key(key);
    return this.#call(() => this.#engine.getInto(k, this.#opts.clock(), NO_ROOM)) !== -1;
  }

  /** get() for each key, in order; every key is checked before any is read. */
  getMany(keys: readonly KeyInput<K>[]): Array<V | undefined> {
    if (!Array.isArray(keys)) throw new KvError('INVALID_ARGUMENT', 'getMany needs an array of keys');
    const ks = keys.map(this.#key);
    return ks.map((k) => this.#decoded(this.#get(k)));
  }

  #get(k: Buffer): Buffer | undefined {
    try {
      return this.#engine.get(k, this.#opts.clock());
    } catch (err) {
      throw toKvError(err);
    }
  }

  /**
   * Zero-allocation read: copies the value into `target` and returns its length;
   * -1 when absent; throws INVALID_ARGUMENT when target is too small (the error says how big).
   */
  getInto(key: KeyInput<K>, target: Buffer): number {
    const k = this.#binary ? dataKey(key as Key) : this.#key(key);
    if (!Buffer.isBuffer(target)) throw new KvError('INVALID_ARGUMENT', 'target must be a Buffer');
    let n: number;
    try {
      n = this.#engine.getInto(k, this.#opts.clock(), target);
    } catch (err) {
      throw toKvError(err);
    }
    if (n < -1) throw new KvError('INVALID_ARGUMENT', `target holds ${target.length} bytes; the value needs ${-n - 2}`);
    return n;
  }

  getEntry(key: KeyInput<K>): Entry<V> | undefined {
    const e = this.#getEntry(this.#key(key));
    if (e === undefined || this.#values.decode === null) return e as Entry<V> | undefined;
    return { ...e, value: decodeWith(this.#values, e.value, 'value') as V };
  }

  #getEntry(k: Buffer): Entry | undefined {
    const e = this.#call(() => this.#engine.getEntry(k, this.#opts.clock()));
    if (!e) return undefined;
    return e[2] === 0 ? { value: e[0], version: e[1] } : { value: e[0], version: e[1], expiresAt: e[2] };
  }

  put(key: KeyInput<K>, value: ValueInput<V>, options: PutOptions = {}): Promise<{ version: bigint }> {
    if (this.#binary) return this.#put(dataKey, key as Key, value as Value, options);
    if (this.#values.encode === null) return this.#put(this.#key, key as Key, value as Value, options);
    let v: Value;
    try {
      v = encodeWith(this.#values, value, 'value');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#put(this.#key, key as Key, v, options);
  }

  #put(keyFn: (key: Key) => Buffer, key: Key, value: Value, options: PutOptions): Promise<{ version: bigint }> {
    try {
      checkOptions('put', options, PUT_OPTIONS);
      const k = keyFn(key);
      const v = toValue(value);
      const exp = this.#expiry(options.ttlMs);
      const ifv = Store.#version(options.ifVersion);
      if (this.#promoting) throw Store.#promotingError();
      const lsn = this.#engine.put(k, v, exp, ifv, this.#opts.clock());
      return this.#durable(lsn, { version: lsn });
    } catch (err) {
      return this.#refuse(err);
    }
  }

  delete(key: KeyInput<K>, options: DeleteOptions = {}): Promise<{ deleted: boolean }> {
    return this.#delete(this.#binary ? dataKey : this.#key, key as Key, options);
  }

  #delete(keyFn: (key: Key) => Buffer, key: Key, options: DeleteOptions): Promise<{ deleted: boolean }> {
    try {
      checkOptions('delete', options, DELETE_OPTIONS);
      const k = keyFn(key);
      const ifv = Store.#version(options.ifVersion);
      if (this.#promoting) throw Store.#promotingError();
      const lsn = this.#engine.del(k, ifv, this.#opts.clock());
      return lsn === 0n ? this.#afterSubmitted({ deleted: false }) : this.#durable(lsn, { deleted: true });
    } catch (err) {
      return this.#refuse(err);
    }
  }

  /** Atomically adds `by` to the decimal integer at key (absent = 0) and returns the result. */
  incr(key: KeyInput<K>, by: bigint = 1n): Promise<bigint> {
    try {
      const k = this.#key(key);
      if (typeof by !== 'bigint') throw new KvError('INVALID_ARGUMENT', 'by must be a bigint');
      if (this.#promoting) throw Store.#promotingError();
      const [lsn, result] = this.#call(() => this.#engine.incr(k, by, this.#opts.clock()));
      return this.#durable(lsn, result);
    } catch (err) {
      return this.#refuse(err);
    }
  }

  /** Applies every operation as one WAL record: after a crash, all of them or none. */
  batch(ops: readonly BatchOperation<V, K>[]): Promise<{ version: bigint }> {
    if (this.#values.encode === null || !Array.isArray(ops)) return this.#batch(this.#binary ? dataKey : this.#key, ops as readonly BatchOperation[]);
    let encoded: BatchOperation[];
    try {
      encoded = ops.map((op) => (op?.type === 'put' ? { ...op, value: encodeWith(this.#values, op.value, 'value') } : op) as BatchOperation);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#batch(this.#key, encoded);
  }

  #batch(keyFn: (key: Key) => Buffer, ops: readonly BatchOperation[]): Promise<{ version: bigint }> {
    try {
      if (!Array.isArray(ops) || ops.length === 0) throw new KvError('INVALID_ARGUMENT', 'batch needs a non-empty array of operations');
      const encoded: BatchOp[] = ops.map((op, i) => {
        if (op?.type === 'put') {
          checkOptions(`batch op ${i}`, op, BATCH_PUT_FIELDS);
          return { type: 'put', key: keyFn(op.key), value: toValue(op.value), expiresAt: this.#expiry(op.ttlMs) };
        }
        if (op?.type === 'del') {
          checkOptions(`batch op ${i}`, op, BATCH_DEL_FIELDS);
          return { type: 'del', key: keyFn(op.key) };
        }
        throw new KvError('INVALID_ARGUMENT', `batch operation ${i} needs type 'put' or 'del'`);
      });
      const body = encodeBatchBody(encoded);
      if (this.#promoting) throw Store.#promotingError();
      const lsn = this.#call(() => this.#engine.batch(body, this.#opts.clock()));
      return this.#durable(lsn, { version: lsn });
    } catch (err) {
      return Promise.reject(toKvError(err));
    }
  }

  /**
   * An etcd-style transaction: every compare is evaluated, then the success branch (all
   * held) or the failure branch runs; compares and branch are atomic and the branch's writes
   * are one WAL record. Serializable: see docs/api.md, "Transactions" (and ts/store/txn.ts).
   */
  txn(request: TxnRequest<V, K>): Promise<TxnResponse<V>> {
    return runTxn<V>({
      engine: () => this.#engine,
      now: () => this.#opts.clock(),
      key: this.#key,
      value: (v) => (this.#values.encode === null ? (v as Value) : encodeWith(this.#values, v, 'value')),
      expiry: (ttlMs) => this.#expiry(ttlMs),
      decode: (v) => (this.#values.decode === null ? v : decodeWith(this.#values, v, 'value')) as V,
      durable: (lsn, result) => this.#durable(lsn, result),
    }, request as TxnRequest<unknown, unknown>);
  }

  /**
   * The change feed of a key range ({} = every key but `_sys.`): events in LSN order, from the
   * WAL, so every thread's writes (and on a standby, the primary's) appear. `fromVersion` and
   * `maxQueue` go in the range object or in `options` (not both). See ts/store/watch.ts and
   * docs/api.md, "Watch".
   */
  watch(range: WatchRange & WatchOptions, options: WatchOptions = {}): Watcher<V, K> {
    return this._watch(range, options, null);
  }

  /** @internal watch() with a key filter (the server's RBAC: only keys the caller may read). */
  _watch(range: WatchRange & WatchOptions, options: WatchOptions, filter: ((key: Buffer) => boolean) | null): Watcher<V, K> {
    this.#watchHub ??= new WatchHub(() => this._replication());
    try {
      return this.#watchHub.watch(range, options, eventDecoder(this.#keys, this.#values), filter) as Watcher<V, K>;
    } catch (err) {
      throw toKvError(err);
    }
  }

  /**
   * Entries in key order (bytes, unsigned), fetched lazily in pages. The options are checked
   * here, at the call; the engine is first asked at the first next().
   */
  scan(options: ScanOptions<K> = {}): Generator<[K, V]> {
    const raw = this.#scan(scanBounds(options, this.#keys) as ScanOptions<Buffer>, false);
    if (this.#keys.decode === null && this.#values.decode === null) return raw as Generator<[K, V]>;
    return mapEntries(raw, entryMapper({}, this.#keys, this.#values)) as Generator<[K, V]>;
  }

  /**
   * Level-style range read: `for await (const [k, v] of db.iterator({ gte, lt }))`, or the sync
   * form `for (const [k, v] of db.iterator(...))`. Options are checked here, at the call.
   */
  iterator<const O extends IteratorOptions<K> = Record<never, never>>(options?: O): StoreIterator<IteratorEntry<K, V, O>> {
    const o: IteratorOptions<unknown> = options === undefined ? {} : options;
    const raw = this.#scan(iteratorRange(o, this.#keys), false);
    return new StoreIterator(raw, entryMapper(o, this.#keys, this.#values) as (k: Buffer, v: Buffer) => IteratorEntry<K, V, O>);
  }

  #scan(options: ScanOptions<Buffer>, system: boolean): Generator<[Buffer, Buffer]> {
    checkOptions('scan', options, SCAN_OPTIONS);
    const [start, end] = scanRange(options);
    const limit = options.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new KvError('INVALID_ARGUMENT', 'limit must be a non-negative integer');
    if (options.reverse !== undefined && typeof options.reverse !== 'boolean') throw new KvError('INVALID_ARGUMENT', 'reverse must be a boolean');
    const reverse = options.reverse === true;
    const ranges = system ? systemRanges(start, end) : dataRanges(start, end);
    if (reverse) ranges.reverse();
    return this.#pages(ranges, limit, reverse);
  }

  /**
   * Yields up to `limit` entries of `ranges` (disjoint, in scan order), a page at a time.
   * Each page resumes from the last key the engine returned, and a range is done when the
   * engine returns fewer entries than asked for (its contract: fewer only when none are left).
   * Nothing is filtered here, so what the engine returns and what is yielded are the same
   * entries and the two counts cannot drift apart.
   */
  *#pages(ranges: Array<[Buffer | null, Buffer | null]>, limit: number, reverse: boolean): Generator<[Buffer, Buffer]> {
    let left = limit;
    for (let [start, end] of ranges) {
      while (left > 0) {
        const ask = Math.min(SCAN_PAGE, left);
        const page = this.#call(() => this.#engine.scan(start, end, ask, reverse, this.#opts.clock()));
        for (let i = 0; i < page.length; i += 2) yield [page[i]!, page[i + 1]!];
        left -= page.length / 2;
        if (page.length < ask * 2) break;
        const last = page[page.length - 2]!;
        if (reverse) end = last;
        else start = Buffer.concat([last, ZERO]);
      }
    }
  }

  /** Number of live entries, optionally under a prefix. */
  count(prefix?: Key): number {
    const [start, end] = scanRange({ prefix });
    const now = this.#opts.clock();
    let n = 0;
    for (const [s, e] of dataRanges(start, end)) n += this.#call(() => this.#engine.count(s, e, now));
    return n;
  }

  /** Runs a fuzzy checkpoint now; reads and writes continue meanwhile. Resolves with its redo LSN. */
  async checkpoint(): Promise<{ redoLsn: bigint }> {
    try {
      return { redoLsn: await this.#call(() => this.#engine.checkpoint(this.#opts.clock())) };
    } catch (err) {
      throw toKvError(err);
    }
  }

  /**
   * A base backup (snapshot + the WAL to make it consistent + manifest.json) into a directory
   * or an `s3://bucket/prefix` location, while reads and writes go on (docs/backup.md).
   * Resolves with the manifest; restore with restoreBackup() or `kvctl restore`.
   */
  async backup(location: Location, options: BackupOptions = {}): Promise<Manifest> {
    const { createBackup } = await import('../backup/create.js');
    return createBackup(this, location, options);
  }

  /** @internal The catalog's access to `_sys.` keys; see systemView(). */
  _systemView(): SystemView {
    const key = (k: Key): Buffer => toSystemKey(k);
    return {
      get: (k) => this.#get(key(k)),
      getEntry: (k) => this.#getEntry(key(k)),
      put: (k, v, o = {}) => this.#put(key, k, v, o),
      claim: (k, v, ifVersion) => {
        let lsn: bigint;
        try {
          lsn = this.#engine.put(key(k), toValue(v), 0, Store.#version(ifVersion), this.#opts.clock());
        } catch (err) {
          const e = toKvError(err);
          if (e.code === 'VERSION_MISMATCH') return null;
          throw e;
        }
        return this.#durable(lsn, { version: lsn });
      },
      delete: (k, o = {}) => this.#delete(key, k, o),
      batch: (ops) => this.#batch(key, ops),
      scan: (o = {}) => this.#scan(o, true),
      now: () => this.#opts.clock(),
      count: () => this.#call(() => this.#engine.count(SYSTEM_PREFIX, SYSTEM_END, this.#opts.clock())),
    };
  }

  stats(): StoreStats {
    return { ...this.#call(() => this.#engine.stats()), engine: this.#kind, durability: this.#opts.durability, expired: this.#expired };
  }

  /** `await using db = await open(...)`: close() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Flushes, checkpoints and releases the directory. Every later call fails with CLOSED. */
  // ---- replication hooks (ts/replication; not public API)

  /** @internal The engine's WAL primitives, for the stream server and the standby loop. */
  _replication(): ReplicationPort {
    return enginePort(this.#engine, this.#kind, this.#opts.config.dir);
  }

  /** @internal ts/replication attaches the node that follows a primary or serves standbys. */
  _attachReplica(replica: ReplicaHandle | null): void {
    this.#replica = replica;
  }

  /**
   * Where this store stands in replication: its role, and on a replica how far it has
   * applied the primary's WAL and how stale its reads may be. A store with no replication
   * attached is a primary of its own: connected false, lag 0.
   */
  replication(): ReplicationInfo {
    if (this.#replica) return this.#replica.info();
    const p = this.#call(() => this.#engine.walPositions());
    return { role: this.#call(() => this.#engine.role()), connected: false, primaryUrl: null, primaryLsn: p.flushedLsn, appliedLsn: p.appliedLsn, lagMs: 0, lastError: null };
  }

  /** @internal Every later write also waits for gate(lsn) (synchronous standbys). */
  _setCommitGate(gate: ((lsn: bigint) => Promise<void>) | null): void {
    this.#commitGate = gate;
  }

  /**
   * @internal Standby only: closes the engine without a checkpoint (a rewind must find the
   * WAL as it is), runs fn on the closed directory, and opens it again as a standby. Reads
   * in between fail with CLOSED; the Store object stays the same.
   */
  async _reset(fn: (dir: string) => void): Promise<void> {
    if (this.#opts.config.role !== 'standby') throw new KvError('INVALID_ARGUMENT', 'only a standby can be reset');
    try {
      await this.#engine.close({ checkpoint: false });
    } catch (err) {
      throw toKvError(err);
    }
    fn(this.#opts.config.dir);
    const holder: { ref?: Store<unknown, unknown> } = { ref: this as Store<unknown, unknown> };
    try {
      this.#engine = openEngine(this.#kind, this.#opts, holder);
    } catch (err) {
      throw toKvError(err);
    }
    this.#durableLsn = this.#engine.stats().durableLsn;
  }

  /**
   * @internal Standby → primary: the engine stops taking replicated records and takes
   * client writes, and the first record of the new timeline (kind TIMELINE, skipped by
   * readers that do not know it) is written at switchLsn and made durable.
   */
  async _promote(timeline: string, parent: string, switchLsn: bigint): Promise<void> {
    this.#promoting = true;
    try {
      await this.#engine.promote();
      this.#opts.config.role = 'primary';
      const lsn = this.#engine.writeMarker(KIND_TIMELINE, encodeTimelineBody(timeline, parent, this.#opts.clock()));
      if (lsn !== switchLsn) throw new KvError('INTERNAL', `the TIMELINE record got LSN ${lsn}, expected ${switchLsn}`);
      this.#promoting = false;
      await this.#locallyDurable(lsn, undefined);
    } catch (err) {
      throw toKvError(err);
    } finally {
      this.#promoting = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#watchHub?.closeAll();
    const replica = this.#replica;
    this.#replica = null;
    await replica?.stop();
    try {
      await this.#engine.close();
    } catch (err) {
      throw toKvError(err);
    }
  }
}

/** The same store, restricted to keys under `_sys.` (SystemView): the system catalog's access. */
export function systemView(store: Store<unknown, unknown>): SystemView {
  return store._systemView();
}

// open() lives in open.ts (opening, engine choice, encodings, the replica); re-exported here.
export { open } from './open.js';
