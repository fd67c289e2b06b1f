/**
 * The TypeScript side of the native binding: wraps the addon's engine handle and routes
 * the hot calls (get, getInto, put, delete) through a scratch buffer registered with the
 * handle once. The key (and value) are copied into it and the call passes only lengths
 * and numbers, so it reads no typed-array info, creates no BigInt and, for getInto,
 * allocates nothing. Everything else, and anything too large for the scratch buffer,
 * goes straight to the handle. The wrapper also sits on the handle's durable callback, to
 * settle appendReplicated promises and call onFlushed listeners.
 */
import type {
  DurableCallback, Engine, EngineConfig, EngineRole, EngineStats, FlushedListener, LogCallback, RawEntry, WalChunk, WalPositions,
} from './types.js';

type RawReplication = 'readWal' | 'appendReplicated' | 'walPositions' | 'onFlushed' | 'retainWal' | 'close';

/** The addon's handle: the Engine interface plus the scratch-buffer fast paths. */
export interface NativeHandle extends Omit<Engine, RawReplication> {
  /** Resolves with [records, firstLsn, lastLsn]. */
  readWal(fromLsn: bigint, maxBytes: number): Promise<[Buffer, bigint, bigint]>;
  /** Checks and queues the records; returns the last LSN (durable, synced and applied once reported durable). */
  appendReplicated(records: Buffer, firstLsn: bigint): bigint;
  /** [nextLsn, durableLsn, flushedLsn, appliedLsn]. */
  walPositions(): [bigint, bigint, bigint, bigint];
  /** Returns a token for releaseWal. */
  retainWal(lsn: bigint): number;
  releaseWal(token: number): void;
  /** close(false) skips the final checkpoint. */
  close(checkpoint?: boolean): Promise<void>;
  setScratch(scratch: Buffer): void;
  setTarget(target: Buffer): void;
  /** Key in scratch[0, klen); the value lands in scratch[0, vlen). Returns vlen, -1 (absent) or -(vlen + 2) (too large). */
  getS(klen: number, now: number): number;
  /** Key in scratch[0, klen); the value lands in the registered target. Same results as getS. */
  getIntoT(klen: number, now: number): number;
  /** Key in scratch[0, klen), value right after it. Returns the LSN. */
  /** The LSN: a number while it is below 2^53, a bigint past it. */
  putS(klen: number, vlen: number, expiresAt: number, ifVersion: number, now: number): number | bigint;
  /** Key in scratch[0, klen). Returns the LSN, 0 when the key was absent. */
  delS(klen: number, ifVersion: number, now: number): number | bigint;
  /** Wakes the flusher for everything submitted so far (writes alone do not). */
  kick(): void;
  /** Like scan, packed into one Buffer: per entry u32le klen, u32le vlen, key, value. */
  scanP(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer;
}

/** What opens a handle: the addon (ts/binding.ts). */
export interface NativeOpener {
  openEngine(config: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): NativeHandle;
}

interface AppendWaiter {
  lsn: bigint;
  resolve: (lsn: bigint) => void;
  reject: (err: Error) => void;
}

const SCRATCH_BYTES = 64 * 1024;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class NativeEngine implements Engine {
  readonly #h: NativeHandle;
  readonly #s: Buffer;
  #target: Buffer | null = null;
  #kickQueued = false;
  readonly #kick = (): void => {
    this.#kickQueued = false;
    this.#h.kick();
  };

  /** appendReplicated promises, in LSN order (appends are taken in call order). */
  #appends: AppendWaiter[] = [];
  readonly #flushedListeners = new Set<FlushedListener>();
  #lastFlushed = -1n;

  private constructor(handle: NativeHandle) {
    this.#h = handle;
    this.#s = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    handle.setScratch(this.#s);
  }

  /** Opens a handle through `addon`; onDurable and onLog as for openEngine. */
  static open(addon: NativeOpener, config: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): NativeEngine {
    const holder: { engine?: NativeEngine } = {};
    const handle = addon.openEngine(
      config,
      (lsn, code, message) => {
        onDurable(lsn, code, message);
        const engine = holder.engine;
        if (engine) engine.#durable(lsn, code, message);
      },
      onLog,
    );
    holder.engine = new NativeEngine(handle);
    return holder.engine;
  }

  /**
   * After every durable notification. The core reports a durable LSN covering replicated
   * records only once they are fdatasynced and applied (native/core/engine_flusher.cc), so
   * the LSN settles the appends it covers.
   */
  #durable(lsn: bigint, code?: string, message?: string): void {
    const w = this.#appends;
    let i = 0;
    for (; i < w.length && w[i]!.lsn <= lsn; i++) w[i]!.resolve(w[i]!.lsn);
    if (code) {
      const err = Object.assign(new Error(message ?? 'WAL write failed'), { code });
      for (; i < w.length; i++) w[i]!.reject(err);
    }
    if (i > 0) this.#appends = w.slice(i);
    if (this.#flushedListeners.size === 0) return;
    let flushed: bigint;
    try {
      flushed = this.#h.walPositions()[2];
    } catch {
      return; // this handle was closed: nobody should still be listening
    }
    if (flushed <= this.#lastFlushed && !code) return;
    this.#lastFlushed = flushed;
    for (const l of [...this.#flushedListeners]) l(flushed, code);
  }

  /**
   * Group commit: the flusher is woken once per JS turn, after the turn's microtasks, so
   * every write the turn submits (say the 256 a burst of acks sets off) shares one
   * fdatasync instead of the first riding alone.
   */
  #wrote(): void {
    if (this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(this.#kick);
  }

  get(key: Buffer, now: number): Buffer | undefined {
    if (key.length > SCRATCH_BYTES) return this.#h.get(key, now);
    this.#s.set(key, 0);
    const n = this.#h.getS(key.length, now);
    if (n >= 0) {
      const out = Buffer.allocUnsafe(n);
      this.#s.copy(out, 0, 0, n);
      return out;
    }
    return n === -1 ? undefined : this.#h.get(key, now);
  }

  getInto(key: Buffer, now: number, target: Buffer): number {
    if (key.length > SCRATCH_BYTES) return this.#h.getInto(key, now, target);
    if (target !== this.#target) {
      this.#h.setTarget(target);
      this.#target = target;
    }
    this.#s.set(key, 0);
    return this.#h.getIntoT(key.length, now);
  }

  getEntry(key: Buffer, now: number): RawEntry | undefined {
    return this.#h.getEntry(key, now);
  }

  put(key: Buffer, value: Buffer, expiresAt: number, ifVersion: bigint, now: number): bigint {
    const kl = key.length;
    const vl = value.length;
    this.#wrote();
    if (kl + vl > SCRATCH_BYTES || ifVersion > MAX_SAFE) return this.#h.put(key, value, expiresAt, ifVersion, now);
    this.#s.set(key, 0);
    this.#s.set(value, kl);
    return BigInt(this.#h.putS(kl, vl, expiresAt, Number(ifVersion), now));
  }

  del(key: Buffer, ifVersion: bigint, now: number): bigint {
    this.#wrote();
    if (key.length > SCRATCH_BYTES || ifVersion > MAX_SAFE) return this.#h.del(key, ifVersion, now);
    this.#s.set(key, 0);
    return BigInt(this.#h.delS(key.length, Number(ifVersion), now));
  }

  incr(key: Buffer, delta: bigint, now: number): [bigint, bigint] {
    this.#wrote();
    return this.#h.incr(key, delta, now);
  }

  batch(body: Buffer, now: number): bigint {
    this.#wrote();
    return this.#h.batch(body, now);
  }

  batchIf(body: Buffer, checks: Buffer, now: number): bigint {
    if (body.length > 0) this.#wrote();
    return this.#h.batchIf(body, checks, now);
  }

  /** The returned keys and values are views of one page-sized Buffer. */
  scan(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer[] {
    const packed = this.#h.scanP(start, end, limit, reverse, now);
    const out: Buffer[] = [];
    for (let off = 0; off < packed.length; ) {
      const kl = packed.readUInt32LE(off);
      const vl = packed.readUInt32LE(off + 4);
      off += 8;
      out.push(packed.subarray(off, off + kl));
      off += kl;
      out.push(packed.subarray(off, off + vl));
      off += vl;
    }
    return out;
  }

  count(start: Buffer | null, end: Buffer | null, now: number): number {
    return this.#h.count(start, end, now);
  }

  checkpoint(now: number): Promise<bigint> {
    return this.#h.checkpoint(now);
  }

  sweep(now: number, budget: number): number {
    return this.#h.sweep(now, budget);
  }

  stats(): EngineStats {
    return this.#h.stats();
  }

  close(options?: { checkpoint?: boolean }): Promise<void> {
    return this.#h.close(options?.checkpoint !== false);
  }

  writeMarker(kind: number, body: Buffer): bigint {
    const lsn = this.#h.writeMarker(kind, body);
    this.#h.kick();
    return lsn;
  }

  retainWal(lsn: bigint): () => void {
    const token = this.#h.retainWal(lsn);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#h.releaseWal(token);
    };
  }

  async readWal(fromLsn: bigint, maxBytes: number): Promise<WalChunk> {
    const [records, firstLsn, lastLsn] = await this.#h.readWal(fromLsn, maxBytes);
    return { records, firstLsn, lastLsn };
  }

  appendReplicated(records: Buffer, firstLsn: bigint): Promise<bigint> {
    let lsn: bigint;
    try {
      lsn = this.#h.appendReplicated(records, firstLsn);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<bigint>((resolve, reject) => {
      this.#appends.push({ lsn, resolve, reject });
    });
  }

  async promote(): Promise<void> {
    await this.#h.promote();
  }

  walPositions(): WalPositions {
    const [nextLsn, durableLsn, flushedLsn, appliedLsn] = this.#h.walPositions();
    return { nextLsn, durableLsn, flushedLsn, appliedLsn };
  }

  role(): EngineRole {
    return this.#h.role();
  }

  onFlushed(listener: FlushedListener): () => void {
    this.#flushedListeners.add(listener);
    return () => {
      this.#flushedListeners.delete(listener);
    };
  }
}
