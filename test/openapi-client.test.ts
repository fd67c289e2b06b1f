/**
 * A client generated from the contract drives a real kvstored: openapi-fetch on the types
 * openapi-typescript made of docs/openapi.json (test/generated/openapi.d.ts). Every response
 * the test receives goes through a middleware that finds its operation, status and media
 * type in the committed document and validates the body against that schema (ajv, JSON
 * Schema 2020-12 as OpenAPI 3.1 says); an undocumented status, media type or field fails
 * the test, so the server cannot drift from the contract unnoticed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { components, paths } from './generated/openapi.js';
import { repoRoot } from './helpers.js';
import { ADMIN_PASSWORD, type Kvstored, startKvstored } from './kvstored-child.js';

type Problem = components['schemas']['Problem'];
type Json = Record<string, unknown>;
type Operation = { operationId: string; responses: Record<string, Json> };

const DOC = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, Json> } };
const DOC_ID = 'kvstore-openapi';

const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats.default(ajv);
ajv.addSchema(DOC, DOC_ID);

/** JSON pointer escaping (RFC 6901). */
const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const validators = new Map<string, ValidateFunction>();

/** Every response checked: which operations and statuses the test saw. */
const seen: string[] = [];

/**
 * The middleware: the response's status must be documented for its operation (a 2xx/3xx
 * explicitly, an error at least by `default`), its media type must be one the response
 * lists, and a JSON body must match the schema. A problem+json body's `status` must be the
 * HTTP status.
 */
const contract: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const method = request.method.toLowerCase();
    const op = DOC.paths[schemaPath]?.[method];
    assert.ok(op, `${method} ${schemaPath} is not in docs/openapi.json`);
    const status = String(response.status);
    const key = op.responses[status] ? status : response.status >= 400 ? 'default' : null;
    assert.ok(key && op.responses[key], `${op.operationId} answered ${status}, which the document does not list`);
    let pointer = `#/paths/${esc(schemaPath)}/${method}/responses/${key}`;
    let r = op.responses[key]!;
    if (typeof r.$ref === 'string') {
      pointer = r.$ref;
      r = DOC.components.responses[r.$ref.split('/').pop()!]!;
    }
    seen.push(`${op.operationId} ${status}`);
    const content = r.content as Record<string, unknown> | undefined;
    if (!content) {
      assert.is(response.headers.get('content-length') ?? '0', '0', `${op.operationId} ${status} has a body the document does not describe`);
      return undefined;
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    assert.ok(content[type], `${op.operationId} ${status}: content-type ${type}, the document lists ${Object.keys(content).join(', ')}`);
    if (!type.endsWith('json')) return undefined;
    const at = `${pointer}/content/${esc(type)}/schema`;
    let validate = validators.get(at);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOC_ID}${at}` });
      validators.set(at, validate);
    }
    const body = (await response.clone().json()) as unknown;
    assert.ok(validate(body), `${op.operationId} ${status} body ${JSON.stringify(body)} does not match ${at}: ${ajv.errorsText(validate.errors)}`);
    if (type === 'application/problem+json') assert.is((body as Problem).status, response.status, `${op.operationId}: the problem's status`);
    return undefined;
  },
};

function client(url: string, headers: Record<string, string> = {}): Client<paths> {
  const c = createClient<paths>({ baseUrl: url, headers });
  c.use(contract);
  return c;
}

/** The raw-bytes PUT body: as it is, not JSON.stringify'd. */
const raw = (body: unknown): string => String(body);

function problem(error: unknown, status: number, code: Problem['code']): Problem {
  const p = error as Problem;
  assert.is(p.status, status, JSON.stringify(p));
  assert.is(p.code, code, JSON.stringify(p));
  assert.is(p.type, `urn:kvstore:error:${code}`);
  assert.type(p.detail, 'string');
  assert.ok(p.instance.length > 0);
  return p;
}

const t = suite<{ server: Kvstored | null; kv: Client<paths> | null; token: string }>('openapi-fetch client against kvstored', { server: null, kv: null, token: '' });

t.before(async (ctx) => {
  ctx.server = await startKvstored([], { grpc: false });
  // The first admin comes from KVSTORE_ADMIN_PASSWORD (kvstored-child.ts); log in through the contract.
  const { data, error } = await client(ctx.server.url).POST('/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } });
  assert.not.ok(error);
  assert.ok(Date.parse(data!.expiresAt) > Date.now());
  ctx.token = data!.token;
  ctx.kv = client(ctx.server.url, { authorization: `Bearer ${ctx.token}` });
});

t.after(async (ctx) => {
  if (ctx.server) assert.is(await ctx.server.stop(), 0);
});

t('whoami, put, get with ETag, conditional puts, incr, delete', async (ctx) => {
  const kv = ctx.kv!;
  const me = await kv.GET('/v1/auth/whoami');
  assert.equal([me.data?.user, me.data?.admin, me.data?.type], ['admin', true, 'session']);

  const key = 'docs/ä b/1'; // a slash, a space and a non-ASCII letter: the path template encodes them
  const put = await kv.PUT('/v1/kv/{key}', { params: { path: { key } }, body: 'hello', bodySerializer: raw, headers: { 'content-type': 'text/plain' } });
  assert.is(put.response.status, 200);
  const etag = put.response.headers.get('etag');
  assert.is(etag, `"${put.data!.version}"`);

  const got = await kv.GET('/v1/kv/{key}', { params: { path: { key } }, parseAs: 'text' });
  assert.is(got.data, 'hello');
  assert.is(got.response.headers.get('etag'), etag);
  assert.match(got.response.headers.get('x-kvstore-applied-lsn') ?? '', /^\d+$/);
  const linear = await kv.GET('/v1/kv/{key}', { params: { path: { key }, query: { consistency: 'linearizable' } }, parseAs: 'text' });
  assert.is(linear.data, 'hello');

  // create-only on an existing key, and a stale If-Match: 412, nothing written
  const exists = await kv.PUT('/v1/kv/{key}', { params: { path: { key }, header: { 'If-None-Match': '*' } }, body: 'x', bodySerializer: raw });
  problem(exists.error, 412, 'VERSION_MISMATCH');
  const stale = await kv.PUT('/v1/kv/{key}', { params: { path: { key }, header: { 'If-Match': '"1"' } }, body: 'x', bodySerializer: raw });
  problem(stale.error, 412, 'VERSION_MISMATCH');
  const cas = await kv.PUT('/v1/kv/{key}', { params: { path: { key }, header: { 'If-Match': etag! } }, body: 'world', bodySerializer: raw, headers: { 'content-type': 'application/octet-stream' } });
  assert.is(cas.response.status, 200);
  assert.ok(BigInt(cas.data!.version) > BigInt(put.data!.version));
  const created = await kv.PUT('/v1/kv/{key}', { params: { path: { key: 'docs/new' }, header: { 'If-None-Match': '*' }, query: { ttl: 3600 } }, body: 'n', bodySerializer: raw });
  assert.is(created.response.status, 201);
  const withTtl = await kv.GET('/v1/kv/{key}', { params: { path: { key: 'docs/new' } }, parseAs: 'text' });
  assert.ok(Date.parse(withTtl.response.headers.get('x-expires-at') ?? '') > Date.now());

  const a = await kv.POST('/v1/kv/{key}/incr', { params: { path: { key: 'docs/counter' }, query: { by: '5' } } });
  assert.is(a.data?.value, '5');
  const b = await kv.POST('/v1/kv/{key}/incr', { params: { path: { key: 'docs/counter' }, query: { by: '-7' } } });
  assert.is(b.data?.value, '-2');
  problem((await kv.POST('/v1/kv/{key}/incr', { params: { path: { key } } })).error, 409, 'NOT_A_NUMBER');

  const del = await kv.DELETE('/v1/kv/{key}', { params: { path: { key }, header: { 'If-Match': `"${cas.data!.version}"` } } });
  assert.is(del.response.status, 204);
  problem((await kv.GET('/v1/kv/{key}', { params: { path: { key } }, parseAs: 'text' })).error, 404, 'NOT_FOUND');
  problem((await kv.DELETE('/v1/kv/{key}', { params: { path: { key } } })).error, 404, 'NOT_FOUND');
});

t('scan pages, batch and txn', async (ctx) => {
  const kv = ctx.kv!;
  const batch = await kv.POST('/v1/batch', { body: { ops: [1, 2, 3].map((i) => ({ op: 'put' as const, key: `scan/${i}`, value: `v${i}` })) } });
  assert.match(batch.data!.version, /^\d+$/);
  const first = await kv.GET('/v1/kv', { params: { query: { prefix: 'scan/', limit: 2, values: true } } });
  assert.equal(first.data!.items.map((i) => [i.key, Buffer.from(i.value!, 'base64').toString()]), [['scan/1', 'v1'], ['scan/2', 'v2']]);
  assert.ok(first.data!.cursor);
  const second = await kv.GET('/v1/kv', { params: { query: { prefix: 'scan/', limit: 2, cursor: first.data!.cursor } } });
  assert.equal(second.data!.items, [{ key: 'scan/3' }]);
  assert.is(second.data!.cursor, undefined);

  const txn = await kv.POST('/v1/txn', {
    body: { compare: [{ key: 'scan/1', op: '=', value: 'v1' }], success: [{ op: 'get', key: 'scan/2' }, { op: 'incr', key: 'scan/n' }, { op: 'del', key: 'scan/3' }, { op: 'put', key: 'scan/4', value: 'v4' }], failure: [] },
  });
  const out = txn.data!;
  assert.is(out.succeeded, true);
  assert.equal(out.results.map((r) => r.op), ['get', 'incr', 'del', 'put']);
  assert.equal([out.results[0]!.found, Buffer.from(out.results[0]!.value!, 'base64').toString(), out.results[1]!.value, out.results[2]!.deleted], [true, 'v2', '1', true]);
});

t('errors: 400, 401, 403, 404 and 415 are problem+json with the documented shape', async (ctx) => {
  const kv = ctx.kv!;
  // 400: a query parameter out of its schema's bounds, and one the route does not take
  problem((await kv.GET('/v1/kv', { params: { query: { limit: 0 } } })).error, 400, 'INVALID_ARGUMENT');
  problem((await kv.DELETE('/v1/kv/{key}', { params: { path: { key: 'k' }, query: { ifVersion: '3' } as never } })).error, 400, 'INVALID_ARGUMENT');
  // 401: no credentials, with WWW-Authenticate
  const anon = await client(ctx.server!.url).GET('/v1/kv/{key}', { params: { path: { key: 'k' } }, parseAs: 'text' });
  problem(anon.error, 401, 'AUTH_FAILED');
  assert.ok(anon.response.headers.get('www-authenticate'));
  // 403: a reserved key
  problem((await kv.PUT('/v1/kv/{key}', { params: { path: { key: '_sys.x' } }, body: 'x', bodySerializer: raw })).error, 403, 'RESERVED_KEY');
  // 404: a catalog object that does not exist
  problem((await kv.GET('/v1/admin/users/{name}', { params: { path: { name: 'nobody' } } })).error, 404, 'NOT_FOUND');
  // 415: a JSON route given text
  problem((await kv.POST('/v1/batch', { body: { ops: [] }, bodySerializer: () => 'ops', headers: { 'content-type': 'text/plain' } })).error, 415, 'UNSUPPORTED_MEDIA_TYPE');
});

t('the catalog through the contract: a user, a role, an API key that may write only its prefix', async (ctx) => {
  const kv = ctx.kv!;
  const role = await kv.POST('/v1/admin/roles', { body: { name: 'docs-writer', permissions: [{ prefix: 'docs/', actions: ['read', 'write'] }] } });
  assert.is(role.response.status, 201);
  assert.equal(role.data!.permissions, [{ prefix: 'docs/', actions: ['read', 'write'] }]);
  const user = await kv.POST('/v1/admin/users', { body: { name: 'writer', roles: ['docs-writer'] } });
  assert.equal([user.response.status, user.data!.name, user.data!.hasPassword, user.data!.locked], [201, 'writer', false, false]);
  const key = await kv.POST('/v1/admin/apikeys', { body: { owner: 'writer', name: 'w1' } });
  assert.is(key.response.status, 201);
  assert.equal([key.data!.record.owner, key.data!.record.revoked, key.data!.record.roles], ['writer', false, null]);

  const w = client(ctx.server!.url, { 'x-api-key': key.data!.token });
  assert.is((await w.PUT('/v1/kv/{key}', { params: { path: { key: 'docs/by-key' } }, body: 'ok', bodySerializer: raw })).response.status, 200);
  problem((await w.PUT('/v1/kv/{key}', { params: { path: { key: 'other/k' } }, body: 'no', bodySerializer: raw })).error, 403, 'PERMISSION_DENIED');
  problem((await w.GET('/v1/admin/stats')).error, 403, 'PERMISSION_DENIED');
  const who = await w.GET('/v1/auth/whoami');
  assert.equal([who.data!.type, who.data!.keyName, who.data!.admin], ['apikey', 'w1', false]);

  const users = await kv.GET('/v1/admin/users');
  assert.equal(users.data!.users.map((u) => u.name).sort(), ['admin', 'writer']);
  assert.ok((await kv.GET('/v1/admin/roles')).data!.roles.some((r) => r.name === 'docs-writer' && !r.builtin));
  assert.equal((await kv.GET('/v1/admin/apikeys', { params: { query: { owner: 'writer' } } })).data!.apiKeys.map((k) => k.name), ['w1']);
  assert.is((await kv.POST('/v1/admin/users/{name}/lock', { params: { path: { name: 'writer' } }, body: { reason: 'test' } })).response.status, 204);
  problem((await w.GET('/v1/auth/whoami')).error, 401, 'AUTH_FAILED');
  assert.equal([(await kv.GET('/v1/admin/users/{name}', { params: { path: { name: 'writer' } } })).data!.lockedReason], ['test']);
  assert.is((await kv.DELETE('/v1/admin/apikeys/{name}', { params: { path: { name: 'w1' } } })).response.status, 204);
  const audit = await kv.GET('/v1/admin/audit', { params: { query: { limit: 5 } } });
  assert.is(audit.data!.entries.length, 5);
  const exported = await kv.GET('/v1/admin/audit/export', { params: { query: { limit: 3 } } });
  assert.is(exported.data!.entries.length, 3);
  const settings = await kv.GET('/v1/admin/settings');
  const patched = await kv.PATCH('/v1/admin/settings', { body: { minPasswordLength: settings.data!.minPasswordLength! + 1 } });
  assert.is(patched.data!.minPasswordLength, settings.data!.minPasswordLength! + 1);
  assert.match((await kv.POST('/v1/admin/signing-keys/rotate')).data!.kid, /./);
});

t('operations: stats, checkpoint, replication, archive, cluster, read-index, health', async (ctx) => {
  const kv = ctx.kv!;
  const stats = await kv.GET('/v1/admin/stats');
  assert.ok((stats.data!.keys ?? 0) > 0);
  assert.match((await kv.POST('/v1/admin/checkpoint')).data!.redoLsn, /^\d+$/);
  assert.is((await kv.GET('/v1/admin/replication')).data!.role, 'primary');
  assert.is((await kv.GET('/v1/admin/archive')).data!.enabled, false);
  problem((await kv.GET('/v1/cluster')).error, 404, 'NOT_FOUND');
  problem((await kv.POST('/v1/admin/cluster/switchover', { body: { to: 'n2' } })).error, 404, 'NOT_FOUND');
  assert.match((await kv.GET('/v1/cluster/read-index')).data!.lsn, /^\d+$/);
  const anon = client(ctx.server!.url);
  assert.equal((await anon.GET('/health')).data, { status: 'ok' });
  assert.is((await anon.GET('/ready')).data!.status, 'ready');
});

t('every response above was checked against the document', () => {
  // the middleware ran on every call: at least these operation/status pairs were validated
  for (const s of ['login 200', 'putValue 200', 'putValue 201', 'putValue 412', 'getValue 200', 'getValue 404', 'incrValue 200', 'deleteValue 204', 'scan 200', 'scan 400', 'txn 200', 'batch 415', 'getValue 401', 'createApiKey 201', 'getStats 403']) {
    assert.ok(seen.includes(s), `${s} not seen in ${seen.join(', ')}`);
  }
});

t.run();
