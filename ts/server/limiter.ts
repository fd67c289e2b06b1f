/**
 * kvstored's rate limits, one set per server shared by its HTTP routes and its gRPC services,
 * so a client gets one budget whichever port it uses: per client IP (every request, logins
 * and bad credentials included), per principal (user or API key, once authenticated), and
 * the stricter per-IP login limit.
 */
import type { Principal } from '../auth/service.js';

/** A fixed-window counter per key per minute; enough for abuse limits, no dependency on timers per key. */
export class Limiter {
  #window = 0;
  #counts = new Map<string, number>();
  constructor(readonly perMinute: number) {}
  /** Seconds to wait when over the limit, else 0. */
  hit(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = Date.now();
    const w = Math.floor(now / 60_000);
    if (w !== this.#window) {
      this.#window = w;
      this.#counts.clear();
    }
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    return n > this.perMinute ? Math.ceil(((w + 1) * 60_000 - now) / 1000) : 0;
  }
}

export class RateLimits {
  readonly ip: Limiter;
  readonly principal: Limiter;
  readonly login: Limiter;
  /** Per-minute limits; 0 = unlimited. */
  constructor(rateLimit: number, loginRateLimit: number) {
    this.ip = new Limiter(rateLimit);
    this.principal = new Limiter(rateLimit);
    this.login = new Limiter(loginRateLimit);
  }

  /** The per-principal limit's key: an API key counts apart from its owner's sessions. */
  static principalKey(p: Principal): string {
    return p.keyId ? `k:${p.keyId}` : `u:${p.user}`;
  }
}
