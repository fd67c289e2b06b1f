/**
 * This node's etcd lease and its fence deadline. Every key the node owns (its member key, the
 * leader key while primary) is bound to it, so etcd deletes them when renewals stop.
 *
 * Fencing: etcd counts a lease's TTL from when it *receives* a keep-alive, which is after we
 * *sent* it. So `sent + TTL` of the last keep-alive that succeeded is never later than the
 * moment etcd may expire the lease; the fence deadline is that minus a margin (clock-rate
 * differences, event-loop stalls, etcd's own expiry check). When it passes without a newer
 * success, onFence() runs (from a timer, so a keep-alive call hanging on a stopped etcd does
 * not delay it). A keep-alive answered with TTL 0 (the lease is gone) fences at once.
 */
import type { Etcd } from './etcd.js';

export interface LeaseOptions {
  /** Requested TTL; etcd grants whole seconds, at least its minimum (see docs/cluster.md). */
  ttlMs: number;
  renewIntervalMs: number;
  onFence: (why: string) => void;
  /** Each successful keep-alive's round trip, seconds (metrics). */
  onRenew?: ((seconds: number) => void) | undefined;
}

export class Lease {
  readonly id: string;
  /** The TTL etcd granted, ms. */
  readonly ttlMs: number;
  readonly marginMs: number;
  #lastSentOk: number;
  #timer: NodeJS.Timeout | null = null;
  #fenceTimer: NodeJS.Timeout | null = null;
  #fenced = false;
  #stopped = false;

  private constructor(readonly etcd: Etcd, id: string, ttlMs: number, sentAt: number, readonly o: LeaseOptions) {
    this.id = id;
    this.ttlMs = ttlMs;
    this.marginMs = Math.max(100, Math.round(ttlMs / 5));
    this.#lastSentOk = sentAt;
  }

  static async grant(etcd: Etcd, o: LeaseOptions): Promise<Lease> {
    const sentAt = Date.now();
    const g = await etcd.grant(Math.max(1, Math.ceil(o.ttlMs / 1000)));
    const lease = new Lease(etcd, g.id, g.ttlSeconds * 1000, sentAt, o);
    lease.#armFence();
    lease.#schedule();
    return lease;
  }

  /** Until when this node may act on keys bound to the lease (ms since epoch). */
  get fenceDeadline(): number {
    return this.#lastSentOk + this.ttlMs - this.marginMs;
  }

  /** The lease is renewed recently enough to act on it now. */
  live(): boolean {
    return !this.#fenced && !this.#stopped && Date.now() < this.fenceDeadline;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  #fence(why: string): void {
    if (this.#fenced || this.#stopped) return;
    this.#fenced = true;
    this.#clear();
    this.o.onFence(why);
  }

  #armFence(): void {
    if (this.#fenceTimer) clearTimeout(this.#fenceTimer);
    this.#fenceTimer = setTimeout(() => this.#fence(`lease ${this.id} not renewed since ${new Date(this.#lastSentOk).toISOString()} (TTL ${this.ttlMs} ms)`), Math.max(0, this.fenceDeadline - Date.now()));
  }

  #schedule(): void {
    if (this.#fenced || this.#stopped) return;
    this.#timer = setTimeout(() => void this.#renew(), this.o.renewIntervalMs);
  }

  async #renew(): Promise<void> {
    const sent = Date.now();
    try {
      const ttl = await this.etcd.keepAlive(this.id);
      if (this.#fenced || this.#stopped) return;
      if (ttl <= 0) return this.#fence(`lease ${this.id} expired in etcd`);
      if (sent > this.#lastSentOk) this.#lastSentOk = sent;
      this.o.onRenew?.((Date.now() - sent) / 1000);
      this.#armFence();
    } catch {
      // counted by Etcd's onError; the fence timer decides
    }
    this.#schedule();
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#fenceTimer) clearTimeout(this.#fenceTimer);
    this.#timer = this.#fenceTimer = null;
  }

  /** Stops renewing; with revoke, deletes the lease (and its keys) in etcd now (best effort). */
  async stop(revoke: boolean): Promise<void> {
    this.#stopped = true;
    this.#clear();
    if (revoke) await this.etcd.revoke(this.id).catch(() => undefined);
  }
}
