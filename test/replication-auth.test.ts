/**
 * Who may replicate, and auth across nodes (issue 14): the stream and feedback routes refuse
 * anonymous callers and wrong keys (401) and users without the replicator or admin role
 * (403) before anything of the WAL is sent; a replicator key streams but reads no data; an
 * embedded replica with a refused key stops with that code and holds nothing. Over mutual
 * TLS, a standby with the primary's CA and a client certificate follows, one without the
 * certificate cannot connect. `_sys.*` replicates: a token issued by the primary, and users,
 * roles and API keys created there, work on the standby (a revoked key stops working there
 * too), writes and logins sent to the standby are forwarded to the primary and authorized
 * there, and a standby that served those requests shuts down cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameKind, FrameReader } from '../ts/replication/frames.js';
import { open } from '../ts/store/store.js';
import { ENGINES, tempDir } from './helpers.js';
import { ADMIN_PASSWORD, type KvNode, caughtUp, credentials, flushedLsn, killAll, startNode, startPrimary } from './repl-cluster.js';
import { makeCerts } from './tls-certs.js';

const test = suite('replication: authorization');
test.after.each(killAll);
const engine = ENGINES[0]!;

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first frame of a stream response (the stream is then dropped). */
async function firstFrame(node: KvNode, key: string): Promise<{ status: number; type: string | null; kind?: number }> {
  const ac = new AbortController();
  const res = await fetch(`${node.url}/v1/replication/stream?from=1&standby=probe`, { headers: { 'x-api-key': key }, signal: ac.signal });
  if (res.status !== 200) return { status: res.status, type: res.headers.get('content-type') };
  const reader = new FrameReader();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const frames = reader.push(Buffer.from(chunk));
      if (frames.length > 0) return { status: 200, type: res.headers.get('content-type'), kind: frames[0]!.kind };
    }
    throw new Error('the stream ended before a frame');
  } finally {
    ac.abort();
  }
}

test('the stream and feedback refuse anonymous callers, wrong keys and users without the replicator role; nothing is streamed', async () => {
  const { primary, creds } = await startPrimary({ engine });
  const writerUser = await primary.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'w', roles: ['writer'] } });
  assert.ok(writerUser.status === 201 || writerUser.status === 200, writerUser.text);
  const writerKey = (await primary.api('POST', '/v1/admin/apikeys', { key: creds.admin, body: { owner: 'w', name: 'wk' } })).json<{ token: string }>().token;
  const wrongKey = `${creds.replicator.slice(0, -1)}${creds.replicator.endsWith('A') ? 'B' : 'A'}`;
  const feedback = { standby: 'probe', flushedLsn: '1', appliedLsn: '1' };
  for (const [who, key, status, code] of [['anonymous', undefined, 401, 'AUTH_FAILED'], ['a wrong key', wrongKey, 401, 'AUTH_FAILED'], ['a writer', writerKey, 403, 'PERMISSION_DENIED']] as const) {
    const s = await primary.api('GET', '/v1/replication/stream?from=1&standby=probe', key === undefined ? {} : { key });
    assert.is(s.status, status, `${who}: stream ${s.text}`);
    assert.is(s.json<{ code: string }>().code, code, who);
    assert.not.match(s.headers.get('content-type') ?? '', 'x-kvstore-replication', `${who}: no stream`);
    const f = await primary.api('POST', '/v1/replication/feedback', key === undefined ? { body: feedback } : { key, body: feedback });
    assert.is(f.status, status, `${who}: feedback ${f.text}`);
    assert.is(f.json<{ code: string }>().code, code, who);
  }
  assert.equal((await primary.replication(creds.admin)).standbys, [], 'no refused caller was registered as a standby');
  // The replicator key streams (HELLO first) and nothing else; an admin may stream too.
  assert.equal(await firstFrame(primary, creds.replicator), { status: 200, type: 'application/x-kvstore-replication', kind: FrameKind.HELLO });
  assert.equal(await firstFrame(primary, creds.admin), { status: 200, type: 'application/x-kvstore-replication', kind: FrameKind.HELLO });
  assert.is((await primary.api('PUT', '/v1/kv/x', { key: creds.replicator, raw: 'v' })).status, 403);
  assert.is((await primary.api('GET', '/v1/admin/replication', { key: creds.replicator })).status, 403);
  // An embedded replica with the writer's key is refused and stops; it holds nothing.
  const dir = tempDir('repl-r');
  const replica = await open({ dir, engine, replicaOf: primary.url, apiKey: writerKey, standbyId: 'w-replica', onLog: () => undefined });
  try {
    await until(() => replica.replication().lastError?.code === 'PERMISSION_DENIED', 'PERMISSION_DENIED');
    assert.is(replica.replication().appliedLsn, 0n);
    assert.is(replica.replication().connected, false);
    assert.is([...replica.scan()].length, 0);
  } finally {
    await replica.close();
  }
});

test('mutual TLS: a standby with the CA and a client certificate follows; without the certificate it cannot connect', async () => {
  const certs = makeCerts();
  const pem = (f: string): Buffer => fs.readFileSync(path.join(certs, f));
  const tlsArgs = ['--tls-cert', path.join(certs, 'server.pem'), '--tls-key', path.join(certs, 'server.key'), '--tls-ca', path.join(certs, 'ca.pem'), '--tls-require-client-cert'];
  const primary = await startNode(tempDir('repl-p'), { engine, args: tlsArgs, clientTls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') } });
  assert.match(primary.url, /^https:/);
  const creds = await credentials(primary);
  const standby = await startNode(tempDir('repl-s'), {
    engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1',
    args: ['--replication-ca', path.join(certs, 'ca.pem'), '--replication-cert', path.join(certs, 'client.pem'), '--replication-key', path.join(certs, 'client.key')],
  });
  assert.is((await primary.api('PUT', '/v1/kv/over-mtls', { key: creds.admin, raw: 'yes' })).status, 200);
  await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is((await standby.api('GET', '/v1/kv/over-mtls', { key: creds.admin })).text, 'yes');
  // The embedded replica: with the CA only the handshake fails; with the certificate it follows.
  const without = await open({ dir: tempDir('repl-r'), engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'r0', tls: { ca: pem('ca.pem') }, onLog: () => undefined });
  const withCert = await open({ dir: tempDir('repl-r'), engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'r1', tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') }, onLog: () => undefined });
  try {
    await until(() => withCert.get('over-mtls')?.toString() === 'yes', 'the replica with a certificate to follow');
    await until(() => without.replication().lastError !== null, 'the replica without a certificate to fail');
    assert.is(without.replication().lastError!.code, 'IO_ERROR');
    assert.is(without.replication().appliedLsn, 0n);
    assert.is(without.get('over-mtls'), undefined);
  } finally {
    await without.close();
    await withCert.close();
  }
});

test('a token issued by the primary, and users, roles and API keys created there, work on the standby; a revoked key stops working there; the standby stops cleanly', async () => {
  const { primary, creds } = await startPrimary({ engine });
  const standby = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
  const login = await primary.api('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } });
  const token = login.json<{ token: string }>().token;
  assert.is((await primary.api('POST', '/v1/admin/roles', { key: creds.admin, body: { name: 'app', permissions: [{ prefix: 'app/', actions: ['read', 'write'] }] } })).status, 201);
  assert.is((await primary.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'u1', roles: ['app'] } })).status, 201);
  const u1Key = (await primary.api('POST', '/v1/admin/apikeys', { key: creds.admin, body: { owner: 'u1', name: 'u1k' } })).json<{ token: string }>().token;
  assert.is((await primary.api('PUT', '/v1/kv/app/a', { key: u1Key, raw: 'A' })).status, 200);
  assert.is((await primary.api('PUT', '/v1/kv/other', { key: creds.admin, raw: 'O' })).status, 200);
  await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  const viaToken = await standby.api('GET', '/v1/kv/other', { token });
  assert.is(viaToken.status, 200, viaToken.text);
  assert.ok(Number(viaToken.headers.get('x-kvstore-applied-lsn')) > 0, 'a standby read says its applied LSN');
  assert.is((await standby.api('GET', '/v1/kv/app/a', { key: u1Key })).text, 'A');
  assert.is((await standby.api('GET', '/v1/kv/other', { key: u1Key })).status, 403, 'the role granted on the primary limits u1 on the standby');
  // A write on the standby is forwarded to the primary, which authorizes it (routing.ts).
  const write = await standby.api('PUT', '/v1/kv/app/b', { key: u1Key, raw: 'B' });
  assert.is(write.status, 200, write.text);
  assert.is((await primary.api('GET', '/v1/kv/app/b', { key: u1Key })).text, 'B');
  assert.is((await standby.api('PUT', '/v1/kv/other', { key: u1Key, raw: 'no' })).status, 403, 'the primary refuses what u1 may not write');
  assert.is((await primary.api('DELETE', '/v1/admin/apikeys/u1k', { key: creds.admin })).status, 204);
  await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is((await standby.api('GET', '/v1/kv/app/a', { key: u1Key })).status, 401, 'revoked on the primary, refused on the standby');
  // Logging in writes the catalog (throttling, audit): a standby forwards it to the primary, and the token works on both.
  const standbyLogin = await standby.api('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } });
  assert.is(standbyLogin.status, 200, standbyLogin.text);
  await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is((await standby.api('GET', '/v1/kv/other', { token: standbyLogin.json<{ token: string }>().token })).text, 'O');
  assert.is(await standby.stop(), 0, standby.tail());
  assert.is(await primary.stop(), 0, primary.tail());
});

test.run();
