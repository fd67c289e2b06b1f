/**
 * trust_proxy: X-Forwarded-For is believed only from the proxies listed. The server listens
 * on 127.0.0.1; requests come from 127.0.0.2 (the trusted proxy) or 127.0.0.3 (a stranger
 * that reaches kvstored directly and forges the header). What request.ip decides is checked
 * where it matters: the audit log's address of a failed login, the per-IP login limit, and
 * an API key's allowed-IP list.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, fetch as ufetch } from 'undici';
import { loadConfig } from '../ts/server/config.js';
import { RateLimits } from '../ts/server/limiter.js';
import { parseTrustProxy } from '../ts/server/trust-proxy.js';
import { type Harness, startHarness } from './http-harness.js';

const PROXY = '127.0.0.2';
const STRANGER = '127.0.0.3';
const agents = new Map<string, Agent>();
const from = (addr: string): Agent => {
  let a = agents.get(addr);
  if (!a) agents.set(addr, (a = new Agent({ localAddress: addr })));
  return a;
};

async function failLogin(h: Harness, addr: string, xff?: string): Promise<number> {
  const r = await ufetch(`${h.url}/v1/auth/login`, {
    method: 'POST',
    dispatcher: from(addr),
    headers: { 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) },
    body: JSON.stringify({ name: 'admin', password: 'wrong password' }),
  });
  await r.arrayBuffer();
  return r.status;
}

const lastLoginIp = (h: Harness): string | null => h.auth.listAudit({ limit: 20 }).entries.find((e) => e.action === 'auth.login' && !e.ok)?.ip ?? null;

const test = suite('trust_proxy');
let trusting: Harness;
let plain: Harness;
test.before(async () => {
  trusting = await startHarness({ trustProxy: `${PROXY}, 10.200.0.0/16`, loginRateLimit: 3 });
  plain = await startHarness({ loginRateLimit: 3 });
});
test.after(async () => {
  await trusting?.close();
  await plain?.close();
  for (const a of agents.values()) await a.close();
});

test('config: a list of addresses/CIDRs/named ranges is taken; true, *, hop counts and garbage are refused', () => {
  assert.equal(parseTrustProxy('10.0.0.1, 10.1.0.0/16,::1,loopback'), ['10.0.0.1', '10.1.0.0/16', '::1', 'loopback']);
  assert.is(parseTrustProxy(undefined), undefined);
  for (const bad of ['true', '*', '2', 'nginx.local', '10.0.0.0/33']) {
    assert.throws(() => loadConfig([`--trust-proxy=${bad}`], {}), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT', bad);
  }
  assert.is(loadConfig([], {}).config.trustProxy, undefined, 'no proxy is trusted by default');
  assert.is(loadConfig([], { KVSTORE_TRUST_PROXY: '10.0.0.0/8' }).config.trustProxy, '10.0.0.0/8');
});

test('from a stranger, a forged X-Forwarded-For is ignored: the audit log has the peer address', async () => {
  assert.is(await failLogin(trusting, STRANGER, '203.0.113.7'), 401);
  assert.is(lastLoginIp(trusting), STRANGER);
  assert.is(await failLogin(plain, PROXY, '203.0.113.7'), 401);
  assert.is(lastLoginIp(plain), PROXY, 'without trust_proxy, not even the proxy is believed');
});

test('from the trusted proxy, X-Forwarded-For is the client address (the nearest untrusted hop)', async () => {
  assert.is(await failLogin(trusting, PROXY, '203.0.113.8'), 401);
  assert.is(lastLoginIp(trusting), '203.0.113.8');
  // A client-forged left part does not help: the proxy appended the real address last; 10.200.x is a trusted inner hop.
  assert.is(await failLogin(trusting, PROXY, '198.51.100.1, 203.0.113.9, 10.200.1.1'), 401);
  assert.is(lastLoginIp(trusting), '203.0.113.9');
});

test('login limit: a stranger rotating forged addresses still shares one budget; clients behind the proxy each have theirs', async () => {
  const h = await startHarness({ trustProxy: PROXY, loginRateLimit: 3 });
  try {
    const stranger: number[] = [];
    for (let i = 0; i < 5; i++) stranger.push(await failLogin(h, STRANGER, `198.51.100.${i + 10}`));
    assert.equal(stranger, [401, 401, 401, 429, 429]);
    const proxied: number[] = [];
    for (let i = 0; i < 5; i++) proxied.push(await failLogin(h, PROXY, `198.51.100.${i + 10}`));
    assert.equal(proxied, [401, 401, 401, 401, 401], 'one client behind the proxy does not throttle the others');
    const sameClient: number[] = [];
    for (let i = 0; i < 3; i++) sameClient.push(await failLogin(h, PROXY, '198.51.100.10'));
    assert.equal(sameClient, [401, 401, 429], 'the same client behind the proxy has its own budget (1 used above)');
  } finally {
    await h.close();
  }
});

test('login limit: IPv6 clients are counted by their /64 (rotating addresses inside it does not reset the budget); another /64 has its own', async () => {
  const h = await startHarness({ trustProxy: PROXY, loginRateLimit: 3 });
  try {
    const rotating: number[] = [];
    for (let i = 0; i < 5; i++) rotating.push(await failLogin(h, PROXY, `2001:db8:1:2::${(i + 1).toString(16)}`));
    assert.equal(rotating, [401, 401, 401, 429, 429], 'five addresses of one /64 share one budget');
    assert.is(await failLogin(h, PROXY, '2001:db8:1:2:ffff:ffff:ffff:ffff'), 429, 'the last address of the same /64');
    assert.is(await failLogin(h, PROXY, '2001:db8:1:3::1'), 401, 'the next /64 is another client');
    assert.is(await failLogin(h, PROXY, '::ffff:198.51.100.77'), 401);
    assert.is(await failLogin(h, PROXY, '198.51.100.77'), 401);
    assert.is(await failLogin(h, PROXY, '198.51.100.77'), 401);
    assert.is(await failLogin(h, PROXY, '::ffff:198.51.100.77'), 429, 'an IPv4-mapped address is its IPv4 address');
  } finally {
    await h.close();
  }
});

test('the per-IP key: IPv4 as it is, IPv4-mapped as IPv4, IPv6 as its /64 (any spelling, zone id dropped)', () => {
  const cases: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ];
  for (const [ip, key] of cases) assert.is(RateLimits.ipKey(ip), key, ip);
});

test("an API key's allowed-IP list sees the client behind the trusted proxy, not a forged header", async () => {
  const { token } = await trusting.auth.createApiKey('admin', { name: 'office', allowIps: ['203.0.113.0/24'] });
  const get = async (addr: string, xff?: string): Promise<number> => {
    const r = await ufetch(`${trusting.url}/v1/admin/stats`, { dispatcher: from(addr), headers: { 'x-api-key': token, ...(xff ? { 'x-forwarded-for': xff } : {}) } });
    await r.arrayBuffer();
    return r.status;
  };
  assert.is(await get(PROXY, '203.0.113.50'), 200, 'the office client through the proxy');
  assert.is(await get(PROXY, '198.51.100.50'), 401, 'another client through the proxy');
  assert.is(await get(STRANGER, '203.0.113.50'), 401, 'a stranger forging an office address');
  assert.is(await get(PROXY), 401, 'the proxy itself, with no forwarded address');
});

test.run();
