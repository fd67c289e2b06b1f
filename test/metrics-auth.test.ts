/**
 * metrics_auth: with `token`, /metrics needs an API key or session of a user with the
 * built-in monitor role (or admin): a stranger, a bad key, a revoked key and a writer are
 * refused with problem documents; /health and /ready stay open. With `none` (the default)
 * /metrics is open as before.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { loadConfig } from '../ts/server/config.js';
import { buildServer } from '../ts/server/server.js';
import { type Harness, login, startHarness } from './http-harness.js';
import { tempDir } from './helpers.js';

const test = suite('metrics_auth');
let h: Harness;
let open_: Harness;
let monitorKey: string;
let writerKey: string;
let revokedKey: string;
test.before(async () => {
  h = await startHarness({ metricsAuth: 'token' });
  open_ = await startHarness();
  await h.auth.createUser('prom', { roles: ['monitor'], password: 'prometheus password 1' });
  await h.auth.createUser('app', { roles: ['writer'] });
  monitorKey = (await h.auth.createApiKey('prom', { name: 'scrape' })).token;
  writerKey = (await h.auth.createApiKey('app', { name: 'app' })).token;
  const r = await h.auth.createApiKey('prom', { name: 'old' });
  revokedKey = r.token;
  await h.auth.revokeApiKey(r.record.id);
});
test.after(async () => {
  await h?.close();
  await open_?.close();
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}
function refused(r: { status: number; type: string | null; body: string }, status: number, code: string): void {
  assert.is(r.status, status, r.body);
  assert.is(r.type, 'application/problem+json; charset=utf-8');
  assert.is((JSON.parse(r.body) as { code: string }).code, code);
  assert.not.match(r.body, 'kvstore_', 'no metric leaks in the refusal');
}

test('the config key: none | token, default none', () => {
  assert.is(loadConfig([], {}).config.metricsAuth, 'none');
  assert.is(loadConfig(['--metrics-auth', 'token'], {}).config.metricsAuth, 'token');
  assert.throws(() => loadConfig(['--metrics-auth', 'basic'], {}));
});

test('token: no credentials, a bad key, a revoked key → 401 AUTH_FAILED; a writer → 403 PERMISSION_DENIED', async () => {
  refused(await get(`${h.url}/metrics`), 401, 'AUTH_FAILED');
  refused(await get(`${h.url}/metrics`, { 'x-api-key': 'kvs_not_a_real_key' }), 401, 'AUTH_FAILED');
  refused(await get(`${h.url}/metrics`, { 'x-api-key': revokedKey }), 401, 'AUTH_FAILED');
  refused(await get(`${h.url}/metrics`, { authorization: 'Bearer not.a.jwt' }), 401, 'AUTH_FAILED');
  refused(await get(`${h.url}/metrics`, { 'x-api-key': writerKey }), 403, 'PERMISSION_DENIED');
});

test('token: the monitor role (API key or session) and admin read the metrics', async () => {
  const creds: Record<string, string>[] = [{ 'x-api-key': monitorKey }, { authorization: `Bearer ${await login(h.url, 'prom', 'prometheus password 1')}` }, { authorization: `Bearer ${h.admin}` }];
  for (const headers of creds) {
    const r = await get(`${h.url}/metrics`, headers);
    assert.is(r.status, 200, r.body);
    assert.match(r.body, /kvstore_/);
  }
});

test('the monitor role reaches nothing else: no key reads, no admin routes', async () => {
  const k = { 'x-api-key': monitorKey };
  refused(await get(`${h.url}/v1/kv/a`, k), 403, 'PERMISSION_DENIED');
  refused(await get(`${h.url}/v1/admin/users`, k), 403, 'PERMISSION_DENIED');
});

test('token: /health and /ready stay open', async () => {
  assert.is((await get(`${h.url}/health`)).status, 200);
  assert.is((await get(`${h.url}/ready`)).status, 200);
});

test('none (the default): /metrics is open', async () => {
  const r = await get(`${open_.url}/metrics`);
  assert.is(r.status, 200);
  assert.match(r.body, /kvstore_/);
});

test('token on a server without auth is refused at start (nothing could pass)', async () => {
  const dir = tempDir('mauth');
  const db = await open({ dir, engine: 'js' });
  try {
    const { config } = loadConfig([], {});
    await buildServer({ ...config, dataDir: dir, auth: false, metricsAuth: 'token', logLevel: 'silent' }, db, null).then(
      () => assert.unreachable('started'),
      (e: { code?: string }) => assert.is(e.code, 'INVALID_ARGUMENT'),
    );
  } finally {
    await db.close();
  }
});

test.run();
