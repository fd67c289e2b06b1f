/**
 * Scenario `scaling`: `threads` worker_threads sharing one store (the main thread loads
 * `keys` entries, then every worker opens the same directory), all started together by an
 * Atomics barrier; gets run in batches of 1,000 over a scrambled key sample, puts (durability
 * none) keep 16 in flight per thread. Throughput is the sum over threads. The js engine
 * cannot be shared between threads (a second open gets LOCKED); lmdb-js, which shares its
 * environment across threads, is the yardstick.
 */
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry,
  keyBuf, loadLmdb, loadStore, openLmdb, openStore, permutation, valueBuf,
} from './common.js';

interface Job {
  scaling: true;
  impl: 'native' | 'lmdb';
  dir: string;
  op: string;
  keys: number;
  seconds: number;
  index: number;
  barrier: SharedArrayBuffer;
}

async function workerMain(job: Job): Promise<void> {
  const flag = new Int32Array(job.barrier);
  let get: (k: Buffer) => number;
  let put: (k: Buffer, v: Buffer) => Promise<unknown>;
  if (job.impl === 'native') {
    const store = await openStore('native', job.dir, 'none', { checkpointWalBytes: 0 });
    get = (k) => store.get(k)?.length ?? 0;
    put = (k, v) => store.put(k, v);
  } else {
    const db = await openLmdb(job.dir, { noSync: true });
    get = (k) => db.getBinaryFast(k)?.length ?? 0;
    put = (k, v) => db.put(k, v);
  }
  const perm = permutation(job.keys, 0x1234 + job.index);
  const sample = Array.from(perm.subarray(0, Math.min(job.keys, 1 << 16)), (i) => keyBuf(i));
  const value = valueBuf(job.index);
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
  Atomics.wait(flag, 1, 0); // the start signal
  let ops = 0;
  const t0 = performance.now();
  if (job.op === 'get') {
    const deadline = t0 + job.seconds * 1000;
    let at = 0;
    let sink = 0;
    while (performance.now() < deadline) {
      for (let i = 0; i < 1000; i++) {
        sink += get(sample[at]!);
        at = (at + 1) % sample.length;
      }
      ops += 1000;
    }
    if (sink === -1) console.log(sink);
  } else {
    const r = await inflightLoop(16, job.seconds, 10_000_000, (i) => put(sample[i % sample.length]!, value));
    ops = r.ops;
  }
  parentPort!.postMessage({ ops, seconds: (performance.now() - t0) / 1000 });
}

async function run(impl: 'native' | 'lmdb', p: Params, dir: string): Promise<Metrics> {
  const n = Number(p.keys);
  if (impl === 'native') {
    const store = await openStore('native', dir, 'none', { checkpointWalBytes: 0 });
    await loadStore(store, n);
  } else {
    loadLmdb(await openLmdb(dir, { noSync: true }), n);
  }
  const threads = Number(p.threads);
  const barrier = new SharedArrayBuffer(8);
  const flag = new Int32Array(barrier);
  const results: Promise<{ ops: number; seconds: number }>[] = [];
  for (let index = 0; index < threads; index++) {
    const job: Job = { scaling: true, impl, dir, op: String(p.op), keys: n, seconds: Number(p.seconds), index, barrier };
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    results.push(new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }));
  }
  while (Atomics.load(flag, 0) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(flag, 1, 1);
  Atomics.notify(flag, 1);
  const all = await Promise.all(results);
  const ops = all.reduce((s, r) => s + r.ops, 0);
  const secs = Math.max(...all.map((r) => r.seconds));
  return { opsPerSec: Math.round(ops / secs), perThread: Math.round(ops / secs / threads) };
}

export const native: ImplFn = (p, { dir }) => run('native', p, dir);
export const lmdb: ImplFn = (p, { dir }) => run('lmdb', p, dir);
export const js: ImplFn = async () => {
  throw new Error('unreachable: applies() marks js n/a');
};

const speedup = (impl: string): NonNullable<ScenarioSpec['targets']> => [
  {
    impl,
    where: { op: 'get', threads: 2 },
    text: '2 threads ≥ 1.8× one',
    check: (row, find) => {
      const one = find(impl, { ...row.params, threads: 1 });
      if (!one?.metrics) return '1-thread row unavailable';
      return row.metrics ? (row.metrics.opsPerSec as number) >= 1.8 * (one.metrics.opsPerSec as number) : 'unavailable';
    },
  },
];

export const spec: ScenarioSpec = {
  name: 'scaling',
  title: 'worker_threads sharing one store: total ops/s',
  impls: ['native', 'js', 'lmdb'],
  labels: { js: 'js engine', lmdb: 'lmdb (getBinaryFast / put noSync)' },
  cases: ({ keys, quick }) => {
    const out: Params[] = [];
    for (const op of ['get', 'put']) for (const threads of [1, 2, 4]) out.push({ op, threads, keys: keys ?? 100_000, seconds: quick ? 0.3 : 0.5 });
    return out;
  },
  applies: (impl) => (impl === 'js' ? 'the pure-TS engine cannot be shared between threads (LOCKED)' : true),
  columns: [
    { key: 'opsPerSec', label: 'total ops/s', unit: 'ops' },
    { key: 'perThread', label: 'per thread', unit: 'ops' },
  ],
  baseline: 'lmdb',
  targets: speedup('native'),
  timeoutMs: 120_000,
  run: { native, js, lmdb },
};

if (!isMainThread && (workerData as Job | undefined)?.scaling) await workerMain(workerData as Job);
else if (isEntry(import.meta.url)) await childMain(spec);
