/**
 * Any node serves clients (issue 15), writes: one real primary and three real standbys
 * (kvstored --replica-of), one per `standby_writes` mode. Through the forwarding standby every
 * mutating route (put, put with TTL, CAS, delete, incr, batch, login, user/role/grant/API-key
 * administration) lands on the primary with the primary's answer relayed, and the PRIMARY
 * decides who may do it (a read-only user gets 403, no credentials 401, nothing written). A
 * redirecting standby answers 307 + Location and the client follows it; a refusing one
 * answers READ_ONLY; a forwarded request that reaches a node that is not the primary is
 * refused with NOT_PRIMARY, never forwarded again. gRPC writes on a standby answer NOT_PRIMARY
 * with the primary's URL. Stale reads carry the applied LSN.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { connect } from '../ts/client/index.js';
import { helpText, loadConfig } from '../ts/server/config.js';
import { codeOf } from './behaviour-cases.js';
import { KVCTL, runCli } from './cli-proc.js';
import { ADMIN_PASSWORD, type Credentials, type KvNode, caughtUp, flushedLsn, killAll, startNode, startPrimary } from './repl-cluster.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('routing: writes through a standby');

let primary: KvNode;
let creds: Credentials;
let fwd: KvNode;
let redir: KvNode;
let refuse: KvNode;
/** An API key of a user with only the built-in reader role. */
let readOnlyKey: string;

test.before(async () => {
  ({ primary, creds } = await startPrimary());
  const standby = (id: string, args: string[]): Promise<KvNode> => startNode(tempDir(`route-${id}`), { replicaOf: primary.url, apiKey: creds.replicator, standbyId: id, args });
  [fwd, redir, refuse] = await Promise.all([standby('fwd', ['--grpc-port', '0']), standby('redir', ['--standby-writes', 'redirect']), standby('refuse', ['--standby-writes', 'refuse'])]);
  assert.is((await primary.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'ro', roles: ['reader'] } })).status, 201);
  readOnlyKey = (await primary.api('POST', '/v1/admin/apikeys', { key: creds.admin, body: { owner: 'ro', name: 'ro-key' } })).json<{ token: string }>().token;
});
test.after(killAll);

const onPrimary = async (key: string): Promise<{ status: number; text: string; etag: string | null }> => {
  const r = await primary.api('GET', `/v1/kv/${key}`, { key: creds.admin });
  return { status: r.status, text: r.text, etag: r.headers.get('etag') };
};

test('forward: put, put with TTL, CAS (match, mismatch, create-only), delete, incr and batch sent to a standby land on the primary with its answers', async () => {
  const put = await fwd.api('PUT', '/v1/kv/f/a', { key: creds.admin, raw: 'A1' });
  assert.is(put.status, 200, put.text);
  assert.is(put.headers.get('x-kvstore-primary'), primary.url);
  const v1 = put.json<{ version: string }>().version;
  assert.is(put.headers.get('etag'), `"${v1}"`);
  assert.equal(await onPrimary('f/a'), { status: 200, text: 'A1', etag: `"${v1}"` });

  // A streamed body (chunked, no content-length) is forwarded as it comes.
  const chunks = ['chunk-1 ', 'chunk-2 ', 'chunk-3'];
  const body = new ReadableStream<Uint8Array>({ pull: (c) => void (chunks.length ? c.enqueue(Buffer.from(chunks.shift()!)) : c.close()) });
  const chunked = await fetch(`${fwd.url}/v1/kv/f/chunked`, { method: 'PUT', headers: { 'x-api-key': creds.admin }, body, duplex: 'half' } as RequestInit);
  assert.is(chunked.status, 200, await chunked.text());
  assert.is((await onPrimary('f/chunked')).text, 'chunk-1 chunk-2 chunk-3');

  const ttl = await fwd.api('PUT', '/v1/kv/f/ttl?ttl=60', { key: creds.admin, raw: 'T' });
  assert.is(ttl.status, 200, ttl.text);
  assert.ok((await primary.api('GET', '/v1/kv/f/ttl', { key: creds.admin })).headers.get('x-expires-at'), 'the TTL (query string) reached the primary');

  const cas = await fwd.api('PUT', '/v1/kv/f/a', { key: creds.admin, raw: 'A2', headers: { 'if-match': `"${v1}"` } });
  assert.is(cas.status, 200, cas.text);
  const stale = await fwd.api('PUT', '/v1/kv/f/a', { key: creds.admin, raw: 'A3', headers: { 'if-match': `"${v1}"` } });
  assert.is(stale.status, 412, stale.text);
  assert.is(stale.json<{ code: string }>().code, 'VERSION_MISMATCH');
  const create = await fwd.api('PUT', '/v1/kv/f/new', { key: creds.admin, raw: 'N', headers: { 'if-none-match': '*' } });
  assert.is(create.status, 201, create.text);
  assert.is((await onPrimary('f/a')).text, 'A2', 'the failed CAS changed nothing');

  const incr = await fwd.api('POST', '/v1/kv/f/n/incr?by=5', { key: creds.admin });
  assert.is(incr.status, 200, incr.text);
  assert.equal(incr.json(), { value: '5' });
  const notNumber = await fwd.api('POST', '/v1/kv/f/a/incr', { key: creds.admin });
  assert.is(notNumber.json<{ code: string }>().code, 'NOT_A_NUMBER', notNumber.text);

  const batch = await fwd.api('POST', '/v1/batch', { key: creds.admin, body: { ops: [{ op: 'put', key: 'f/b1', value: 'B1' }, { op: 'put', key: 'f/b2', value: 'QjI=', encoding: 'base64' }, { op: 'del', key: 'f/new' }] } });
  assert.is(batch.status, 200, batch.text);
  assert.is((await onPrimary('f/b2')).text, 'B2');
  assert.is((await onPrimary('f/new')).status, 404);

  const del = await fwd.api('DELETE', '/v1/kv/f/a', { key: creds.admin });
  assert.is(del.status, 204, del.text);
  assert.is((await onPrimary('f/a')).status, 404);
  const again = await fwd.api('DELETE', '/v1/kv/f/a', { key: creds.admin });
  assert.is(again.status, 404);
  assert.is(again.json<{ code: string }>().code, 'NOT_FOUND');
  const bad = await fwd.api('POST', '/v1/batch', { key: creds.admin, body: { ops: [] } });
  assert.is(bad.status, 400, 'the primary validated the body');
  // The primary's answers reach the standby by replication, as any write.
  await caughtUp(fwd, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is((await fwd.api('GET', '/v1/kv/f/b1', { key: creds.admin })).text, 'B1');
});

test('forward: login and catalog administration (role, user, grant, API key, revoke) through a standby happen on the primary', async () => {
  const login = await fwd.api('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } });
  assert.is(login.status, 200, login.text);
  const token = login.json<{ token: string }>().token;
  assert.is((await primary.api('GET', '/v1/auth/whoami', { token })).json<{ user: string }>().user, 'admin', 'the token logs in on the primary');
  assert.is((await fwd.api('POST', '/v1/admin/roles', { token, body: { name: 'app', permissions: [{ prefix: 'app/', actions: ['read', 'write'] }] } })).status, 201);
  assert.is((await fwd.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'u2', password: 'a long enough password 1' } })).status, 201);
  assert.is((await fwd.api('POST', '/v1/admin/grant', { key: creds.admin, body: { role: 'app', user: 'u2' } })).status, 204);
  const key = await fwd.api('POST', '/v1/admin/apikeys', { key: creds.admin, body: { owner: 'u2', name: 'u2k' } });
  assert.is(key.status, 201, key.text);
  const u2 = key.json<{ token: string }>().token;
  assert.is((await primary.api('PUT', '/v1/kv/app/x', { key: u2, raw: 'X' })).status, 200, 'the key and its grant exist on the primary');
  assert.is((await fwd.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'u2' } })).json<{ code: string }>().code, 'ALREADY_EXISTS');
  assert.is((await fwd.api('DELETE', '/v1/admin/apikeys/u2k', { key: creds.admin })).status, 204);
  assert.is((await primary.api('PUT', '/v1/kv/app/x', { key: u2, raw: 'Y' })).status, 401, 'revoked through the standby');
});

test('forward: the PRIMARY authenticates and authorizes: a read-only user gets 403, no or bad credentials 401, and nothing is written', async () => {
  const ro = await fwd.api('PUT', '/v1/kv/ro/x', { key: readOnlyKey, raw: 'no' });
  assert.is(ro.status, 403, ro.text);
  assert.is(ro.json<{ code: string }>().code, 'PERMISSION_DENIED');
  assert.is((await fwd.api('POST', '/v1/admin/users', { key: readOnlyKey, body: { name: 'evil' } })).status, 403);
  assert.is((await fwd.api('POST', '/v1/batch', { key: readOnlyKey, body: { ops: [{ op: 'put', key: 'ro/y', value: 'no' }] } })).status, 403);
  const anon = await fwd.api('PUT', '/v1/kv/ro/x', { raw: 'no' });
  assert.is(anon.status, 401, anon.text);
  assert.ok(anon.headers.get('www-authenticate'), 'the primary\'s challenge is relayed');
  assert.is((await fwd.api('PUT', '/v1/kv/ro/x', { key: 'kvs_not_a_real_key', raw: 'no' })).status, 401);
  assert.is((await onPrimary('ro/x')).status, 404);
  assert.is((await onPrimary('ro/y')).status, 404);
  assert.is((await primary.api('GET', '/v1/admin/users/evil', { key: creds.admin })).status, 404);
  // The key (a secret) is in no log line of either node.
  for (const n of [fwd, primary]) assert.not.ok(n.stdout().includes(readOnlyKey) || n.stderr().includes(readOnlyKey), 'no API key in the logs');
});

test('loop protection: a forwarded write reaching a standby is answered NOT_PRIMARY (503, Retry-After), not forwarded again; the primary takes it', async () => {
  const r = await fwd.api('PUT', '/v1/kv/loop/a', { key: creds.admin, raw: 'L', headers: { 'x-kvstore-forwarded': '1' } });
  assert.is(r.status, 503, r.text);
  assert.is(r.json<{ code: string }>().code, 'NOT_PRIMARY');
  assert.is(r.headers.get('retry-after'), '1');
  assert.is((await onPrimary('loop/a')).status, 404);
  assert.is((await primary.api('PUT', '/v1/kv/loop/a', { key: creds.admin, raw: 'L', headers: { 'x-kvstore-forwarded': '1' } })).status, 200);
});

test('redirect: 307 with Location on the primary, nothing written by the standby; the client follows with method and body', async () => {
  const r = await fetch(`${redir.url}/v1/kv/r/a?ttl=30`, { method: 'PUT', redirect: 'manual', headers: { 'x-api-key': creds.admin }, body: 'R' });
  assert.is(r.status, 307, await r.text());
  assert.is(r.headers.get('location'), `${primary.url}/v1/kv/r/a?ttl=30`);
  assert.is((await onPrimary('r/a')).status, 404);
  const c = connect({ url: redir.url, apiKey: creds.admin });
  try {
    const { version } = await c.put('r/a', 'via redirect');
    assert.is((await onPrimary('r/a')).text, 'via redirect');
    await c.put('r/a', 'cas', { ifVersion: version });
    assert.is(await codeOf(() => c.put('r/a', 'stale cas', { ifVersion: version })), 'VERSION_MISMATCH');
    assert.is(await c.incr('r/n', 3n), 3n);
    await c.batch([{ type: 'put', key: 'r/b', value: 'B' }, { type: 'del', key: 'r/a' }]);
    assert.equal([(await onPrimary('r/a')).status, (await onPrimary('r/b')).text, (await onPrimary('r/n')).text], [404, 'B', '3']);
    assert.equal(await c.delete('r/b'), { deleted: true });
  } finally {
    await c.close();
  }
  // kvctl follows the redirect too; its reads on the standby stay local.
  const env = { KVCTL_CONFIG_DIR: tempDir('route-kvctl'), KVCTL_API_KEY: creds.admin };
  const put = await runCli(KVCTL, ['--url', redir.url, 'put', 'r/kvctl', 'via kvctl'], { env });
  assert.is(put.code, 0, put.stderr);
  assert.is((await onPrimary('r/kvctl')).text, 'via kvctl');
  const denied = await runCli(KVCTL, ['--url', redir.url, 'put', 'r/kvctl', 'no'], { env: { ...env, KVCTL_API_KEY: readOnlyKey } });
  assert.is(denied.code, 3, denied.stderr);
  assert.match(denied.stderr, 'PERMISSION_DENIED');
  const ro = connect({ url: redir.url, apiKey: readOnlyKey });
  assert.is(await codeOf(() => ro.put('r/ro', 'no')), 'PERMISSION_DENIED', 'the primary decides after the redirect too');
  await ro.close();
});

test('refuse: READ_ONLY (409) naming the primary; nothing written', async () => {
  const r = await refuse.api('PUT', '/v1/kv/x/a', { key: creds.admin, raw: 'no' });
  assert.is(r.status, 409, r.text);
  assert.is(r.json<{ code: string }>().code, 'READ_ONLY');
  assert.match(r.json<{ detail: string }>().detail, primary.url);
  assert.is((await refuse.api('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } })).json<{ code: string }>().code, 'READ_ONLY');
  assert.is((await onPrimary('x/a')).status, 404);
});

test('node-local routes stay local on a standby: checkpoint runs there, not on the primary', async () => {
  const r = await fwd.api('POST', '/v1/admin/checkpoint', { key: creds.admin });
  assert.is(r.status, 200, r.text);
  assert.is(r.headers.get('x-kvstore-primary'), null, 'not forwarded');
});

test('gRPC: a write on a standby is NOT_PRIMARY with the primary\'s URL (not forwarded); reads are served', async () => {
  const line = fwd.logs().find((l) => l.msg === 'listening') as unknown as { grpc: string };
  const g = connect({ url: line.grpc, apiKey: creds.admin, retry: { retries: 0 } });
  try {
    let err: { code?: string; message?: string } = {};
    try {
      await g.put('g/a', 'no');
    } catch (e) {
      err = e as { code: string; message: string };
    }
    assert.is(err.code, 'NOT_PRIMARY');
    assert.match(err.message ?? '', primary.url);
    assert.is(await codeOf(() => g.incr('g/n')), 'NOT_PRIMARY');
    assert.is(await codeOf(() => g.batch([{ type: 'del', key: 'g/a' }])), 'NOT_PRIMARY');
    assert.is(await codeOf(() => g.delete('g/a')), 'NOT_PRIMARY');
    await caughtUp(fwd, creds.admin, await flushedLsn(primary, creds.admin));
    assert.is((await g.get('f/b1'))?.toString(), 'B1');
  } finally {
    await g.close();
  }
  assert.is((await onPrimary('g/a')).status, 404);
  assert.is(await codeOf(() => connect({ url: 'grpc://127.0.0.1:1', consistency: 'linearizable' }).get('x')), 'INVALID_ARGUMENT');
});

test('stale reads (the default, or consistency=stale) are local and say the LSN this node has applied; a bad consistency is 400', async () => {
  const lsn = await flushedLsn(primary, creds.admin);
  await caughtUp(fwd, creds.admin, lsn);
  for (const q of ['', '?consistency=stale']) {
    const r = await fwd.api('GET', `/v1/kv/f/b1${q}`, { key: creds.admin });
    assert.is(r.status, 200, r.text);
    assert.ok(BigInt(r.headers.get('x-kvstore-applied-lsn') ?? '-1') >= lsn, `${q}: applied LSN header`);
    assert.is(r.headers.get('x-kvstore-primary'), null, 'served locally');
  }
  const scan = await fwd.api('GET', '/v1/kv?prefix=f/&consistency=stale', { key: creds.admin, headers: { 'x-kvstore-consistency': 'stale' } });
  assert.is(scan.status, 200, scan.text);
  assert.ok(BigInt(scan.headers.get('x-kvstore-applied-lsn') ?? '-1') >= lsn);
  assert.is((await fwd.api('GET', '/v1/kv/f/b1?consistency=eventual', { key: creds.admin })).status, 400);
  assert.is((await fwd.api('GET', '/v1/kv/f/b1', { key: creds.admin, headers: { 'x-kvstore-consistency': 'sometimes' } })).status, 400);
  assert.is((await fwd.api('GET', '/v1/kv/f/b1?consistency=stale', { key: creds.admin, headers: { 'x-kvstore-consistency': 'linearizable' } })).status, 400);
});

test('metrics: each standby counts what it did with the writes it could not take', async () => {
  const sample = async (n: KvNode, name: string): Promise<number> => {
    const text = (await n.api('GET', '/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(name + ' '));
    return Number(line?.split(' ').at(-1) ?? NaN);
  };
  assert.ok(await sample(fwd, 'kvstore_routing_writes_total{outcome="forwarded"}') >= 20, 'forwarded writes counted');
  assert.ok(await sample(fwd, 'kvstore_routing_writes_total{outcome="not_primary"}') >= 1, 'the looped request counted');
  assert.ok(await sample(redir, 'kvstore_routing_writes_total{outcome="redirected"}') >= 5, 'redirects counted');
  assert.ok(await sample(refuse, 'kvstore_routing_writes_total{outcome="refused"}') >= 2, 'refusals counted');
  assert.is(await sample(primary, 'kvstore_routing_writes_total{outcome="forwarded"}'), 0, 'the primary routes nothing');
});

test('settings: standby_writes, forward_timeout_ms, linearizable_read_timeout_ms from defaults, file, environment and flags; bad values refused; the example file sets the defaults', () => {
  const d = loadConfig([], {}).config;
  assert.equal([d.standbyWrites, d.forwardTimeoutMs, d.linearizableReadTimeoutMs], ['forward', 30_000, 5000]);
  const dir = tempDir('route-cfg');
  const file = path.join(dir, 'k.toml');
  fs.writeFileSync(file, 'standby_writes = "refuse"\nforward_timeout_ms = 1000\n');
  const c = loadConfig(['--config', file, '--linearizable-read-timeout-ms', '250'], { KVSTORE_STANDBY_WRITES: 'redirect' }).config;
  assert.equal([c.standbyWrites, c.forwardTimeoutMs, c.linearizableReadTimeoutMs], ['redirect', 1000, 250]);
  assert.throws(() => loadConfig(['--standby-writes', 'proxy'], {}), /standby_writes .* must be one of forward, redirect, refuse/);
  assert.throws(() => loadConfig(['--forward-timeout-ms', '0'], {}), /forward_timeout_ms/);
  const example = loadConfig(['--config', path.join(repoRoot, 'deploy', 'kvstored.example.toml')], {}).config;
  assert.equal([example.standbyWrites, example.forwardTimeoutMs, example.linearizableReadTimeoutMs], [d.standbyWrites, d.forwardTimeoutMs, d.linearizableReadTimeoutMs]);
  assert.match(helpText(), /Routing on a standby[^]*--standby-writes <forward\|redirect\|refuse>/);
});

test.run();
