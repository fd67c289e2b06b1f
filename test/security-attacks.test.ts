/**
 * The server attacked as a stranger (no, garbage or forged credentials), as a reader, as a
 * writer with a narrow grant, and with a stolen-but-revoked session token (password changed;
 * user locked) and API key (revoked). Each attempt gets its exact status and code, and after
 * all of them the data (every key, versions included) is what it was.
 */
import crypto from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, login, startHarness } from './http-harness.js';

const test = suite('attacks by principal');
let h: Harness;
let before: string;
const creds: Record<string, Record<string, string>> = {};

const snapshot = (): string => JSON.stringify([...h.db.scan({})].map(([k, v]) => [k.toString('hex'), v.toString('hex'), String(h.db.getEntry(k)?.version)]));
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

test.before(async () => {
  h = await startHarness({ loginRateLimit: 0 });
  await h.db.put('app/a', '1');
  await h.db.put('other/x', 'secret');
  await h.auth.createRole('app-rw', { permissions: [{ prefix: 'app/', actions: ['read', 'write', 'scan'] }] });
  await h.auth.createUser('rita', { password: 'reader password 1', roles: ['reader'] });
  await h.auth.createUser('wes', { password: 'writer password 1', roles: ['app-rw'] });
  await h.auth.createUser('sam', { password: 'stolen password 1', roles: ['writer'] });
  await h.auth.createUser('lou', { password: 'locked password 1', roles: ['writer'] });
  creds.reader = bearer(await login(h.url, 'rita', 'reader password 1'));
  creds.narrow = bearer(await login(h.url, 'wes', 'writer password 1'));
  creds.stolenToken = bearer(await login(h.url, 'sam', 'stolen password 1'));
  await h.auth.setPassword('sam', 'a brand new password 2');
  creds.lockedToken = bearer(await login(h.url, 'lou', 'locked password 1'));
  await h.auth.lockUser('lou', 'incident');
  const k = await h.auth.createApiKey('sam', { name: 'laptop' });
  await h.auth.revokeApiKey(k.record.id);
  creds.revokedKey = { 'x-api-key': k.token };
  creds.none = {};
  creds.garbage = bearer('not-a-token');
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  creds.algNone = bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })}.`);
  creds.forgedHmac = bearer(`${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'admin' })}.${crypto.randomBytes(32).toString('base64url')}`);
  creds.fakeKey = { 'x-api-key': `kvs_${crypto.randomBytes(8).toString('hex')}_${crypto.randomBytes(32).toString('hex')}` };
  before = snapshot();
});
test.after(async () => {
  await h?.close();
});

async function call(method: string, path: string, who: string, body?: string): Promise<string> {
  const r = await fetch(`${h.url}${path}`, { method, headers: { ...creds[who], ...(body === undefined ? {} : { 'content-type': path.startsWith('/v1/admin') ? 'application/json' : 'application/octet-stream' }) }, ...(body === undefined ? {} : { body }) });
  const text = await r.text();
  if (r.status < 400) return String(r.status);
  assert.is(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', text);
  return `${r.status} ${(JSON.parse(text) as { code: string }).code}`;
}

const DENIED_401 = '401 AUTH_FAILED';
const ATTACKS: [string, string, string | undefined][] = [
  ['PUT', '/v1/kv/app/a', 'evil'],
  ['DELETE', '/v1/kv/app/a', undefined],
  ['PUT', '/v1/kv/other/x', 'evil'],
  ['GET', '/v1/kv/other/x', undefined],
  ['GET', '/v1/kv?prefix=other/&values=true', undefined],
  ['PUT', '/v1/kv/_sys.roles:admin', '{}'],
  ['POST', '/v1/admin/users', JSON.stringify({ name: 'mallory', password: 'mallory password 1', roles: ['admin'] })],
  ['GET', '/v1/admin/audit', undefined],
];

for (const who of ['none', 'garbage', 'algNone', 'forgedHmac', 'fakeKey', 'stolenToken', 'lockedToken', 'revokedKey']) {
  test(`${who}: every attempt is ${DENIED_401}`, async () => {
    for (const [m, p, b] of ATTACKS) assert.is(await call(m, p, who, b), DENIED_401, `${who} ${m} ${p}`);
  });
}

test('a reader: reads what it may; every write, the hidden-by-nothing _sys keys and admin refused', async () => {
  const got = await Promise.all(ATTACKS.map(([m, p, b]) => call(m, p, 'reader', b)));
  assert.equal(got, ['403 PERMISSION_DENIED', '403 PERMISSION_DENIED', '403 PERMISSION_DENIED', '200', '200', '403 RESERVED_KEY', '403 PERMISSION_DENIED', '403 PERMISSION_DENIED']);
});

test('a writer granted app/ only: nothing outside app/ (a scan where it has no grant is refused, not an empty page; a wider scan shows app/ only), no _sys keys, no admin', async () => {
  const got = [];
  for (const [m, p, b] of ATTACKS.slice(2)) got.push(await call(m, p, 'narrow', b));
  assert.equal(got, ['403 PERMISSION_DENIED', '403 PERMISSION_DENIED', '403 PERMISSION_DENIED', '403 RESERVED_KEY', '403 PERMISSION_DENIED', '403 PERMISSION_DENIED']);
  assert.is(await call('GET', '/v1/kv/app/a', 'narrow'), '200', 'its own grant works');
  for (const q of ['prefix=&values=true', 'values=true', 'start=a&end=p&values=true', 'prefix=&limit=1']) {
    const r = await fetch(`${h.url}/v1/kv?${q}`, { headers: creds.narrow });
    const text = await r.text();
    assert.is(r.status, 200, `${q}: a scan wider than its grant is filtered, not refused`);
    assert.equal(JSON.parse(text), { items: [{ key: 'app/a', ...(q.includes('values') ? { value: Buffer.from('1').toString('base64') } : {}) }] }, q);
    assert.not.match(text, /other|secret|_sys/, `${q}: nothing of other/x or the catalog, not even a cursor`);
  }
});

test('after every attack the data is unchanged, and no user mallory exists', () => {
  assert.is(snapshot(), before);
  assert.is(h.auth.getUser('mallory'), undefined);
});

test.run();
