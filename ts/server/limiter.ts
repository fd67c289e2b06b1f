/**
 * kvstored's rate limits, one set per server shared by its HTTP routes and its gRPC services,
 * so a client gets one budget whichever port it uses: per client IP (every request, logins
 * and bad credentials included), per principal (user or API key, once authenticated), and
 * the stricter per-IP login limit. An IPv6 client is counted by its /64 (one subscriber's
 * allocation), as @fastify/rate-limit does; why these are not that plugin: docs/security.md,
 * "Rate limits: why kvstored's own" (issue 19, measured with bench/rate-limit.ts).
 */
import { isIPv6 } from 'node:net';
import type { Principal } from '../auth/service.js';

/** A fixed-window counter per key per minute; enough for abuse limits, no dependency on timers per key. */
export class Limiter {
  #window = 0;
  #counts = new Map<string, number>();
  /** `keyOf` maps a key to the one it is counted under (the identity by default). */
  constructor(readonly perMinute: number, private readonly keyOf: (key: string) => string = (k) => k) {}
  /** Seconds to wait when over the limit, else 0. */
  hit(rawKey: string): number {
    if (this.perMinute <= 0) return 0;
    const key = this.keyOf(rawKey);
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
    this.ip = new Limiter(rateLimit, RateLimits.ipKey);
    this.principal = new Limiter(rateLimit);
    this.login = new Limiter(loginRateLimit, RateLimits.ipKey);
  }

  /**
   * The per-IP limits' key: an IPv4 address as it is (an IPv4-mapped IPv6 address as its IPv4
   * form), an IPv6 address as its /64, so that a client holding a /64 (2^64 addresses) has one
   * budget, not one per address. Anything that is not an IPv6 address is taken as it is.
   */
  static ipKey(ip: string): string {
    if (!ip.includes(':')) return ip; // IPv4, the common case: nothing to parse
    const addr = ip.split('%')[0]!.toLowerCase(); // no zone id (fe80::1%eth0)
    if (!isIPv6(addr)) return ip;
    const hextets = (part: string): string[] => {
      if (part === '') return [];
      const groups = part.split(':');
      const last = groups[groups.length - 1]!;
      if (!last.includes('.')) return groups;
      const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
      return [...groups.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    };
    const gap = addr.indexOf('::');
    const head = hextets(gap < 0 ? addr : addr.slice(0, gap));
    const tail = gap < 0 ? [] : hextets(addr.slice(gap + 2));
    const g = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail].map((x) => parseInt(x, 16));
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
    return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
  }

  /** The per-principal limit's key: an API key counts apart from its owner's sessions. */
  static principalKey(p: Principal): string {
    return p.keyId ? `k:${p.keyId}` : `u:${p.user}`;
  }
}
