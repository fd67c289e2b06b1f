/**
 * kvstored's gRPC port seen by a plain grpc-js client (no kvstore client code in the way):
 * reflection, credentials in metadata, error statuses with the stable code in their details,
 * methods it does not have, rate limits shared with the HTTP port, metrics, TLS and mutual
 * TLS, its configuration and a graceful stop.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadKvstoreProto } from '../ts/grpc/proto.js';
import { errorCodeOf } from '../ts/grpc/status.js';
import { connect } from '../ts/client/index.js';
import { repoRoot } from './helpers.js';
import { type Kvstored, loginToken, startKvstored } from './kvstored-child.js';
import { makeCerts } from './tls-certs.js';
import { writeThirtyMegabytes } from './slow-watch-load.js';

const { proto } = loadKvstoreProto();
type Any = Record<string, unknown>;

interface Raw {
  kv: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  auth: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  close(): void;
}

function raw(url: string, creds = grpc.credentials.createInsecure()): Raw {
  const target = url.replace(/^grpcs?:\/\//, '');
  const kv = new proto.kvstore.v1.KV(target, creds) as unknown as Raw['kv'];
  const auth = new proto.kvstore.v1.Auth(target, creds) as unknown as Raw['auth'];
  return { kv, auth, close: () => (kv.close(), auth.close()) };
}

/** One unary call: its response, or its error status, details code and trailers. */
function call(client: Raw['kv'], method: string, request: Any, md: Record<string, string> = {}): Promise<{ ok: true; res: Any } | { ok: false; status: number; code: string | undefined; trailers: grpc.Metadata }> {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) m.add(k, v);
  return new Promise((resolve) => {
    client[method]!(request, m, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: Any) => {
      resolve(err ? { ok: false, status: err.code, code: errorCodeOf(err.metadata), trailers: err.metadata } : { ok: true, res });
    });
  });
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const key = (s: string): Buffer => Buffer.from(s);

const test = suite('gRPC server');
let s: Kvstored;
let admin: string;
let c: Raw;
test.before(async () => {
  s = await startKvstored();
  admin = await loginToken(s.url);
  c = raw(s.grpc);
});
test.after(async () => {
  c.close();
  assert.is(await s.stop(), 0);
});

test('the start-up line names the gRPC URL; --help and the config table list grpc_port', async () => {
  assert.match(s.grpc, /^grpc:\/\/127\.0\.0\.1:\d+$/);
  assert.not.match(s.grpc, /:0$/);
});

test('reflection lists the three services and serves their descriptors (what grpcurl asks)', async () => {
  const def = protoLoader.loadSync(path.join(repoRoot, 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto'), { keepCase: true });
  const Reflection = (grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } }).grpc.reflection.v1.ServerReflection;
  const r = new Reflection(s.grpc.replace('grpc://', ''), grpc.credentials.createInsecure()) as unknown as grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<Any, Any> };
  const ask = (req: Any): Promise<Any> => new Promise((resolve, reject) => {
    const stream = r.ServerReflectionInfo();
    stream.once('data', (d: Any) => (resolve(d), stream.end()));
    stream.once('error', reject);
    stream.write(req);
  });
  const list = (await ask({ list_services: '' })).list_services_response as { service: Array<{ name: string }> };
  const names = list.service.map((x) => x.name).sort();
  assert.equal(names, ['kvstore.v1.Admin', 'kvstore.v1.Auth', 'kvstore.v1.KV']);
  const file = (await ask({ file_containing_symbol: 'kvstore.v1.KV' })).file_descriptor_response as { file_descriptor_proto: Buffer[] };
  // protobufjs merges a package's files into one descriptor (kvstore_v1.proto): grpcurl takes it as it is.
  assert.ok(file.file_descriptor_proto.some((b) => b.includes('kvstore.v1') && b.includes('ScanRequest') && b.includes('WhoAmIResponse')));
  r.close();
});

test('credentials: none, both kinds at once, and a bad token are refused with their codes; an API key and a bearer token work', async () => {
  const none = await call(c.kv, 'Get', { key: key('k') });
  assert.equal(none.ok ? 'ok' : [none.status, none.code], [grpc.status.UNAUTHENTICATED, 'AUTH_FAILED']);
  const both = await call(c.kv, 'Get', { key: key('k') }, { ...bearer(admin), 'x-api-key': 'kvs_x' });
  assert.equal(both.ok ? 'ok' : [both.status, both.code], [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT']);
  const bad = await call(c.kv, 'Get', { key: key('k') }, bearer('not.a.token'));
  assert.equal(bad.ok ? 'ok' : [bad.status, bad.code], [grpc.status.UNAUTHENTICATED, 'AUTH_FAILED']);
  const put = await call(c.kv, 'Put', { key: key('cred'), value: key('v') }, bearer(admin));
  assert.ok(put.ok);
  const created = await fetch(`${s.url}/v1/admin/apikeys`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ owner: 'admin', name: 'grpc-test' }) });
  const { token: apiKey } = (await created.json()) as { token: string };
  const got = await call(c.kv, 'Get', { key: key('cred') }, { 'x-api-key': apiKey });
  assert.equal(got.ok && (got.res.entry as Any).value, key('v'));
  const who = await call(c.auth, 'WhoAmI', {}, { 'x-api-key': apiKey });
  assert.equal(who.ok && { ...who.res, roles: undefined }, { auth: true, user: 'admin', type: 'apikey', keyName: 'grpc-test', roles: undefined, admin: true });
});

test('Login needs no credentials; a wrong password is UNAUTHENTICATED / AUTH_FAILED', async () => {
  const ok = await call(c.auth, 'Login', { name: 'admin', password: 'operator password 42' });
  assert.ok(ok.ok && typeof ok.res.token === 'string' && Number(ok.res.expiresAtMs) > Date.now());
  const bad = await call(c.auth, 'Login', { name: 'admin', password: 'wrong' });
  assert.equal(bad.ok ? 'ok' : [bad.status, bad.code], [grpc.status.UNAUTHENTICATED, 'AUTH_FAILED']);
});

test('errors carry their gRPC status and the stable code in google.rpc.ErrorInfo, plus a request id', async () => {
  const h = bearer(admin);
  const v = await call(c.kv, 'Put', { key: key('e'), value: key('ten') }, h);
  assert.ok(v.ok);
  const cases: Array<[string, Any, number, string]> = [
    ['Put', { key: key('e'), value: key('x'), ifVersion: '999999' }, grpc.status.FAILED_PRECONDITION, 'VERSION_MISMATCH'],
    ['Incr', { key: key('e') }, grpc.status.FAILED_PRECONDITION, 'NOT_A_NUMBER'],
    ['Put', { key: key('_sys.x'), value: key('x') }, grpc.status.PERMISSION_DENIED, 'RESERVED_KEY'],
    ['Get', { key: Buffer.alloc(4097, 97) }, grpc.status.INVALID_ARGUMENT, 'KEY_TOO_LARGE'],
    ['Get', { key: Buffer.alloc(0) }, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['Scan', { limit: 1001 }, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['Batch', { ops: [{}] }, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ['Put', { key: key('t'), value: key('x'), ttlMs: 0 }, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
  ];
  for (const [method, req, status, code] of cases) {
    const r = await call(c.kv, method, req, h);
    assert.equal(r.ok ? 'ok' : [r.status, r.code], [status, code], `${method} → ${code}`);
    if (!r.ok) assert.match(String(r.trailers.get('x-request-id')[0]), /^[0-9a-f-]{36}$/);
  }
});

test('a method the server does not have is UNIMPLEMENTED', async () => {
  for (const method of ['/kvstore.v1.KV/Compact', '/kvstore.v1.KV/LeaseGrant']) {
    const status = await new Promise<number>((resolve) => {
      c.kv.makeUnaryRequest(method, (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err?.code ?? 0));
    });
    assert.is(status, grpc.status.UNIMPLEMENTED, method);
  }
});

test('Txn: a compare or op that sets nothing is INVALID_ARGUMENT; no credentials UNAUTHENTICATED', async () => {
  const r1 = await call(c.kv, 'Txn', { compare: [{ key: key('t'), op: '=' }] }, bearer(admin));
  assert.equal(r1.ok ? null : [r1.status, r1.code], [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT']);
  const r2 = await call(c.kv, 'Txn', { success: [{}] }, bearer(admin));
  assert.equal(r2.ok ? null : [r2.status, r2.code], [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT']);
  const r3 = await call(c.kv, 'Txn', { success: [{ put: { key: key('t'), value: key('v') } }] });
  assert.equal(r3.ok ? null : [r3.status, r3.code], [grpc.status.UNAUTHENTICATED, 'AUTH_FAILED']);
  const r4 = await call(c.kv, 'Txn', { compare: [{ key: key('t'), op: '=', exists: false }], success: [{ put: { key: key('t'), value: key('v') } }] }, bearer(admin));
  assert.ok(r4.ok && r4.res.succeeded === true && (r4.res.results as Any[]).length === 1);
});

/** A Watch call's messages until it ends or n arrived, and its final status. */
function watch(request: Any, md: Record<string, string>, n: number): Promise<{ messages: Any[]; status: number | null; code: string | undefined }> {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) m.add(k, v);
  const stream = (c.kv.Watch as (r: Any, m: grpc.Metadata) => grpc.ClientReadableStream<Any>)(request, m);
  const messages: Any[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => stream.cancel(), 10_000);
    stream.on('data', (msg: Any) => {
      messages.push(msg);
      if (messages.length >= n) {
        clearTimeout(timer);
        stream.cancel();
        resolve({ messages, status: null, code: undefined });
      }
    });
    stream.on('error', (err: grpc.ServiceError) => {
      clearTimeout(timer);
      resolve({ messages, status: err.code, code: errorCodeOf(err.metadata) });
    });
  });
}

test('Watch: a first message with from_version, then one message per record; no credentials UNAUTHENTICATED; version 0 INVALID_ARGUMENT', async () => {
  const p = await call(c.kv, 'Put', { key: key('w/0'), value: key('0') }, bearer(admin));
  const from = BigInt((p as unknown as { res: { version: string } }).res.version);
  await call(c.kv, 'Batch', { ops: [{ put: { key: key('w/1'), value: key('1') } }, { del: { key: key('w/0') } }] }, bearer(admin));
  const got = await watch({ prefix: key('w/'), fromVersion: String(from) }, bearer(admin), 3);
  assert.is(got.messages[0]!.fromVersion, String(from));
  assert.is((got.messages[0]!.events as Any[]).length, 0);
  assert.equal((got.messages[1]!.events as Any[]).map((e) => e.type), ['put']);
  assert.equal((got.messages[2]!.events as Any[]).map((e) => [e.type, String(e.key)]), [['put', 'w/1'], ['del', 'w/0']]);
  const anon = await watch({ prefix: key('w/') }, {}, 1);
  assert.equal([anon.status, anon.code], [grpc.status.UNAUTHENTICATED, 'AUTH_FAILED']);
  const zero = await watch({ fromVersion: '0' }, bearer(admin), 1);
  assert.equal([zero.status, zero.code], [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT']);
});

test('Watch: a caller that stops reading is cut with RESOURCE_EXHAUSTED / WATCH_LAGGED naming where to resume; the server does not grow with the writes', async () => {
  const pid = s.child.pid!;
  const http = connect({ url: s.url, token: admin });
  const BATCHES = 60; // writeThirtyMegabytes: 60 × 500 events of 1 KB
  const write = (tag: string): Promise<number> => writeThirtyMegabytes(http, pid, 'gslow/', tag);
  try {
    // The same writes with no watcher first: what the server grows by anyway.
    await write('warm');
    const baseline = await write('base');
    const m = new grpc.Metadata();
    m.add('authorization', `Bearer ${admin}`);
    const stream = (c.kv.Watch as (r: Any, m: grpc.Metadata) => grpc.ClientReadableStream<Any>)({ prefix: key('gslow/'), maxQueue: 1000 }, m);
    let received = 0;
    let failure: grpc.ServiceError | null = null;
    const ended = new Promise<void>((resolve) => {
      stream.on('error', (err: grpc.ServiceError) => ((failure = err), resolve()));
      stream.on('end', () => resolve());
    });
    await new Promise<void>((resolve) => stream.once('data', () => ((received = 1), resolve())));
    // The first message is in: the watch is in place. From now on this caller reads nothing.
    stream.pause();
    const growth = await write('watched');
    stream.on('data', () => void received++);
    stream.resume();
    const timer = setTimeout(() => stream.cancel(), 20_000);
    await ended;
    clearTimeout(timer);
    const err = failure as grpc.ServiceError | null;
    assert.ok(err, 'the stream ends with an error');
    assert.equal([err!.code, errorCodeOf(err!.metadata)], [grpc.status.RESOURCE_EXHAUSTED, 'WATCH_LAGGED']);
    const resume = /fromVersion (\d+)/.exec(err!.details);
    assert.ok(resume && BigInt(resume[1]!) > 0n, `the message names the version to resume from: ${err!.details}`);
    console.log(`  server RSS growth over 30 MB of writes: ${Math.round(baseline / 1e6)} MB unwatched, ${Math.round(growth / 1e6)} MB through a gRPC watch nobody read (${received} messages delivered before the cut at ${resume![1]})`);
    assert.ok(growth - baseline < 40e6, `a watch nobody read grew the server by ${Math.round((growth - baseline) / 1e6)} MB more than no watch`);
    assert.ok(received < BATCHES, `the server delivered ${received} of ${BATCHES} batches to a caller that read nothing`);
  } finally {
    await http.close();
  }
});

test('metrics: gRPC calls by service, method and code; storage operations in the same series as HTTP', async () => {
  const before = await (await fetch(`${s.url}/metrics`)).text();
  const count = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  const gets = /kvstore_storage_operations_total\{op="get"\} (\d+)/;
  await call(c.kv, 'Get', { key: key('m') }, bearer(admin));
  await call(c.kv, 'Get', { key: key('m') });
  const after = await (await fetch(`${s.url}/metrics`)).text();
  assert.is(count(after, gets), count(before, gets) + 1);
  assert.match(after, /kvstore_grpc_requests_total\{service="kvstore.v1.KV",method="Get",code="OK"\} \d+/);
  assert.match(after, /kvstore_grpc_requests_total\{service="kvstore.v1.KV",method="Get",code="UNAUTHENTICATED"\} \d+/);
  assert.match(after, /kvstore_grpc_request_duration_seconds_count\{service="kvstore.v1.KV",method="Get"\} \d+/);
});

test.run();

const limits = suite('gRPC rate limits');

/** Waits out the last seconds of a minute, so a test's requests fall in one fixed window. */
async function freshWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
}

limits('one budget per client IP for both ports: HTTP and gRPC requests count together; the refusal says when to retry', async () => {
  const k = await startKvstored(['--no-auth', '--rate-limit', '4']);
  const r = raw(k.grpc);
  try {
    await freshWindow();
    for (let i = 0; i < 2; i++) assert.is((await fetch(`${k.url}/v1/kv/x`)).status, 404);
    for (let i = 0; i < 2; i++) assert.ok((await call(r.kv, 'Get', { key: key('x') })).ok);
    const g = await call(r.kv, 'Get', { key: key('x') });
    assert.equal(g.ok ? 'ok' : [g.status, g.code], [grpc.status.RESOURCE_EXHAUSTED, 'RATE_LIMITED']);
    if (!g.ok) assert.match(String(g.trailers.get('retry-after')[0]), /^\d+$/);
    const h = await fetch(`${k.url}/v1/kv/x`);
    assert.is(h.status, 429);
    assert.match(h.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(await (await fetch(`${k.url}/metrics`)).text(), /kvstore_rate_limited_total\{limit="ip"\} 2/);
  } finally {
    r.close();
    assert.is(await k.stop(), 0);
  }
});

limits.run();

const tls = suite('gRPC TLS');

tls('TLS: grpcs:// with the CA works (and https:// for the same client API); an unknown CA fails UNAVAILABLE', async () => {
  const d = makeCerts();
  const p = (f: string): string => path.join(d, f);
  const k = await startKvstored(['--tls-cert', p('server.pem'), '--tls-key', p('server.key')]);
  try {
    assert.match(k.grpc, /^grpcs:\/\/127\.0\.0\.1:\d+$/);
    const ca = fs.readFileSync(p('ca.pem'));
    const token = (await (await import('../ts/client/index.js')).login({ url: k.grpc, name: 'admin', password: 'operator password 42', tls: { ca } })).token;
    for (const url of [k.grpc, k.url]) {
      const cl = connect({ url, token, tls: { ca } });
      await cl.put(`tls:${url}`, 'v');
      assert.is((await cl.get(`tls:${url}`))?.toString(), 'v');
      await cl.close();
      const untrusted = connect({ url, token, timeoutMs: 5000, retry: { retries: 0 } });
      try {
        await untrusted.get('tls');
        assert.unreachable('an unknown CA must fail');
      } catch (err) {
        assert.is((err as { code?: string }).code, 'UNAVAILABLE', `${url}: ${(err as Error).message}`);
      }
      await untrusted.close();
    }
  } finally {
    assert.is(await k.stop(), 0);
  }
});

tls('mutual TLS: without a client certificate the call fails; with one signed by tls_ca it works', async () => {
  const d = makeCerts();
  const p = (f: string): string => path.join(d, f);
  const k = await startKvstored(['--tls-cert', p('server.pem'), '--tls-key', p('server.key'), '--tls-ca', p('ca.pem'), '--tls-require-client-cert']);
  const ca = fs.readFileSync(p('ca.pem'));
  const mine = { ca, cert: fs.readFileSync(p('client.pem')), key: fs.readFileSync(p('client.key')) };
  try {
    const { login } = await import('../ts/client/index.js');
    const { token } = await login({ url: k.grpc, name: 'admin', password: 'operator password 42', tls: mine });
    const ok = connect({ url: k.grpc, token, tls: mine });
    await ok.put('mtls', 'v');
    assert.is((await ok.get('mtls'))?.toString(), 'v');
    await ok.close();
    const noCert = connect({ url: k.grpc, token, tls: { ca }, timeoutMs: 5000, retry: { retries: 0 } });
    try {
      await noCert.get('mtls');
      assert.unreachable('no client certificate must fail');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'UNAVAILABLE', (err as Error).message);
    }
    await noCert.close();
  } finally {
    assert.is(await k.stop(), 0);
  }
});

tls.run();

const life = suite('gRPC configuration and lifecycle');

life('grpc_port is validated like every setting; off unless set', async () => {
  const bad = await startKvstored(['--grpc-port', '70000']).then(() => 'started', (e: Error) => e.message);
  assert.match(bad, /exited with 2 .*grpc_port \(from --grpc-port\) must be an integer in \[0, 65535\]/s);
  const off = await startKvstored([], { grpc: false });
  assert.is(off.grpc, '');
  assert.is(await off.stop(), 0);
});

life('a gRPC port already in use: kvstored says so and exits 1, leaving nothing running', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const msg = await startKvstored([], { grpc: false, env: { KVSTORE_GRPC_PORT: String(port) } }).then(() => 'started', (e: Error) => e.message);
    assert.match(msg, /exited with 1 .*grpc_port: cannot listen on 127\.0\.0\.1:\d+/s);
  } finally {
    blocker.close();
  }
});

life('SIGTERM with gRPC calls in flight: each finishes or is refused cleanly, exit 0, every acknowledged put is there after restart', async () => {
  const k = await startKvstored();
  const token = await loginToken(k.url);
  const cl = connect({ url: k.grpc, token, retry: { retries: 0 }, timeoutMs: 10_000 });
  const results = Array.from({ length: 100 }, (_, i) => cl.put(`inflight:${i}`, String(i)).then(() => ({ i, code: 'OK' }), (e: { code?: string }) => ({ i, code: e.code ?? '?' })));
  setTimeout(() => k.child.kill('SIGTERM'), 5);
  const done = await Promise.all(results);
  assert.is(await k.exited, 0, k.stdout());
  await cl.close();
  for (const r of done) assert.ok(['OK', 'NOT_READY', 'UNAVAILABLE'].includes(r.code), `put ${r.i}: ${r.code}`);
  const again = await startKvstored([], { dir: k.dir });
  const cl2 = connect({ url: again.grpc, token: await loginToken(again.url) });
  for (const r of done.filter((x) => x.code === 'OK')) assert.is((await cl2.get(`inflight:${r.i}`))?.toString(), String(r.i));
  await cl2.close();
  assert.is(await again.stop(), 0);
});

life.run();
