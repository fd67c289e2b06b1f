/**
 * Scenario `recovery`: open() of a directory holding a snapshot of `keys` entries plus
 * about `walMiB` MiB of WAL written after it. The `prepare` phase (its own process) loads,
 * checkpoints, writes the WAL tail with durability always and exits without close() (close
 * would checkpoint); the `measure` phase, a fresh process, times open(). The WAL is warm in
 * the page cache (dropping caches would need root and affects the whole machine).
 */
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry, keyBuf, loadStore,
  openStore, permutation, valueBuf,
} from './common.js';

async function prepare(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const n = Number(p.keys);
  const store = await openStore(engine, dir, 'always', { checkpointWalBytes: 0 });
  await loadStore(store, n);
  await store.checkpoint();
  const base = store.stats().walBytes;
  const target = Number(p.walMiB) * 1024 * 1024;
  const perm = permutation(n);
  const value = valueBuf(5);
  let written = 0;
  while (store.stats().walBytes - base < target) {
    const r = await inflightLoop(256, 3600, 10_000, (i) => store.put(keyBuf(perm[(written + i) % n]!), value));
    written += r.ops;
  }
  const s = store.stats();
  return { walMiB: Number(((s.walBytes - base) / 2 ** 20).toFixed(1)), walRecords: written };
}

async function measure(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const t0 = performance.now();
  const store = await openStore(engine, dir, 'always', { checkpointWalBytes: 0 });
  const ms = performance.now() - t0;
  const keys = store.count();
  if (keys !== Number(p.keys)) throw new Error(`recovered ${keys} keys, expected ${p.keys}`);
  return { openMs: Number(ms.toFixed(1)), keys, walMiB: Number((store.stats().walBytes / 2 ** 20).toFixed(1)) };
}

const both = (engine: 'native' | 'js'): ImplFn => (p, { dir, phase }) => (phase === 'prepare' ? prepare(engine, p, dir) : measure(engine, p, dir));
export const native: ImplFn = both('native');
export const js: ImplFn = both('js');

export const spec: ScenarioSpec = {
  name: 'recovery',
  title: 'open() after a crash: snapshot of N keys + WAL written after it',
  impls: ['native', 'js'],
  labels: { js: 'js engine' },
  cases: ({ keys }) => [{ keys: keys ?? 1_000_000, walMiB: keys && keys < 1_000_000 ? 16 : 64 }],
  columns: [
    { key: 'openMs', label: 'open ms', unit: 'ms' },
    { key: 'walMiB', label: 'WAL MiB on disk', unit: 'num' },
  ],
  baseline: 'js',
  lowerIsBetter: true,
  targets: [
    {
      impl: 'native',
      text: '≤ 1 s',
      check: (row) => (row.metrics ? (row.metrics.openMs as number) <= 1000 : 'unavailable'),
    },
  ],
  prepare: true,
  timeoutMs: 600_000,
  run: { native, js },
};

if (isEntry(import.meta.url)) await childMain(spec);
