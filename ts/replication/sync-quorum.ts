/**
 * Synchronous commit with ANY N standbys (PostgreSQL's `synchronous_standby_names = 'ANY N
 * (*)'` with `synchronous_commit = on`): a write at LSN x is acknowledged once the local
 * fdatasync covers x *and* at least N standbys report a flushed LSN >= x. No I/O here: the
 * stream server feeds in flushed LSNs, the store waits on `wait(lsn)`; `now` and the timer
 * are injectable so every case is a unit test.
 *
 * Never silently degraded: with fewer than N standbys connected, writes wait; a wait longer
 * than `timeoutMs` fails with SYNC_TIMEOUT (the write *is* durable locally and will reach
 * standbys later — the error says it was not confirmed, not that it was lost).
 */
import { KvError } from '../errors.js';

interface Waiter {
  lsn: bigint;
  deadline: number;
  resolve: () => void;
  reject: (e: KvError) => void;
}

export interface QuorumClock {
  now(): number;
  /** Calls fn after ms; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: QuorumClock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export class SyncQuorum {
  private readonly flushed = new Map<string, bigint>();
  /** Waiting writes in LSN order (writes arrive in nearly increasing LSN order). */
  private readonly waiters: Waiter[] = [];
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  private confirmed = 0n;
  /** Cluster mode: only these standbys count (null: every connected standby counts). */
  private eligible: ReadonlySet<string> | null = null;
  private waitCount = 0;
  private timeoutCount = 0;

  constructor(
    /** How many standbys must confirm; 0 = asynchronous (wait resolves at once). */
    readonly required: number,
    readonly timeoutMs: number,
    private readonly clock: QuorumClock = realClock,
  ) {
    if (!Number.isInteger(required) || required < 0) throw new KvError('INVALID_ARGUMENT', 'synchronous_standbys must be an integer >= 0');
    if (!(timeoutMs > 0)) throw new KvError('INVALID_ARGUMENT', 'the synchronous commit timeout must be > 0 ms');
  }

  /** The highest LSN that `required` standbys have flushed (0 while fewer are connected). */
  get confirmedLsn(): bigint {
    return this.confirmed;
  }

  /** Standbys whose flushed LSN counts now, highest first: the current synchronous set. */
  syncSet(): string[] {
    return this.counted().sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1] > b[1] ? -1 : 1)).slice(0, this.required).map(([id]) => id);
  }

  /**
   * Cluster mode (ts/cluster/sync-publisher.ts): from now on only these standbys' reports
   * count toward the quorum; null = every connected standby (the default). Narrowing never
   * un-confirms what was confirmed.
   */
  setEligible(ids: readonly string[] | null): void {
    this.eligible = ids === null ? null : new Set(ids);
    this.recompute();
  }

  /** Every connected standby's flushed LSN as reported (eligible or not). */
  reported(): ReadonlyMap<string, bigint> {
    return this.flushed;
  }

  private counted(): Array<[string, bigint]> {
    const all = [...this.flushed.entries()];
    const e = this.eligible;
    return e === null ? all : all.filter(([id]) => e.has(id));
  }

  /** A standby reported its flushed LSN (never moves back: a late, older report is ignored). */
  report(standby: string, flushedLsn: bigint): void {
    const prev = this.flushed.get(standby);
    if (prev !== undefined && prev >= flushedLsn) return;
    this.flushed.set(standby, flushedLsn);
    this.recompute();
  }

  /** A standby disconnected: it no longer counts toward the quorum. */
  remove(standby: string): void {
    if (this.flushed.delete(standby)) this.recompute();
  }

  /** Resolves once `required` standbys have flushed lsn; rejects with SYNC_TIMEOUT after timeoutMs. */
  wait(lsn: bigint): Promise<void> {
    if (this.required === 0 || lsn <= this.confirmed) return Promise.resolve();
    this.waitCount++;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { lsn, deadline: this.clock.now() + this.timeoutMs, resolve, reject };
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.lsn > lsn) i--;
      this.waiters.splice(i, 0, w);
      this.arm(w.deadline);
    });
  }

  /** Fails every waiter (the primary is closing or stepping down). */
  failAll(error: KvError): void {
    const all = this.waiters.splice(0);
    this.disarm();
    for (const w of all) w.reject(error);
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Writes that had to wait (not confirmed already when they asked), since construction: metrics. */
  get waits(): number {
    return this.waitCount;
  }

  /** Writes failed with SYNC_TIMEOUT since construction: metrics. */
  get timeouts(): number {
    return this.timeoutCount;
  }

  private recompute(): void {
    if (this.required === 0) return;
    const lsns = this.counted().map(([, l]) => l).sort((a, b) => (a === b ? 0 : a > b ? -1 : 1));
    const q = lsns.length >= this.required ? lsns[this.required - 1]! : 0n;
    if (q <= this.confirmed) return;
    this.confirmed = q;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.lsn <= q) n++;
    if (n === 0) return;
    for (const w of this.waiters.splice(0, n)) w.resolve();
    if (this.waiters.length === 0) this.disarm();
  }

  private arm(deadline: number): void {
    if (deadline >= this.timerAt) return;
    this.disarm();
    this.timerAt = deadline;
    this.cancelTimer = this.clock.after(Math.max(0, deadline - this.clock.now()), () => this.expire());
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
  }

  private expire(): void {
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    const expired: Waiter[] = [];
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.deadline <= now) expired.push(...this.waiters.splice(i, 1));
    }
    const have = this.flushed.size;
    this.timeoutCount += expired.length;
    for (const w of expired.reverse()) {
      w.reject(new KvError('SYNC_TIMEOUT', `LSN ${w.lsn} is durable here but was not confirmed by ${this.required} synchronous standby(s) within ${this.timeoutMs} ms (${have} connected); it will reach them when they catch up`));
    }
    const next = Math.min(...this.waiters.map((w) => w.deadline));
    if (Number.isFinite(next)) this.arm(next);
  }
}
