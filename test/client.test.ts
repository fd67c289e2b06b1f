/**
 * The client's own behaviour, beyond the shared behaviour table: retries (which errors,
 * how long, how many), redirects, timeouts, unreachable servers, binary keys per transport,
 * option checking and the closed state. The retry and redirect servers are real node:http
 * servers on loopback that answer a script; the kvstored behind the redirects is real.
 */
import http from 'node:http';
import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, login } from '../ts/client/index.js';
import { retryDelay, retryPolicy, retryable } from '../ts/client/retry.js';
import { KvError } from '../ts/errors.js';
import { codeOf } from './behaviour-cases.js';
import { type Kvstored, loginToken, startKvstored } from './kvstored-child.js';

/** A loopback HTTP server answering each request with the next scripted answer (the last one repeats); counts requests. */
async function scripted(answers: Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answers[Math.min(n++, answers.length - 1)]!(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, count: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

const problem = (status: number, code: string, headers: Record<string, string> = {}) => (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: `urn:kvstore:error:${code}`, title: code, status, code, detail: `scripted ${code}`, instance: 'x' }));
};
const value = (body: string) => (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"7"' });
  res.end(body);
};

const test = suite('client: retries');

test('429 RATE_LIMITED is retried after the Retry-After the server gave, then succeeds', async () => {
  const s = await scripted([problem(429, 'RATE_LIMITED', { 'retry-after': '1' }), value('ok')]);
  const c = connect({ url: s.url });
  const t0 = Date.now();
  assert.is((await c.get('k'))?.toString(), 'ok');
  const took = Date.now() - t0;
  assert.ok(took >= 950 && took < 5000, `waited ${took} ms for Retry-After: 1`);
  assert.is(s.count(), 2);
  await c.close();
  await s.close();
});

test('503 NOT_READY is retried with backoff; retries are bounded and the last error is thrown', async () => {
  const s = await scripted([problem(503, 'NOT_READY')]);
  const c = connect({ url: s.url, retry: { retries: 2, baseDelayMs: 10 } });
  assert.is(await codeOf(() => c.put('k', 'v')), 'NOT_READY');
  assert.is(s.count(), 3);
  await c.close();
  await s.close();
});

test('a Retry-After beyond maxDelayMs is not waited for: the error comes at once', async () => {
  const s = await scripted([problem(429, 'RATE_LIMITED', { 'retry-after': '60' }), value('never')]);
  const c = connect({ url: s.url, retry: { maxDelayMs: 2000 } });
  const t0 = Date.now();
  assert.is(await codeOf(() => c.get('k')), 'RATE_LIMITED');
  assert.ok(Date.now() - t0 < 1000);
  assert.is(s.count(), 1);
  await c.close();
  await s.close();
});

test('a 503 that may have done something (IO_ERROR) and a 500 are never retried', async () => {
  for (const [status, code] of [[503, 'IO_ERROR'], [500, 'INTERNAL']] as const) {
    const s = await scripted([problem(status, code), value('never')]);
    const c = connect({ url: s.url });
    assert.is(await codeOf(() => c.incr('n')), code);
    assert.is(s.count(), 1, code);
    await c.close();
    await s.close();
  }
});

test('a 429 / 503 from something in front of kvstored (no problem document) is retried; its code follows the status', async () => {
  const s = await scripted([(_q, res) => void res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>busy</h1>'), value('ok')]);
  const c = connect({ url: s.url, retry: { baseDelayMs: 1 } });
  assert.is((await c.get('k'))?.toString(), 'ok');
  await c.close();
  await s.close();
  const t = await scripted([(_q, res) => void res.writeHead(502).end()]);
  const d = connect({ url: t.url });
  assert.is(await codeOf(() => d.get('k')), 'UNAVAILABLE');
  assert.is(t.count(), 1);
  await d.close();
  await t.close();
});

test('retryDelay: exponential with full jitter, capped; undefined when out of tries or not retryable', () => {
  const p = retryPolicy({ retries: 3, baseDelayMs: 100, maxDelayMs: 250 });
  const e = retryable(new KvError('NOT_READY'));
  assert.equal([1, 2, 3].map((a) => retryDelay(e, a, p, () => 1)), [100, 200, 250]);
  assert.is(retryDelay(e, 4, p, () => 1), undefined);
  assert.is(retryDelay(new KvError('NOT_READY'), 1, p), undefined);
  assert.is(retryDelay(retryable(new KvError('RATE_LIMITED'), 200), 1, p), 200);
  assert.is(retryDelay(retryable(new KvError('RATE_LIMITED'), 300), 1, p), undefined);
});

test.run();

const redirects = suite('client: redirects');
let k: Kvstored;
let token: string;
redirects.before(async () => {
  k = await startKvstored();
  token = await loginToken(k.url);
});
redirects.after(async () => void assert.is(await k.stop(), 0));

redirects('307 to another node: method, body and credentials follow; every call works through it', async () => {
  const seen: string[] = [];
  const s = await scripted([(req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(307, { location: `${k.url}${req.url}` }).end();
  }]);
  const c = connect({ url: s.url, token });
  await c.put('redirected', 'body travels');
  assert.is((await c.get('redirected'))?.toString(), 'body travels');
  assert.is(await c.incr('redirected:n', 5n), 5n);
  assert.equal((await c.batch([{ type: 'put', key: 'redirected:b', value: 'b' }])).version > 0n, true);
  assert.is((await c.whoami()).user, 'admin');
  assert.equal(seen.map((l) => l.split(' ')[0]), ['PUT', 'GET', 'POST', 'POST', 'GET']);
  await c.close();
  await s.close();
});

redirects('a redirect loop ends after maxRedirects with UNAVAILABLE', async () => {
  const s = await scripted([(req, res) => void res.writeHead(307, { location: req.url! }).end()]);
  const c = connect({ url: s.url, token, maxRedirects: 3 });
  assert.is(await codeOf(() => c.get('k')), 'UNAVAILABLE');
  assert.is(s.count(), 4);
  await c.close();
  await s.close();
});

redirects('binary keys: gRPC carries them; HTTP refuses them before sending (INVALID_ARGUMENT)', async () => {
  const bin = Buffer.from([0x62, 0x3a, 0xff, 0x00, 0xfe]);
  const g = connect({ url: k.grpc, token });
  await g.put(bin, 'binary');
  assert.is((await g.get(bin))?.toString(), 'binary');
  const keys: Buffer[] = [];
  for await (const [key] of g.scan({ prefix: Buffer.from('b:') })) keys.push(key);
  assert.equal(keys, [bin]);
  await g.close();
  const h = connect({ url: k.url, token });
  assert.is(await codeOf(() => h.get(bin)), 'INVALID_ARGUMENT');
  const viaHttp: Buffer[] = [];
  for await (const [key] of h.scan({ prefix: 'b:' })) viaHttp.push(key);
  assert.equal(viaHttp, [bin], 'a scan over HTTP still returns a binary key (keyBase64)');
  await h.close();
});

redirects('login() returns a token connect() takes, over either wire; a wrong password is AUTH_FAILED', async () => {
  for (const url of [k.url, k.grpc]) {
    const { token: t, expiresAt } = await login({ url, name: 'admin', password: 'operator password 42' });
    assert.ok(expiresAt > Date.now());
    const c = connect({ url, token: t });
    assert.equal(await c.whoami(), { auth: true, user: 'admin', type: 'session', roles: ['admin'], admin: true });
    const st = await c.stats();
    assert.is(typeof st.nextLsn, 'bigint');
    assert.ok(st.catalogKeys > 0 && st.keys >= st.catalogKeys);
    const t0 = Date.now();
    assert.is(typeof (await c.checkpoint()).redoLsn, 'bigint');
    const after = await c.stats();
    assert.type(after.lastCheckpointTimeMs, 'number', url);
    assert.ok(after.lastCheckpointTimeMs >= t0 - 1000 && after.lastCheckpointTimeMs <= Date.now() + 1000, `${url}: the checkpoint's time`);
    await c.close();
    assert.is(await codeOf(() => login({ url, name: 'admin', password: 'wrong' })), 'AUTH_FAILED');
  }
});

redirects.run();

const failures = suite('client: failures and options');

failures('an unreachable server is UNAVAILABLE, over both wires', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  for (const url of [`http://127.0.0.1:${port}`, `grpc://127.0.0.1:${port}`]) {
    const c = connect({ url, timeoutMs: 5000 });
    assert.is(await codeOf(() => c.get('k')), 'UNAVAILABLE', url);
    await c.close();
  }
});

failures('a server that never answers is TIMEOUT after timeoutMs, over both wires', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((sock) => void sockets.push(sock));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { port } = silent.address() as net.AddressInfo;
  for (const url of [`http://127.0.0.1:${port}`, `grpc://127.0.0.1:${port}`]) {
    const c = connect({ url, timeoutMs: 300 });
    const t0 = Date.now();
    const code = await codeOf(() => c.get('k'));
    assert.ok(code === 'TIMEOUT', `${url}: ${code}`);
    assert.ok(Date.now() - t0 < 3000);
    await c.close();
  }
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
});

failures('connect() refuses unknown options, missing or odd URLs and both credentials, by name', async () => {
  assert.is(await codeOf(() => connect({ url: 'http://127.0.0.1:1', tiemoutMs: 5 } as never)), 'UNKNOWN_OPTION');
  assert.is(await codeOf(() => connect({ url: 'http://127.0.0.1:1', retry: { retires: 1 } } as never)), 'UNKNOWN_OPTION');
  assert.is(await codeOf(() => connect({} as never)), 'INVALID_ARGUMENT');
  assert.is(await codeOf(() => connect({ url: 'ftp://127.0.0.1:1' })), 'INVALID_ARGUMENT');
  assert.is(await codeOf(() => connect({ url: 'not a url' })), 'INVALID_ARGUMENT');
  assert.is(await codeOf(() => connect({ url: 'http://127.0.0.1:1', apiKey: 'a', token: 'b' })), 'INVALID_ARGUMENT');
  assert.is(await codeOf(() => connect({ url: 'http://127.0.0.1:1', scanPageSize: 0 })), 'INVALID_ARGUMENT');
});

failures('after close() every call is CLOSED, and scan checks its options at the call', async () => {
  const c = connect({ url: 'http://127.0.0.1:1' });
  assert.throws(() => c.scan({ limit: 1.5 }), (e: KvError) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => c.scan({ bogus: 1 } as never), (e: KvError) => e.code === 'UNKNOWN_OPTION');
  await c.close();
  assert.is(await codeOf(() => c.get('k')), 'CLOSED');
  assert.is(await codeOf(() => c.put('k', 'v')), 'CLOSED');
  await c.close();
});

failures.run();

const example = suite('client: the example in docs/client.md');

example('examples/remote-client.ts runs as written against kvstored, over HTTP and over gRPC, with an API key', async () => {
  const { spawnSync } = await import('node:child_process');
  const path = await import('node:path');
  const { repoRoot } = await import('./helpers.js');
  const { adminCall } = await import('./kvstored-child.js');
  const s = await startKvstored();
  try {
    const admin = await loginToken(s.url);
    await adminCall(s.url, admin, 'POST', 'users', { name: 'app', roles: ['writer'] });
    const { token: apiKey } = (await adminCall(s.url, admin, 'POST', 'apikeys', { owner: 'app', name: 'example' })) as { token: string };
    for (const url of [s.url, s.grpc]) {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'examples', 'remote-client.js')], {
        env: { PATH: process.env.PATH ?? '', KVSTORE_URL: url, KVSTORE_API_KEY: apiKey }, encoding: 'utf8', timeout: 30_000,
      });
      assert.is(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.slice(0, 2), ['ada', 'someone else wrote first']);
      assert.match(lines[2]!, /^\d+n$/);
      assert.ok(lines.includes('user:1 = ada lovelace') && lines.includes('user:2 = grace'), r.stdout);
      assert.ok(lines.includes('txn succeeded: true'), r.stdout); // the batch has just put 'grace' back
      const watched = lines.filter((l) => l.startsWith('watch: '));
      assert.equal(watched.slice(0, 3), ['watch: put user:1 = ada', 'watch: put user:1 = ada lovelace', 'watch: put user:2 = grace'], r.stdout);
      assert.is(watched.at(-1), 'watch: put user:2 = grace hopper');
    }
  } finally {
    assert.is(await s.stop(), 0);
  }
});

example.run();
