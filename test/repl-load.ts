/**
 * A mixed write load over kvstored's HTTP API, for the replication tests: plain puts, puts
 * with short TTLs (expiring while the test runs) and long ones (compared exactly), batches
 * with deletes, incr on shared counters, compare-and-swap (If-Match with the current ETag,
 * If-None-Match: *) and deletes, from several concurrent clients. Bounded by time and count.
 */
import type { KvNode } from './repl-cluster.js';

export interface LoadOptions {
  /** Stop after this long, ms. */
  ms: number;
  /** Concurrent clients. */
  clients?: number;
  /** And after this many operations in all. */
  maxOps?: number;
  /** Key prefix (distinct per round keeps rounds apart). */
  prefix?: string;
  /** Stop early when this resolves (e.g. the primary was killed). */
  stop?: Promise<unknown>;
}

export interface LoadResult {
  ops: number;
  /** 2xx answers. */
  ok: number;
  /** Non-2xx answers and failed requests by code (VERSION_MISMATCH from CAS races is expected). */
  errors: Record<string, number>;
}

const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};

export async function runLoad(node: KvNode, key: string, o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { ops: 0, ok: 0, errors: {} };
  const prefix = o.prefix ?? 'l';
  const deadline = Date.now() + o.ms;
  const maxOps = o.maxOps ?? 100_000;
  let stopped = false;
  void o.stop?.then(() => (stopped = true));
  const count = (status: number, text: string): void => {
    if (status >= 200 && status < 300) {
      result.ok++;
      return;
    }
    let code = `HTTP_${status}`;
    try {
      code = (JSON.parse(text) as { code?: string }).code ?? code;
    } catch {
      // not JSON
    }
    result.errors[code] = (result.errors[code] ?? 0) + 1;
  };
  const client = async (c: number): Promise<void> => {
    const rnd = seeded(c * 7919 + 1);
    const k = (n: number): string => `${prefix}-${c}-${n}`;
    while (!stopped && Date.now() < deadline && result.ops < maxOps) {
      result.ops++;
      const n = Math.floor(rnd() * 40);
      const pick = rnd();
      try {
        let r;
        if (pick < 0.3) {
          r = await node.api('PUT', `/v1/kv/${k(n)}`, { key, raw: `v${result.ops}-${'x'.repeat(Math.floor(rnd() * 200))}` });
        } else if (pick < 0.4) {
          r = await node.api('PUT', `/v1/kv/${prefix}-ttl-${c}-${n}?ttl=${(0.2 + rnd()).toFixed(3)}`, { key, raw: `short${result.ops}` });
        } else if (pick < 0.5) {
          r = await node.api('PUT', `/v1/kv/${prefix}-ttl-long-${c}-${n}?ttl=3600`, { key, raw: `long${result.ops}` });
        } else if (pick < 0.65) {
          const ops = [
            { op: 'put', key: k(n), value: `b${result.ops}` },
            { op: 'put', key: k((n + 1) % 40), value: `b${result.ops}`, ttl: 3600 },
            { op: 'put', key: `${prefix}-bttl-${c}-${n}`, value: 'short', ttl: 0.3 },
            { op: 'del', key: k((n + 2) % 40) },
          ];
          r = await node.api('POST', '/v1/batch', { key, body: { ops } });
        } else if (pick < 0.78) {
          r = await node.api('POST', `/v1/kv/${prefix}-ctr-${n % 4}/incr?by=${1 + (n % 3)}`, { key });
        } else if (pick < 0.9) {
          const cur = await node.api('GET', `/v1/kv/${k(n)}`, { key });
          const etag = cur.headers.get('etag');
          r = etag
            ? await node.api('PUT', `/v1/kv/${k(n)}`, { key, raw: `cas${result.ops}`, headers: { 'if-match': etag } })
            : await node.api('PUT', `/v1/kv/${k(n)}`, { key, raw: `new${result.ops}`, headers: { 'if-none-match': '*' } });
        } else {
          r = await node.api('DELETE', `/v1/kv/${k(n)}`, { key });
          if (r.status === 404) {
            result.ok++;
            continue;
          }
        }
        count(r.status, r.text);
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        result.errors[code] = (result.errors[code] ?? 0) + 1;
        if (!node.alive) return;
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients ?? 8 }, (_, c) => client(c)));
  return result;
}
