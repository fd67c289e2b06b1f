/**
 * store.watch (ts/store/watch.ts) on both engines: ordering and grouping, ranges, `_sys.`
 * never shown, replay from a version and resume without gap or duplicate, COMPACTED, a slow
 * consumer cut at its bound with the version to resume from, 1,000 concurrent watchers, and
 * (native) writes from another worker_thread, and a watcher inside a worker_thread seeing the
 * writes of the main thread and of another worker.
 */
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Store, type WatchEvent, type Watcher, open } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

type Ev = [string, string, string | undefined, bigint];
const plain = (e: WatchEvent): Ev => [e.type, e.key.toString(), e.value?.toString(), e.version];

/** The next n events of w, or fails after ms. */
async function take(w: Watcher, n: number, ms = 10_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`only ${out.length} of ${n} events in ${ms} ms`);
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<'late'>((res) => (t = setTimeout(() => res('late'), left)))]);
    clearTimeout(t);
    if (r === 'late') throw new Error(`only ${out.length} of ${n} events in ${ms} ms`);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

for (const engine of ENGINES) {
  const test = suite(`watch [${engine}]`);
  let db: Store;
  test.before.each(async () => {
    db = await open({ dir: tempDir('watch'), engine, onLog: () => undefined });
  });
  test.after.each(async () => {
    await db.close();
  });

  test('events arrive in LSN order; a batch or txn arrives together with one version', async () => {
    const w = db.watch({ prefix: 'a/' });
    const p1 = await db.put('a/1', 'x');
    await db.put('b/1', 'other range');
    const b = await db.batch([{ type: 'put', key: 'a/2', value: 'y' }, { type: 'put', key: 'b/2', value: 'no' }, { type: 'del', key: 'a/1' }]);
    const n = await db.incr('a/n', 5n);
    const t = await db.txn({ success: [{ type: 'put', key: 'a/3', value: 'z', ttlMs: 60_000 }, { type: 'incr', key: 'a/n' }] });
    await db.delete('a/2');
    const got = await take(w, 7);
    w.close();
    const ver = db.getEntry('a/n')!.version;
    assert.is(n, 5n);
    assert.equal(got.slice(0, 5).map(plain), [
      ['put', 'a/1', 'x', p1.version], ['put', 'a/2', 'y', b.version], ['del', 'a/1', undefined, b.version],
      ['put', 'a/n', '5', ver - 1n], ['put', 'a/3', 'z', t.version],
    ]);
    assert.ok(got[4]!.expiresAt! > Date.now(), 'a put with a TTL carries expiresAt');
    assert.equal(plain(got[5]!), ['put', 'a/n', '6', t.version]);
    assert.is(got[6]!.type, 'del');
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.version >= got[i - 1]!.version);
  });

  test('ranges: start/end, every key, and _sys. never appears', async () => {
    const range = db.watch({ start: 'k/b', end: 'k/d' });
    const all = db.watch({});
    await systemView(db).put('_sys.secret', 'hidden');
    for (const k of ['k/a', 'k/b', 'k/c', 'k/d']) await db.put(k, k);
    assert.equal((await take(range, 2)).map((e) => e.key.toString()), ['k/b', 'k/c']);
    assert.equal((await take(all, 4)).map((e) => e.key.toString()), ['k/a', 'k/b', 'k/c', 'k/d']);
    range.close();
    all.close();
  });

  test('fromVersion replays from the WAL, then goes on live; resume at last + 1 has no gap or duplicate', async () => {
    const first = await db.put('r/0', '0');
    for (let i = 1; i < 50; i++) await db.put(`r/${i}`, String(i));
    const w = db.watch({ prefix: 'r/' }, { fromVersion: first.version });
    const a = await take(w, 20);
    w.close();
    const resumed = db.watch({ prefix: 'r/' }, { fromVersion: a[19]!.version + 1n });
    const live = (async () => {
      for (let i = 50; i < 80; i++) await db.put(`r/${i}`, String(i));
    })();
    const b = await take(resumed, 60);
    await live;
    resumed.close();
    assert.equal([...a, ...b].map((e) => e.key.toString()), Array.from({ length: 80 }, (_, i) => `r/${i}`));
    assert.is(w.fromVersion, first.version);
  });

  test('a fromVersion older than the WAL on disk is COMPACTED, naming the oldest version', async () => {
    const small = await open({ dir: tempDir('watch-c'), engine, walSegmentBytes: 65536, onLog: () => undefined });
    try {
      for (let i = 0; i < 200; i++) await small.put(`c/${i % 10}`, 'v'.repeat(1000));
      await small.checkpoint();
      await small.put('c/x', 'after');
      let msg = '';
      await rejectsWith('COMPACTED', () => {
        try {
          small.watch({}, { fromVersion: 1n });
        } catch (err) {
          msg = (err as Error).message;
          throw err;
        }
      });
      const oldest = BigInt(/oldest version available is (\d+)/.exec(msg)![1]!);
      assert.ok(oldest > 1n);
      const w = small.watch({}, { fromVersion: oldest });
      const got = await take(w, 1);
      assert.is(got[0]!.version, oldest);
      w.close();
    } finally {
      await small.close();
    }
  });

  test('bad arguments are coded errors', async () => {
    await rejectsWith('INVALID_ARGUMENT', () => db.watch(null as never));
    await rejectsWith('UNKNOWN_OPTION', () => db.watch({ prefx: 'a' } as never));
    await rejectsWith('UNKNOWN_OPTION', () => db.watch({}, { from: 1n } as never));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({}, { fromVersion: 0n }));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({}, { fromVersion: 5 as never }));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({}, { maxQueue: 0 }));
  });

  test('the single-object form: fromVersion and maxQueue inside the range object', async () => {
    const p = await db.put('o/1', '1');
    await db.put('o/2', '2');
    const w = db.watch({ prefix: 'o/', fromVersion: p.version });
    assert.is(w.fromVersion, p.version);
    assert.equal((await take(w, 2)).map((e) => e.key.toString()), ['o/1', 'o/2']);
    w.close();
    // Given in both places, even alike, is a contradiction; each check still applies.
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({ prefix: 'o/', fromVersion: p.version }, { fromVersion: p.version }));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({ maxQueue: 5 }, { maxQueue: 6 }));
    await rejectsWith('UNKNOWN_OPTION', () => db.watch({ prefix: 'o/', fromVersoin: 1n } as never));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({ fromVersion: 0n }));
    await rejectsWith('INVALID_ARGUMENT', () => db.watch({ maxQueue: 0 }));
    // One in the object and the other in the options combine.
    const both = db.watch({ prefix: 'o/', maxQueue: 10 }, { fromVersion: p.version });
    assert.equal((await take(both, 2)).map((e) => e.key.toString()), ['o/1', 'o/2']);
    both.close();
    // maxQueue in the object is the bound: a watcher nobody reads is cut past 10 events.
    const cut = db.watch({ prefix: 'q/', maxQueue: 10 });
    for (let i = 0; i < 30; i++) await db.put(`q/${i}`, 'x');
    await db.put('q/end', 'x');
    let code: string | undefined;
    const deadline = Date.now() + 5000;
    try {
      for await (const e of cut) if (e.key.toString() === 'q/end' || Date.now() > deadline) break;
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    assert.is(code, 'WATCH_LAGGED');
  });

  test('a consumer that does not keep up is cut at its bound, with the version to resume from', async () => {
    const w = db.watch({ prefix: 's/' }, { maxQueue: 100 });
    const versions: bigint[] = [];
    for (let i = 0; i < 300; i++) versions.push((await db.put(`s/${i}`, 'x'.repeat(1000))).version);
    await db.put('s/end', 'x');
    const got: WatchEvent[] = [];
    let err: (Error & { code?: string; resumeFrom?: bigint }) | undefined;
    const deadline = Date.now() + 5000;
    try {
      // The queue holds at most 100; the hub cut the watcher and dropped them.
      for await (const e of w) {
        got.push(e);
        if (Date.now() > deadline) break;
      }
    } catch (e) {
      err = e as typeof err;
    }
    assert.is(err?.code, 'WATCH_LAGGED');
    assert.is(got.length, 0, 'the queue is dropped when cut');
    assert.is(err!.resumeFrom, versions[0]);
    assert.match(err!.message, `fromVersion ${versions[0]}`);
    const again = db.watch({ prefix: 's/' }, { fromVersion: err!.resumeFrom! });
    const all = await take(again, 301);
    again.close();
    assert.equal(all.map((e) => e.version).slice(0, 300), versions);
  });

  test('1,000 concurrent watchers each get every event, in order', async () => {
    const N = 1000;
    const ws = Array.from({ length: N }, (_, i) => db.watch(i % 2 === 0 ? { prefix: 'm/' } : {}));
    const writes = 20;
    for (let i = 0; i < writes; i++) await db.put(`m/${String(i).padStart(2, '0')}`, String(i));
    const got = await Promise.all(ws.map((w) => take(w, writes)));
    for (const g of got) assert.equal(g.map((e) => e.value!.toString()), Array.from({ length: writes }, (_, i) => String(i)));
    for (const w of ws) w.close();
  });

  test('close() ends the iteration, and so does closing the store', async () => {
    const w = db.watch({});
    const pending = take(w, 1);
    w.close();
    assert.equal(await pending, []);
    const other = await open({ dir: tempDir('watch-close'), engine, onLog: () => undefined });
    const w2 = other.watch({});
    const p2 = take(w2, 1);
    await other.close();
    assert.equal(await p2, []);
  });

  test.run();
}

if (ENGINES.includes('native')) {
  const test = suite('watch across worker_threads [native]');
  test('a watcher sees the writes of another thread sharing the engine', async () => {
    const dir = tempDir('watch-thr');
    const db = await open({ dir, engine: 'native', onLog: () => undefined });
    const w = db.watch({ prefix: 'ctr' });
    await new Promise<void>((resolve, reject) => {
      const worker = new Worker(new URL('./children/txn-worker.js', import.meta.url), { workerData: { mode: 'incr', dir, engine: 'native', id: 0, ops: 40 } });
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    const got = await take(w, 40);
    assert.equal(got.map((e) => e.value!.toString()), Array.from({ length: 40 }, (_, i) => String(i + 1)));
    w.close();
    await db.close();
  });

  test('a watcher in a worker_thread sees the writes of the main thread and of another worker, in version order, a batch together', async () => {
    const dir = tempDir('watch-thr2');
    const db = await open({ dir, engine: 'native', durability: 'always', onLog: () => undefined });
    const ROUNDS = 25; // per writer: a put and a 3-op batch each round
    const url = new URL('./children/watch-worker.js', import.meta.url);
    type Ev4 = [string, string, string, string];
    const run = (workerData: Record<string, unknown>, onWatching?: () => void): Promise<{ events: Ev4[]; error?: string }> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(url, { workerData });
        let result: { events: Ev4[]; error?: string } | undefined;
        worker.on('message', (m: 'watching' | { events: Ev4[]; error?: string }) => (m === 'watching' ? onWatching?.() : (result = m)));
        worker.once('error', reject);
        worker.once('exit', (code) => (result ? resolve(result) : reject(new Error(`worker exited ${code} without a result`))));
      });
    try {
      let watching!: () => void;
      const ready = new Promise<void>((r) => (watching = r));
      const watcher = run({ mode: 'watch', dir, prefix: 'x/', events: 2 * ROUNDS * 4 }, () => watching());
      await ready;
      // The main thread and a second worker write at the same time, both into the watched range.
      const mine = (async (): Promise<Ev4[]> => {
        const out: Ev4[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const k = `x/main/p${r}`;
          out.push(['put', k, `main${r}`, String((await db.put(k, `main${r}`)).version)]);
          await db.put(`y/${r}`, 'outside the range');
          const bv = String((await db.batch([{ type: 'put', key: `x/main/b${r}a`, value: 'A' }, { type: 'put', key: `x/main/b${r}b`, value: 'B' }, { type: 'del', key: `x/main/b${r}a` }])).version);
          out.push(['put', `x/main/b${r}a`, 'A', bv], ['put', `x/main/b${r}b`, 'B', bv], ['del', `x/main/b${r}a`, '', bv]);
        }
        return out;
      })();
      const [other, main] = await Promise.all([run({ mode: 'write', dir, prefix: 'x/', tag: 'w2', rounds: ROUNDS }), mine]);
      const seen = await watcher;
      assert.is(seen.error, undefined, seen.error);
      // Versions from the two writers interleave; the watcher's order is the versions' order,
      // and each batch's three events are adjacent, in op order, with one version.
      const want = [...main, ...other.events].sort((a, b) => (BigInt(a[3]) < BigInt(b[3]) ? -1 : BigInt(a[3]) > BigInt(b[3]) ? 1 : 0));
      assert.equal(seen.events, want);
      const tags = new Set(seen.events.map((e) => e[1].split('/')[1]));
      assert.equal([...tags].sort(), ['main', 'w2']);
    } finally {
      await db.close();
    }
  });
  test.run();
}
