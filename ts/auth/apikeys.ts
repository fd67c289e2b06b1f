/**
 * API key tokens: `kvs_<id>_<secret>`. The id (64 random bits, hex) finds the record in O(1);
 * the secret (256 random bits, base64url) is shown once and stored only as its SHA-256.
 * A secret that strong needs no slow hash; the comparison is constant-time.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { KvError } from '../errors.js';

const TOKEN = /^kvs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { id: string; secret: string; token: string; hash: string } {
  const id = crypto.randomBytes(8).toString('hex');
  const secret = crypto.randomBytes(32).toString('base64url');
  return { id, secret, token: `kvs_${id}_${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

/** { id, secret } of a well-formed token, else null. */
export function parseToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string' || token.length !== 64) return null;
  const m = TOKEN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Validates CIDRs ('10.0.0.0/8', '2001:db8::/32', or a bare address) into a BlockList. */
export function compileAllowList(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const m = typeof c === 'string' ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(c) : null;
    const family = m ? net.isIP(m[1]!) : 0;
    const bits = m?.[2] === undefined ? (family === 6 ? 128 : 32) : Number(m[2]);
    if (!m || family === 0 || bits > (family === 6 ? 128 : 32)) throw new KvError('INVALID_ARGUMENT', `not an IP address or CIDR: ${JSON.stringify(c)}`);
    list.addSubnet(m[1]!, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether `ip` (as a socket reports it; IPv4-mapped IPv6 is unwrapped) is on the list. */
export function ipAllowed(list: net.BlockList, ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = v4 ? v4[1]! : ip;
  const family = net.isIP(addr);
  if (family === 0) return false;
  return list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}
