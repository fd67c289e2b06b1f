/**
 * The TypeScript side of the native binding: wraps the addon's engine handle and routes
 * the hot calls (get, getInto, put, delete) through a scratch buffer registered with the
 * handle once. The key (and value) are copied into it and the call passes only lengths
 * and numbers, so it reads no typed-array info, creates no BigInt and, for getInto,
 * allocates nothing. Everything else, and anything too large for the scratch buffer,
 * goes straight to the handle.
 */
import type { Engine, EngineStats, RawEntry } from './types.js';

/** The addon's handle: the Engine interface plus the scratch-buffer fast paths. */
export interface NativeHandle extends Engine {
  setScratch(scratch: Buffer): void;
  setTarget(target: Buffer): void;
  /** Key in scratch[0, klen); the value lands in scratch[0, vlen). Returns vlen, -1 (absent) or -(vlen + 2) (too large). */
  getS(klen: number, now: number): number;
  /** Key in scratch[0, klen); the value lands in the registered target. Same results as getS. */
  getIntoT(klen: number, now: number): number;
  /** Key in scratch[0, klen), value right after it. Returns the LSN. */
  putS(klen: number, vlen: number, expiresAt: number, ifVersion: number, now: number): number;
  /** Key in scratch[0, klen). Returns the LSN, 0 when the key was absent. */
  delS(klen: number, ifVersion: number, now: number): number;
  /** Wakes the flusher for everything submitted so far (writes alone do not). */
  kick(): void;
  /** Like scan, packed into one Buffer: per entry u32le klen, u32le vlen, key, value. */
  scanP(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer;
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

  constructor(handle: NativeHandle) {
    this.#h = handle;
    this.#s = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    handle.setScratch(this.#s);
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

  close(): Promise<void> {
    return this.#h.close();
  }
}
