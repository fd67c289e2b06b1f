/**
 * Scenario `checkpoint`: a checkpoint of `keys` entries, timed, while a loop does one get
 * and one awaited put per iteration and times each with process.hrtime.bigint(). The loop
 * yields to the event loop (setImmediate) between iterations and records how long that
 * took too: a checkpoint that blocks the JS thread shows up there, as the time an arriving
 * operation would have waited.
 */
import type { Durability } from '../ts/store/options.js';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, isEntry, keyBuf, loadStore, openStore,
  permutation, valueBuf,
} from './common.js';

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

async function run(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const n = Number(p.keys);
  const store = await openStore(engine, dir, p.durability as Durability, { checkpointWalBytes: 0 });
  await loadStore(store, n);
  const perm = permutation(n);
  const keys = Array.from(perm.subarray(0, Math.min(n, 1 << 16)), (i) => keyBuf(i));
  const value = valueBuf(3);
  let maxGet = 0n;
  let maxPut = 0n;
  let maxStall = 0n;
  let iterations = 0;
  let done = false;
  const t0 = process.hrtime.bigint();
  const cp = store.checkpoint().then(() => {
    done = true;
  });
  while (!done) {
    const k = keys[iterations++ % keys.length]!;
    const a = process.hrtime.bigint();
    store.get(k);
    const b = process.hrtime.bigint();
    await store.put(k, value);
    const c = process.hrtime.bigint();
    await immediate();
    const d = process.hrtime.bigint();
    if (b - a > maxGet) maxGet = b - a;
    if (c - b > maxPut) maxPut = c - b;
    if (d - c > maxStall) maxStall = d - c;
  }
  await cp;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const us = (x: bigint): number => Number(x) / 1e3;
  return {
    checkpointMs: Number(ms.toFixed(1)),
    maxGetUs: Number(us(maxGet).toFixed(1)),
    maxPutUs: Number(us(maxPut).toFixed(1)),
    maxStallMs: Number((us(maxStall) / 1e3).toFixed(2)),
    iterations,
  };
}

export const native: ImplFn = (p, { dir }) => run('native', p, dir);
export const js: ImplFn = (p, { dir }) => run('js', p, dir);

export const spec: ScenarioSpec = {
  name: 'checkpoint',
  title: 'Checkpoint of N keys and the longest get/put while it runs',
  impls: ['native', 'js'],
  labels: { js: 'js engine' },
  cases: ({ keys }) => [{ keys: keys ?? 1_000_000, durability: 'none' }],
  columns: [
    { key: 'checkpointMs', label: 'checkpoint ms', unit: 'ms' },
    { key: 'maxGetUs', label: 'max get µs', unit: 'us' },
    { key: 'maxPutUs', label: 'max put µs', unit: 'us' },
    { key: 'maxStallMs', label: 'max event-loop stall ms', unit: 'ms' },
    { key: 'iterations', label: 'get+put pairs during it', unit: 'num' },
  ],
  baseline: 'js',
  lowerIsBetter: true,
  targets: ['native', 'js'].map((impl) => ({
    impl,
    text: 'no op waits > 5 ms (get, put, stall)',
    check: (row: { metrics?: Record<string, number | string> }) => {
      const m = row.metrics;
      if (!m) return 'unavailable';
      return (m.maxGetUs as number) <= 5000 && (m.maxPutUs as number) <= 5000 && (m.maxStallMs as number) <= 5;
    },
  })),
  timeoutMs: 300_000,
  run: { native, js },
};

if (isEntry(import.meta.url)) await childMain(spec);
