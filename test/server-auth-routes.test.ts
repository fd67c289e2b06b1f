/**
 * Authentication is decided by route, never by URL text (issue 13, item 2): every route the
 * server registers, asked with no credentials or bad ones, answers 401 (never a 5xx, never
 * the data), including key routes whose key ends in a public route's path; a principal with
 * no grants gets 4xx everywhere but whoami and the cluster read index; and the per-IP rate limit covers every request.
 * Routes are enumerated from fastify itself (onRoute), so a route added later is covered.
 */
import Fastify from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type Store } from '../ts/index.js';
import { loadConfig, type ServerConfig } from '../ts/server/config.js';
import { kvstoreRoutes } from '../ts/server/routes.js';
import { type BuiltServer, type RouteInfo, buildServer } from '../ts/server/server.js';
import { ENGINES, tempDir } from './helpers.js';

const ADMIN_PW = 'admin password 1234';
/** Routes anyone may call: probes, the metrics scrape, the API document, and login itself. */
const PUBLIC = ['/health', '/ready', '/metrics', '/openapi.json', '/v1/auth/login'];
const FORGED_JWT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJhZG1pbiJ9.c2ln';
const BAD_CREDENTIALS: Array<[string, Record<string, string>]> = [
  ['no credentials', {}],
  ['a malformed API key', { 'x-api-key': 'bogus' }],
  ['a well-formed unknown API key', { 'x-api-key': `kvs_${'0'.repeat(16)}_${'A'.repeat(43)}` }],
  ['a malformed bearer token', { authorization: 'Bearer bogus' }],
  ['a forged bearer token', { authorization: `Bearer ${FORGED_JWT}` }],
  ['basic auth', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
];

interface Ctx {
  db: Store;
  auth: AuthService;
  server: BuiltServer;
}

async function start(overrides: Partial<ServerConfig> = {}): Promise<Ctx> {
  const dir = tempDir('authroutes');
  const { config } = loadConfig([], {});
  const db = await open({ dir, engine: ENGINES[0]! });
  const auth = await AuthService.open(db);
  await auth.createFirstAdmin({ password: ADMIN_PW });
  const server = await buildServer({ ...config, dataDir: dir, logLevel: 'silent', ...overrides }, db, auth);
  await server.app.ready();
  return { db, auth, server };
}

async function stop(c: Ctx): Promise<void> {
  await c.server.app.close();
  await c.auth.close();
  await c.db.close();
}

/** Every path ending of the public routes: `/v1/auth/login`, `/auth/login`, `/login`, `/health`, … */
function publicEndings(publicUrls: readonly string[]): string[] {
  const out = new Set<string>();
  for (const u of publicUrls) for (let i = u.indexOf('/'); i >= 0; i = u.indexOf('/', i + 1)) out.add(u.slice(i));
  return [...out];
}

/** Concrete URLs for a route: parameters filled in; a wildcard key also as each public ending (and + /incr). */
function urlsFor(route: RouteInfo, endings: readonly string[]): string[] {
  const base = route.url.replace(/:[A-Za-z]+/g, 'x');
  if (!base.endsWith('*')) return [base];
  const stem = base.slice(0, -1);
  const keys = ['k', ...endings.map((e) => `a${e}`), ...endings.map((e) => `a${e}/incr`), ...endings.map((e) => e.slice(1))];
  return keys.map((k) => stem + k);
}

const bodyFor = (method: string): { payload?: string; headers?: Record<string, string> } =>
  method === 'POST' || method === 'PUT' || method === 'PATCH' ? { payload: '{}', headers: { 'content-type': 'application/json' } } : {};

type Inject = (method: string, url: string, headers: Record<string, string>) => Promise<{ status: number; body: string }>;

/**
 * The matrix: every non-public route × URL × bad credential → 401 AUTH_FAILED; every public
 * route × bad credential → below 500. Returns how many requests it made (a floor is asserted).
 */
async function refusesEveryRoute(routes: readonly RouteInfo[], publicUrls: readonly string[], inject: Inject): Promise<number> {
  const endings = publicEndings(publicUrls);
  let n = 0;
  for (const r of routes) {
    const isPublic = publicUrls.includes(r.url);
    for (const url of urlsFor(r, endings)) {
      for (const [what, headers] of BAD_CREDENTIALS) {
        const res = await inject(r.method, url, headers);
        n++;
        const label = `${r.method} ${url} with ${what}: ${res.status} ${res.body.slice(0, 200)}`;
        assert.ok(res.status < 500, label);
        if (isPublic) continue;
        assert.is(res.status, 401, label);
        if (r.method !== 'HEAD') assert.is((JSON.parse(res.body) as { code: string }).code, 'AUTH_FAILED', label);
      }
    }
  }
  return n;
}

const test = suite('authentication by route');

test('kvstored: every route × no or bad credentials → 401, keys ending in a public path included', async () => {
  const c = await start();
  try {
    const { routes } = c.server;
    // The enumeration is real: the routes we know of are in it.
    for (const want of ['GET /v1/kv/*', 'PUT /v1/kv/*', 'DELETE /v1/kv/*', 'POST /v1/kv/*', 'POST /v1/batch', 'GET /v1/admin/users/:name', 'POST /v1/admin/checkpoint', 'POST /v1/auth/login', 'GET /health']) {
      assert.ok(routes.some((r) => `${r.method} ${r.url}` === want), want);
    }
    assert.ok(routes.length >= 40, `only ${routes.length} routes`);
    const inject: Inject = async (method, url, headers) => {
      const res = await c.server.app.inject({ method: method as 'GET', url, ...bodyFor(method), headers: { ...bodyFor(method).headers, ...headers } });
      return { status: res.statusCode, body: res.body };
    };
    const n = await refusesEveryRoute(routes, PUBLIC, inject);
    assert.ok(n > 800, `${n} requests`);
    assert.equal([...c.db.scan({})], [], 'nothing was written');
    const m = await c.server.app.inject({ method: 'GET', url: '/metrics' });
    assert.not.match(m.body, /status="5\d\d"/, 'no 5xx answered');
  } finally {
    await stop(c);
  }
});

test('the plugin mounted on another prefix by an embedding app: the same matrix', async () => {
  const dir = tempDir('authroutes');
  const db = await open({ dir, engine: ENGINES[0]! });
  const auth = await AuthService.open(db);
  await auth.createFirstAdmin({ password: ADMIN_PW });
  const app = Fastify();
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  await app.register(kvstoreRoutes, { prefix: '/api/store', store: db, auth });
  await app.ready();
  try {
    assert.ok(routes.some((r) => r.url === '/api/store/kv/*'));
    const n = await refusesEveryRoute(routes, ['/api/store/auth/login'], async (method, url, headers) => {
      const res = await app.inject({ method: method as 'GET', url, ...bodyFor(method), headers: { ...bodyFor(method).headers, ...headers } });
      return { status: res.statusCode, body: res.body };
    });
    assert.ok(n > 500, `${n} requests`);
    // login works there, and a key named like it is just a key
    const login = await app.inject({ method: 'POST', url: '/api/store/auth/login', payload: { name: 'admin', password: ADMIN_PW } });
    assert.is(login.statusCode, 200, login.body);
    const token = (JSON.parse(login.body) as { token: string }).token;
    const put = await app.inject({ method: 'PUT', url: '/api/store/kv/a/auth/login', payload: 'v', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
    assert.is(put.statusCode, 200, put.body);
    assert.is(db.get('a/auth/login')?.toString(), 'v');
  } finally {
    await app.close();
    await auth.close();
    await db.close();
  }
});

test('a principal with no grants: 4xx on every route but whoami and the read index, never 5xx, nothing written', async () => {
  const c = await start();
  try {
    await c.auth.createUser('nobody', {}, { actor: 'test' });
    const { token } = await c.auth.createApiKey('nobody', { name: 'nobody-key' }, { actor: 'test' });
    const endings = publicEndings(PUBLIC);
    for (const r of c.server.routes) {
      if (PUBLIC.includes(r.url)) continue;
      for (const url of urlsFor(r, endings)) {
        const res = await c.server.app.inject({ method: r.method as 'GET', url, ...bodyFor(r.method), headers: { ...bodyFor(r.method).headers, 'x-api-key': token } });
        const label = `${r.method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`;
        // whoami, and the read index (an LSN: what a standby's linearizable read waits for; it reveals no data), need only a principal.
        if (r.url === '/v1/auth/whoami' || r.url === '/v1/cluster/read-index') assert.is(res.statusCode, 200, label);
        else assert.ok(res.statusCode >= 400 && res.statusCode < 500, label);
      }
    }
    assert.equal([...c.db.scan({})], [], 'nothing was written');
  } finally {
    await stop(c);
  }
});

test('the per-IP rate limit counts every request: keys ending in /auth/login and login itself', async () => {
  const c = await start({ rateLimit: 3, loginRateLimit: 0 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await c.server.app.inject({ method: 'GET', url: '/v1/kv/a/auth/login' })).statusCode);
    assert.equal(statuses, [401, 401, 401, 429]);
    const login = await c.server.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name: 'admin', password: ADMIN_PW } });
    assert.is(login.statusCode, 429, 'login is a request from the same IP too');
    assert.is(JSON.parse(login.body).code, 'RATE_LIMITED');
  } finally {
    await stop(c);
  }
});

test('authorize() refuses a missing principal as invalid credentials instead of throwing', async () => {
  const c = await start();
  try {
    for (const p of [null, undefined]) {
      const d = c.auth.authorize(p as never, 'read', 'k');
      assert.is(d.allow, false);
      assert.is(d.invalid, true);
    }
  } finally {
    await stop(c);
  }
});

test.run();
