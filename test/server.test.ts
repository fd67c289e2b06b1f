/**
 * kvstored over real HTTP: a server on an ephemeral port, real clients (fetch, node:http for
 * raw requests), the RBAC matrix, conditional requests, binary values, URL-encoded keys, and
 * bad input of every kind — each gets its 4xx and the server keeps serving.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type Store } from '../ts/index.js';
import { type ServerConfig, loadConfig } from '../ts/server/config.js';
import { type BuiltServer, buildServer } from '../ts/server/server.js';
import { ENGINES, repoRoot, tempDir } from './helpers.js';

const ADMIN_PW = 'admin password 1234';

interface Ctx {
  db: Store;
  auth: AuthService;
  server: BuiltServer;
  url: string;
  admin: string;
}

export async function startServer(engine: string, overrides: Partial<ServerConfig> = {}, dir = tempDir('srv')): Promise<Ctx> {
  const { config } = loadConfig([], {});
  const cfg: ServerConfig = { ...config, dataDir: dir, port: 0, logLevel: 'silent', ...overrides };
  const db = await open({ dir, engine: engine as 'native' | 'js' });
  const auth = await AuthService.open(db);
  await auth.createFirstAdmin({ password: ADMIN_PW });
  const server = await buildServer(cfg, db, auth);
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const admin = await login(url, 'admin', ADMIN_PW);
  return { db, auth, server, url, admin };
}

export async function stopServer(c: Ctx): Promise<void> {
  await c.server.app.close();
  await c.auth.close();
  await c.db.close();
}

async function login(url: string, name: string, password: string): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const json = (t: string): Record<string, string> => ({ ...bearer(t), 'content-type': 'application/json' });

async function problem(r: Response, status: number, code: string): Promise<void> {
  const body = await r.text();
  assert.is(r.status, status, body);
  assert.is(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const p = JSON.parse(body) as { code: string; status: number; instance: string };
  assert.is(p.code, code, body);
  assert.is(p.status, status);
  assert.is(p.instance, r.headers.get('x-request-id'));
}

/** A raw HTTP/1.1 request, for what fetch will not send (huge headers, odd bytes). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => void (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

for (const engine of ENGINES) {
  const test = suite(`server [${engine}]`);
  let c: Ctx;
  test.before.each(async () => {
    c = await startServer(engine, { bodyLimit: 64 * 1024, loginRateLimit: 5 });
  });
  test.after.each(async () => {
    await stopServer(c);
  });

  test('health, ready, openapi and metrics', async () => {
    assert.equal(await (await fetch(`${c.url}/health`)).json(), { status: 'ok' });
    assert.is(((await (await fetch(`${c.url}/ready`)).json()) as { status: string }).status, 'ready');
    const spec = (await (await fetch(`${c.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/kv/{key}', '/v1/kv/{key}/incr', '/v1/kv', '/v1/batch', '/v1/auth/login', '/v1/admin/users']) assert.ok(spec.paths[p], p);
    await fetch(`${c.url}/v1/kv/k`, { method: 'PUT', headers: bearer(c.admin), body: 'v' });
    const m = await (await fetch(`${c.url}/metrics`)).text();
    for (const name of ['kvstore_http_requests_total', 'kvstore_http_request_duration_seconds_bucket', 'kvstore_keys', 'kvstore_wal_bytes', 'kvstore_fsyncs_total', 'kvstore_auth_total', 'kvstore_process_resident_memory_bytes', 'kvstore_ttl_expired_total']) {
      assert.ok(m.includes(name), name);
    }
    assert.match(m, /kvstore_http_requests_total\{method="PUT",route="\/v1\/kv\/\*",status="200"\} 1/);
    // the shipped Grafana dashboard only charts metrics the server exports
    await fetch(`${c.url}/v1/admin/checkpoint`, { method: 'POST', headers: bearer(c.admin) });
    // the stats route answers with every LSN (a bigint in the store) as a decimal string
    const st = (await (await fetch(`${c.url}/v1/admin/stats`, { headers: bearer(c.admin) })).json()) as Record<string, unknown>;
    for (const k of ['nextLsn', 'durableLsn', 'flushedLsn', 'appliedLsn', 'lastCheckpointLsn']) assert.match(String(st[k]), /^\d+$/, k);
    assert.is(st.role, 'primary');
    const m2 = await (await fetch(`${c.url}/metrics`)).text();
    const dashboard = fs.readFileSync(path.join(repoRoot, 'deploy', 'grafana-dashboard.json'), 'utf8');
    // Cluster mode, WAL archiving and a backup schedule add families a single node without
    // them does not export: test/dashboard.test.ts checks those on a node that has them.
    const used = new Set(dashboard.match(/kvstore_[a-z0-9_]+/g)?.filter((n) => !/^kvstore_(cluster|archive|backup)_/.test(n)));
    assert.ok(used.size >= 10);
    // Exported = a sample, or a declared family: per-standby series exist only while standbys
    // stream (test/replication-metrics.test.ts checks those have samples with one connected).
    for (const name of used) assert.ok(new RegExp(`^(${name}[{ ]|# TYPE ${name} )`, 'm').test(m2), `dashboard uses ${name}, which /metrics does not export`);
    // the engine's histograms: cumulative buckets, +Inf = count, at least the put's fdatasync
    const inf = Number(/^kvstore_fdatasync_duration_seconds_bucket\{le="\+Inf"\} (\d+)$/m.exec(m2)?.[1]);
    assert.ok(inf >= 1, 'an fdatasync was timed');
    assert.is(Number(/^kvstore_fdatasync_duration_seconds_count (\d+)$/m.exec(m2)?.[1]), inf);
    const buckets = [...m2.matchAll(/^kvstore_group_commit_records_bucket\{le="[^"]+"\} (\d+)$/gm)].map((x) => Number(x[1]));
    assert.is(buckets.length, 13);
    assert.equal(buckets, [...buckets].sort((a, b) => a - b), 'cumulative');
  });

  test('binary values, URL-encoded keys, ETag and TTL headers', async () => {
    const value = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    for (const key of ['plain', 'with space', 'a/b/c', 'ünïcødé', '%literal', 'q?x=1&y#z']) {
      const path = `${c.url}/v1/kv/${encodeURIComponent(key)}`;
      const put = await fetch(path, { method: 'PUT', headers: { ...bearer(c.admin), 'content-type': 'application/octet-stream' }, body: value });
      assert.is(put.status, 200, key);
      const etag = put.headers.get('etag');
      const get = await fetch(path, { headers: bearer(c.admin) });
      assert.is(get.status, 200);
      assert.equal(Buffer.from(await get.arrayBuffer()), value);
      assert.is(get.headers.get('etag'), etag);
      assert.is(get.headers.get('content-type'), 'application/octet-stream');
      assert.equal(c.db.get(key), value, `stored under the decoded key ${key}`);
    }
    await fetch(`${c.url}/v1/kv/t?ttl=30`, { method: 'PUT', headers: bearer(c.admin), body: 'x' });
    const exp = Date.parse((await fetch(`${c.url}/v1/kv/t`, { headers: bearer(c.admin) })).headers.get('x-expires-at') ?? '');
    assert.ok(Math.abs(exp - (Date.now() + 30_000)) < 5000);
    // a JSON content type is still just bytes on a kv route
    await fetch(`${c.url}/v1/kv/j`, { method: 'PUT', headers: json(c.admin), body: '{"a":1}' });
    assert.is(c.db.get('j')?.toString(), '{"a":1}');
  });

  test('conditional requests: If-Match (CAS), If-None-Match: * (create-only) → 412 on conflict', async () => {
    const u = `${c.url}/v1/kv/cas`;
    const created = await fetch(u, { method: 'PUT', headers: { ...bearer(c.admin), 'if-none-match': '*' }, body: '1' });
    assert.is(created.status, 201);
    await problem(await fetch(u, { method: 'PUT', headers: { ...bearer(c.admin), 'if-none-match': '*' }, body: '2' }), 412, 'VERSION_MISMATCH');
    const etag = created.headers.get('etag')!;
    const ok = await fetch(u, { method: 'PUT', headers: { ...bearer(c.admin), 'if-match': etag }, body: '2' });
    assert.is(ok.status, 200);
    await problem(await fetch(u, { method: 'PUT', headers: { ...bearer(c.admin), 'if-match': etag }, body: '3' }), 412, 'VERSION_MISMATCH');
    await problem(await fetch(u, { method: 'DELETE', headers: { ...bearer(c.admin), 'if-match': etag } }), 412, 'VERSION_MISMATCH');
    await problem(await fetch(u, { method: 'PUT', headers: { ...bearer(c.admin), 'if-match': 'garbage' }, body: '3' }), 400, 'INVALID_ARGUMENT');
    assert.is(c.db.get('cas')?.toString(), '2');
    assert.is((await fetch(u, { method: 'DELETE', headers: { ...bearer(c.admin), 'if-match': ok.headers.get('etag')! } })).status, 204);
    await problem(await fetch(u, { headers: bearer(c.admin) }), 404, 'NOT_FOUND');
    await problem(await fetch(u, { method: 'DELETE', headers: bearer(c.admin) }), 404, 'NOT_FOUND');
  });

  test('incr, scan with cursor pages, atomic batch', async () => {
    assert.equal(await (await fetch(`${c.url}/v1/kv/n/incr?by=5`, { method: 'POST', headers: bearer(c.admin) })).json(), { value: '5' });
    assert.equal(await (await fetch(`${c.url}/v1/kv/n/incr`, { method: 'POST', headers: bearer(c.admin) })).json(), { value: '6' });
    await problem(await fetch(`${c.url}/v1/kv/n/incr?by=x`, { method: 'POST', headers: bearer(c.admin) }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/kv/n`, { method: 'POST', headers: bearer(c.admin) }), 404, 'NOT_FOUND');
    const ops = Array.from({ length: 25 }, (_, i) => ({ op: 'put', key: `s:${String(i).padStart(2, '0')}`, value: Buffer.from([i]).toString('base64'), encoding: 'base64' }));
    assert.is((await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ ops }) })).status, 200);
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const r = (await (await fetch(`${c.url}/v1/kv?prefix=s:&limit=10&values=true${cursor ? `&cursor=${cursor}` : ''}`, { headers: bearer(c.admin) })).json()) as { items: { key: string; value: string }[]; cursor?: string };
      for (const it of r.items) {
        keys.push(it.key);
        assert.equal(Buffer.from(it.value, 'base64'), Buffer.from([Number(it.key.slice(2))]));
      }
      cursor = r.cursor;
    } while (cursor);
    assert.is(keys.length, 25);
    assert.equal(keys, [...keys].sort());
    // a key that is not UTF-8 comes back as keyBase64
    await c.db.put(Buffer.from([0x73, 0x3a, 0xff, 0xfe]), 'bin');
    const bin = (await (await fetch(`${c.url}/v1/kv?prefix=s:&limit=1000`, { headers: bearer(c.admin) })).json()) as { items: { key?: string; keyBase64?: string }[] };
    assert.equal(bin.items.filter((it) => it.keyBase64 !== undefined), [{ keyBase64: Buffer.from([0x73, 0x3a, 0xff, 0xfe]).toString('base64') }]);
    assert.is(bin.items.length, 26);
    // a batch with one bad op writes nothing
    const bad = { ops: [{ op: 'put', key: 'b:1', value: 'x' }, { op: 'put', key: '_sys.users:x', value: 'y' }] };
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: json(c.admin), body: JSON.stringify(bad) }), 403, 'RESERVED_KEY');
    assert.is(c.db.get('b:1'), undefined);
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ ops: [{ op: 'put', key: 'b:2' }] }) }), 400, 'INVALID_ARGUMENT');
  });

  test('bad input gets its 4xx, never a 500, and the server keeps serving', async () => {
    const h = bearer(c.admin);
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: json(c.admin), body: '{"ops":[' }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: json(c.admin), body: '' }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: { ...h, 'content-type': 'text/plain' }, body: 'ops' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await problem(await fetch(`${c.url}/v1/batch`, { method: 'POST', headers: { ...h, 'content-type': 'application/xml' }, body: '<a/>' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await problem(await fetch(`${c.url}/v1/kv/big`, { method: 'PUT', headers: h, body: Buffer.alloc(65 * 1024) }), 413, 'VALUE_TOO_LARGE');
    await problem(await fetch(`${c.url}/v1/kv/t?ttl=-1`, { method: 'PUT', headers: h, body: 'x' }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/kv/t?bogus=1`, { method: 'PUT', headers: h, body: 'x' }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/kv?limit=0`, { headers: h }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/kv/${'k'.repeat(5000)}`, { method: 'PUT', headers: h, body: 'x' }), 413, 'KEY_TOO_LARGE');
    await problem(await fetch(`${c.url}/v1/nope`, { headers: h }), 404, 'NOT_FOUND');
    await problem(await fetch(`${c.url}/v1/admin/users`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ name: 'x y' }) }), 400, 'INVALID_ARGUMENT');
    await problem(await fetch(`${c.url}/v1/admin/users`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ name: 'weak', password: 'short' }) }), 400, 'PASSWORD_POLICY');
    // invalid UTF-8 in a key (raw bytes and a bad percent escape), and a huge header
    const bad1 = await raw(c.url, 'GET', '/v1/kv/%FF%FE', h);
    assert.is(bad1.status, 400, bad1.body);
    assert.is(JSON.parse(bad1.body).code, 'INVALID_ARGUMENT');
    const bad2 = await raw(c.url, 'GET', '/v1/kv/%E2%82', h);
    assert.is(bad2.status, 400, bad2.body);
    const huge = await raw(c.url, 'GET', '/v1/kv/x', { ...h, 'x-huge': 'a'.repeat(64 * 1024) });
    assert.is(huge.status, 431);
    // still serving
    assert.is((await fetch(`${c.url}/v1/kv/after`, { method: 'PUT', headers: h, body: 'ok' })).status, 200);
    const m = await (await fetch(`${c.url}/metrics`)).text();
    assert.not.match(m, /status="5\d\d"/, 'no 5xx answered');
  });

  test('missing, forged, revoked credentials → 401; a lock ends a session at once', async () => {
    await problem(await fetch(`${c.url}/v1/kv/x`), 401, 'AUTH_FAILED');
    await problem(await fetch(`${c.url}/v1/kv/x`, { headers: bearer('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.sig') }), 401, 'AUTH_FAILED');
    await problem(await fetch(`${c.url}/v1/kv/x`, { headers: { 'x-api-key': `kvs_${'0'.repeat(16)}_${'A'.repeat(43)}` } }), 401, 'AUTH_FAILED');
    await problem(await fetch(`${c.url}/v1/kv/x`, { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), 401, 'AUTH_FAILED');
    await problem(await fetch(`${c.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: 'wrong password!' }) }), 401, 'AUTH_FAILED');
    // admin creates a user and an API key over HTTP; the key works until revoked
    assert.is((await fetch(`${c.url}/v1/admin/users`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ name: 'alice', password: 'alice password 1', roles: ['writer'] }) })).status, 201);
    const created = (await (await fetch(`${c.url}/v1/admin/apikeys`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ owner: 'alice', name: 'alice-key' }) })).json()) as { token: string };
    const k = { 'x-api-key': created.token };
    assert.is((await fetch(`${c.url}/v1/kv/a`, { method: 'PUT', headers: k, body: '1' })).status, 200);
    assert.equal(await (await fetch(`${c.url}/v1/auth/whoami`, { headers: k })).json(), { user: 'alice', type: 'apikey', keyName: 'alice-key', roles: ['writer'], admin: false });
    assert.is((await fetch(`${c.url}/v1/admin/apikeys/alice-key`, { method: 'DELETE', headers: bearer(c.admin) })).status, 204);
    await problem(await fetch(`${c.url}/v1/kv/a`, { headers: k }), 401, 'AUTH_FAILED');
    const session = await login(c.url, 'alice', 'alice password 1');
    assert.is((await fetch(`${c.url}/v1/kv/a`, { headers: bearer(session) })).status, 200);
    assert.is((await fetch(`${c.url}/v1/admin/users/alice/lock`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ reason: 'suspicious activity' }) })).status, 204);
    await problem(await fetch(`${c.url}/v1/kv/a`, { headers: bearer(session) }), 401, 'AUTH_FAILED');
    const audit = (await (await fetch(`${c.url}/v1/admin/audit?limit=50`, { headers: bearer(c.admin) })).json()) as { entries: { action: string; ip: string | null; actor: string }[] };
    assert.ok(audit.entries.some((e) => e.action === 'user.lock' && e.actor === 'admin' && e.ip === '127.0.0.1'));
    assert.ok(audit.entries.some((e) => e.action === 'auth.login' && e.ip === '127.0.0.1'));
  });

  test('RBAC over HTTP: roles × methods × prefixes; admin routes need admin', async () => {
    const mk = async (name: string, roles: string[]): Promise<Record<string, string>> => {
      await fetch(`${c.url}/v1/admin/users`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ name, roles }) });
      const { token } = (await (await fetch(`${c.url}/v1/admin/apikeys`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ owner: name, name: `${name}-k` }) })).json()) as { token: string };
      return { 'x-api-key': token };
    };
    assert.is((await fetch(`${c.url}/v1/admin/roles`, { method: 'POST', headers: json(c.admin), body: JSON.stringify({ name: 'app', permissions: [{ prefix: 'app:', actions: ['read', 'write', 'scan'] }] }) })).status, 201);
    const who = { reader: await mk('r', ['reader']), writer: await mk('w', ['writer']), app: await mk('p', ['app']), none: await mk('n', []) };
    await c.db.put('app:1', 'v');
    await c.db.put('other', 'v');
    const can = async (h: Record<string, string>, method: string, path: string): Promise<number> => (await fetch(`${c.url}${path}`, { method, headers: h, ...(method === 'PUT' ? { body: 'x' } : {}) })).status;
    const matrix: Array<[keyof typeof who, string, string, number]> = [
      ['reader', 'GET', '/v1/kv/app:1', 200], ['reader', 'PUT', '/v1/kv/app:1', 403], ['reader', 'GET', '/v1/kv?prefix=app:', 200], ['reader', 'DELETE', '/v1/kv/other', 403],
      ['writer', 'PUT', '/v1/kv/other', 200], ['writer', 'DELETE', '/v1/kv/other', 204], ['writer', 'GET', '/v1/admin/users', 403],
      ['app', 'GET', '/v1/kv/app:1', 200], ['app', 'PUT', '/v1/kv/app:2', 200], ['app', 'DELETE', '/v1/kv/app:2', 403], ['app', 'GET', '/v1/kv/other', 403],
      ['app', 'GET', '/v1/kv?prefix=app:', 200], ['app', 'GET', '/v1/kv?prefix=ap', 200], ['app', 'GET', '/v1/kv', 200], ['app', 'GET', '/v1/kv?start=app:a&end=app:z', 200],
      ['none', 'GET', '/v1/kv/app:1', 403], ['none', 'GET', '/v1/kv?prefix=app:', 403], ['none', 'GET', '/v1/auth/whoami', 200],
    ];
    for (const [role, method, path, status] of matrix) assert.is(await can(who[role], method, path), status, `${role} ${method} ${path}`);
    // A scan wider than the grants answers exactly the keys they cover (docs/auth.md, "Scans").
    for (const path of ['/v1/kv?prefix=ap', '/v1/kv']) {
      const page = (await (await fetch(`${c.url}${path}`, { headers: who.app })).json()) as { items: Array<{ key: string }> };
      assert.ok(page.items.length > 0 && page.items.every((i) => i.key.startsWith('app:')), `app ${path}: ${JSON.stringify(page.items.map((i) => i.key))}`);
    }
    assert.is((await fetch(`${c.url}/v1/admin/users`, { headers: bearer(c.admin) })).status, 200);
  });

  test('login is rate-limited per IP (429 with retry-after) and the rest keeps working', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 8 && !limited; i++) {
      const r = await fetch(`${c.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: 'wrong password!' }) });
      if (r.status === 429) limited = r;
      else await r.text();
    }
    assert.ok(limited, 'no 429 within 8 attempts at 5/min');
    assert.ok(Number(limited!.headers.get('retry-after')) > 0);
    await problem(limited!, 429, 'RATE_LIMITED');
    assert.is((await fetch(`${c.url}/v1/kv/x`, { method: 'PUT', headers: bearer(c.admin), body: '1' })).status, 200);
    assert.match(await (await fetch(`${c.url}/metrics`)).text(), /kvstore_rate_limited_total\{limit="login"\} [1-9]/);
  });

  test('once shutdown begins: /ready is 503 and /v1 requests get NOT_READY', async () => {
    c.server.setReady(false);
    assert.is((await fetch(`${c.url}/ready`)).status, 503);
    await problem(await fetch(`${c.url}/v1/kv/x`, { method: 'PUT', headers: bearer(c.admin), body: '1' }), 503, 'NOT_READY');
    assert.is(c.db.get('x'), undefined);
    c.server.setReady(true);
    assert.is((await fetch(`${c.url}/v1/kv/x`, { method: 'PUT', headers: bearer(c.admin), body: '1' })).status, 200);
  });

  test('requests are rate-limited per IP and per principal (429, retry-after)', async () => {
    await stopServer(c);
    c = await startServer(engine, { rateLimit: 6, loginRateLimit: 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${c.url}/v1/kv/x`, { headers: { 'x-api-key': 'forged' } })).status);
    // startServer's login was the IP's first request of the six
    assert.equal(statuses, [401, 401, 401, 401, 401, 429, 429, 429], 'bad credentials count against the IP');
    assert.match(await (await fetch(`${c.url}/metrics`)).text(), /kvstore_rate_limited_total\{limit="ip"\} 3/);
  });

  test.run();
}

const cfg = suite('server config');

cfg('defaults < TOML file < environment < flags; errors name the field and its source', async () => {
  const dir = tempDir('cfg');
  const file = `${dir}/kvstored.toml`;
  fs.writeFileSync(file, 'port = 9000\nhost = "0.0.0.0"\ndurability = "interval"\nrate_limit = 100\n');
  const { config, sources } = loadConfig(['--config', file, '--durability=none'], { KVSTORE_PORT: '9100' });
  assert.is(config.port, 9100);
  assert.is(sources.port, 'KVSTORE_PORT');
  assert.is(config.host, '0.0.0.0');
  assert.is(config.durability, 'none');
  assert.is(config.rateLimit, 100);
  assert.is(config.dataDir, './data');
  assert.is(loadConfig(['--no-auth'], {}).config.auth, false);
  const example = loadConfig(['--config', path.join(repoRoot, 'deploy', 'kvstored.example.toml')], {}).config;
  assert.is(example.port, 8443);
  assert.is(example.tlsKey, '/etc/kvstore/tls/server.key');
  const fails = (argv: string[], env: NodeJS.ProcessEnv, re: RegExp): void => {
    assert.throws(() => loadConfig(argv, env), (e: Error) => re.test(e.message), `${argv.join(' ')} ${JSON.stringify(env)}`);
  };
  fails(['--port', 'abc'], {}, /port \(from --port\) must be an integer/);
  fails([], { KVSTORE_PORT: '70000' }, /port \(from KVSTORE_PORT\)/);
  fails(['--durability', 'sometimes'], {}, /durability .* must be one of always, interval, none/);
  fails(['--bogus'], {}, /unknown flag --bogus/);
  fails(['--admin-password', 'x'], {}, /process list/);
  fails(['--tls-cert', 'a.pem'], {}, /tls_cert and tls_key go together/);
  fs.writeFileSync(file, 'prot = 1\n');
  fails(['--config', file], {}, /unknown setting "prot"/);
  fs.writeFileSync(file, 'admin_password = "x"\n');
  fails(['--config', file], {}, /may not be in a file/);
  fs.writeFileSync(file, 'port = \n');
  fails(['--config', file], {}, /not valid TOML/);
});

cfg.run();
