/**
 * GET /v1/watch on a real kvstored: the SSE wire format, resuming with Last-Event-ID across a
 * kill -9 and restart with no gap and no duplicate, the client's own resume across a restart,
 * a client that stops reading cut at its bound with the server's memory bounded (its RSS
 * measured), and 100 concurrent HTTP watchers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../ts/client/index.js';
import type { WatchEvent } from '../ts/index.js';
import { type Kvstored, loginToken, startKvstored } from './kvstored-child.js';
import { writeThirtyMegabytes } from './slow-watch-load.js';

interface Sse { id?: string; event: string; data: string }

/** Reads SSE messages from a GET until `until` says stop (or ms pass); returns them. */
async function sse(url: string, headers: Record<string, string>, until: (m: Sse[]) => boolean, ms = 15_000): Promise<Sse[]> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  const out: Sse[] = [];
  try {
    const res = await fetch(url, { headers, signal: stop.signal });
    assert.is(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    while (!until(out)) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString('utf8');
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const msg = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const m: Sse = { event: 'message', data: '' };
        for (const line of msg.split('\n')) {
          if (line.startsWith('id: ')) m.id = line.slice(4);
          else if (line.startsWith('event: ')) m.event = line.slice(7);
          else if (line.startsWith('data: ')) m.data += line.slice(6);
        }
        if (msg.startsWith(':')) continue;
        out.push(m);
      }
    }
    await reader.cancel();
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

const changes = (m: Sse[]): Array<{ version: string; events: Array<{ type: string; key: string; value?: string }> }> => m.filter((x) => x.event === 'change').map((x) => JSON.parse(x.data));

async function put(url: string, token: string, key: string, value: string): Promise<bigint> {
  const r = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
  assert.is(r.status, 200);
  return BigInt(((await r.json()) as { version: string }).version);
}


const test = suite('watch over HTTP');
let s: Kvstored | null = null;
test.after(async () => {
  if (s && s.child.exitCode === null) await s.stop();
});

test('SSE: ready, one change message per record with id = version; Last-Event-ID resumes across kill -9 and restart', async () => {
  s = await startKvstored(['--engine', 'native']);
  let token = await loginToken(s.url);
  const first = await put(s.url, token, 'e/0', '0');
  for (let i = 1; i < 10; i++) await put(s.url, token, `e/${i}`, String(i));
  const h = { authorization: `Bearer ${token}` };
  const a = await sse(`${s.url}/v1/watch?prefix=e%2F&fromVersion=${first}`, h, (m) => changes(m).length >= 4);
  assert.is(a[0]!.event, 'ready');
  assert.equal(JSON.parse(a[0]!.data), { fromVersion: String(first) });
  const got = changes(a);
  assert.is(a[1]!.id, got[0]!.version);
  assert.equal(got[0]!.events, [{ type: 'put', key: 'e/0', value: Buffer.from('0').toString('base64') }]);
  const lastId = a[4]!.id!;

  // kill -9, restart on the same directory, write more; resume after the last id seen.
  s.child.kill('SIGKILL');
  await s.exited;
  s = await startKvstored(['--engine', 'native'], { dir: s.dir });
  token = await loginToken(s.url);
  for (let i = 10; i < 15; i++) await put(s.url, token, `e/${i}`, String(i));
  const b = await sse(`${s.url}/v1/watch?prefix=e%2F`, { authorization: `Bearer ${token}`, 'last-event-id': lastId }, (m) => changes(m).length >= 11);
  const keys = changes(b).map((c) => c.events[0]!.key);
  assert.equal(keys, Array.from({ length: 11 }, (_, i) => `e/${i + 4}`), 'every event after the last id, none twice, across the restart');
  assert.is(JSON.parse(b[0]!.data).fromVersion, String(BigInt(lastId) + 1n));

  // Bad resume points are problems, not streams.
  const bad = await fetch(`${s.url}/v1/watch`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': 'abc' } });
  assert.is(bad.status, 400);
  const unk = await fetch(`${s.url}/v1/watch?prefx=a`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(unk.status, 400);
  const anon = await fetch(`${s.url}/v1/watch`);
  assert.is(anon.status, 401);
});

test('the client resumes a dropped watch itself: no gap, no duplicate across a restart on the same port', async () => {
  const port = new URL(s!.url).port;
  let token = await loginToken(s!.url);
  const c = connect({ url: s!.url, token, retry: { retries: 3, baseDelayMs: 100, maxDelayMs: 1000 } });
  const w = c.watch({ prefix: 'cr/' });
  const it = w[Symbol.asyncIterator]();
  const firstNext = it.next(); // opens the stream
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 20; i++) await put(s!.url, token, `cr/${String(i).padStart(2, '0')}`, String(i));
  const got: WatchEvent[] = [(await firstNext).value as WatchEvent];
  for (let i = 1; i < 10; i++) got.push((await it.next()).value as WatchEvent);
  s!.child.kill('SIGKILL');
  await s!.exited;
  s = await startKvstored(['--engine', 'native', '--port', port], { dir: s!.dir });
  token = await loginToken(s.url);
  for (let i = 20; i < 30; i++) await put(s.url, token, `cr/${String(i).padStart(2, '0')}`, String(i));
  for (let i = 10; i < 30; i++) {
    const r = await Promise.race([it.next(), new Promise<'late'>((res) => setTimeout(() => res('late'), 15_000))]);
    if (r === 'late' || r.done) throw new Error(`event ${i} did not come`);
    got.push(r.value);
  }
  w.close();
  await c.close();
  assert.equal(got.map((e) => e.value!.toString()), Array.from({ length: 30 }, (_, i) => String(i)));
});

test('a client that stops reading is cut at its bound; the server does not grow with the writes', async () => {
  const token = await loginToken(s!.url);
  const pid = s!.child.pid!;
  const c = connect({ url: s!.url, token });
  /** 30 MB of batched writes (slow-watch-load.ts); the server's RSS growth over them. */
  const write = (tag: string): Promise<number> => writeThirtyMegabytes(c, pid, 'slow/', tag);
  // The same writes with no watcher first: what the server grows by anyway (its heap warming up, GC).
  await write('warm');
  const baseline = await write('base');
  const stop = new AbortController();
  const res = await fetch(`${s!.url}/v1/watch?prefix=slow%2F&maxQueue=1000`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  await reader.read(); // the ready event: the watch is in place; from now on this client reads nothing
  const growth = await write('watched');
  await c.close();
  // Now read what the server had sent: some change messages, then the error naming where to resume.
  let text = '';
  const deadline = Date.now() + 15_000;
  while (!text.includes('event: error') && Date.now() < deadline) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    text += Buffer.from(chunk).toString('utf8');
  }
  stop.abort();
  const m = /event: error\ndata: (.*)\n/.exec(text);
  assert.ok(m, 'an error event ends the stream');
  const e = JSON.parse(m![1]!) as { code: string; resumeFrom: string };
  assert.is(e.code, 'WATCH_LAGGED');
  assert.ok(BigInt(e.resumeFrom) > 0n);
  console.log(`  server RSS growth over 30 MB of writes: ${Math.round(baseline / 1e6)} MB unwatched, ${Math.round(growth / 1e6)} MB through a watch nobody read (cut at ${e.resumeFrom}, ${Math.round(text.length / 1e3)} kB sent before the cut)`);
  assert.ok(growth - baseline < 40e6, `a watch nobody read grew the server by ${Math.round((growth - baseline) / 1e6)} MB more than no watch`);
  assert.ok(text.length < 16e6, `the server sent ${text.length} bytes before cutting the watch: more than socket buffers hold`);
});

test('100 concurrent HTTP watchers each get every event in order', async () => {
  const token = await loginToken(s!.url);
  const c = connect({ url: s!.url, token, connections: 128 });
  const { version } = await c.put('many/marker', 'm');
  const N = 100;
  const ws = Array.from({ length: N }, () => c.watch({ prefix: 'many/' }, { fromVersion: version + 1n }));
  const takes = ws.map(async (w) => {
    const out: string[] = [];
    for await (const e of w) {
      out.push(e.value!.toString());
      if (out.length === 20) break;
    }
    return out;
  });
  for (let i = 0; i < 20; i++) await c.put(`many/${i}`, String(i));
  const all = await Promise.race([Promise.all(takes), new Promise<'late'>((r) => setTimeout(() => r('late'), 30_000))]);
  assert.ok(all !== 'late', 'every watcher finished');
  for (const got of all as string[][]) assert.equal(got, Array.from({ length: 20 }, (_, i) => String(i)));
  await c.close();
  // A watch still open when kvstored stops: its stream ends and the stop does not wait out keep_alive_timeout (72 s).
  const open = connect({ url: s!.url, token, retry: { retries: 0 } });
  const pending = open.watch({})[Symbol.asyncIterator]().next().then(() => 'next', (e: { code?: string }) => String(e.code));
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  assert.is(await s!.stop(), 0, 'kvstored stops cleanly with a watch open');
  // Before SSE responses said `connection: close`, a stop waited out keep_alive_timeout (72 s). In
  // this process (after the tests above) a stop still takes up to ~30 s (connection_timeout) for
  // a reason not yet found; alone, it takes well under a second (known, open).
  assert.ok(Date.now() - t0 < 45_000, `stopping took ${Date.now() - t0} ms with a watch open`);
  assert.is(await pending, 'UNAVAILABLE', 'the client sees the stream end');
  await open.close();
});

test.run();
