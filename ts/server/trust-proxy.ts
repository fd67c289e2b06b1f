/**
 * trust_proxy: the reverse proxies (nginx, a cloud load balancer) whose X-Forwarded-For
 * kvstored believes. Only a list of addresses and CIDRs (or proxy-addr's named ranges
 * loopback, linklocal, uniquelocal) is taken, never a blanket `true` or a hop count: a
 * client that can reach kvstored directly could otherwise forge its address. With the list,
 * request.ip is the nearest address in X-Forwarded-For not on it (fastify's trustProxy, via
 * proxy-addr); without it, the peer's address. request.ip is what the per-IP rate and login
 * limits, the audit log and API keys' allowed-IP lists see (routes.ts).
 */
import { KvError } from '../errors.js';
import { compileAllowList } from '../auth/apikeys.js';

const NAMED = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** The comma-separated setting as fastify's trustProxy list; INVALID_ARGUMENT for anything else. */
export function parseTrustProxy(setting: string | undefined): string[] | undefined {
  if (setting === undefined) return undefined;
  const items = setting.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) return undefined;
  for (const item of items) {
    if (NAMED.has(item)) continue;
    if (/^(true|false|\*|\d+)$/i.test(item)) {
      throw new KvError('INVALID_ARGUMENT', `config: trust_proxy takes addresses or CIDRs of the proxies (e.g. "10.0.0.5, 10.1.0.0/16"), not ${JSON.stringify(item)}: trusting every peer lets any client forge its address`);
    }
    try {
      compileAllowList([item]);
    } catch {
      throw new KvError('INVALID_ARGUMENT', `config: trust_proxy: not an IP address, CIDR or one of loopback, linklocal, uniquelocal: ${JSON.stringify(item)}`);
    }
  }
  return items;
}
