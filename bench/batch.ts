/**
 * Scenario `batch`: atomic batches of `batchSize` puts of new keys under durability
 * `always`, with `inflight` batches outstanding. lmdb's equivalent is one asynchronous
 * transaction (resolved once committed and flushed) holding the same puts.
 */
import type { Durability } from '../ts/store/options.js';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry, keyBuf, openLmdb,
  openStore, permutation, valueBuf,
} from './common.js';

function batches(p: Params): Buffer[][] {
  const size = Number(p.batchSize);
  const perm = permutation(Math.floor(Number(p.ops) / size) * size);
  const out: Buffer[][] = [];
  for (let i = 0; i < perm.length; i += size) out.push(Array.from(perm.subarray(i, i + size), (k) => keyBuf(k)));
  return out;
}

function result(r: { ops: number; seconds: number }, size: number): Metrics {
  return { putsPerSec: Math.round((r.ops * size) / r.seconds), batchesPerSec: Math.round(r.ops / r.seconds), batches: r.ops };
}

async function storeBatches(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const store = await openStore(engine, dir, p.durability as Durability);
  const value = valueBuf(7);
  const all = batches(p).map((keys) => keys.map((key) => ({ type: 'put' as const, key, value })));
  return result(await inflightLoop(Number(p.inflight), Number(p.seconds), all.length, (i) => store.batch(all[i]!)), Number(p.batchSize));
}

export const native: ImplFn = (p, { dir }) => storeBatches('native', p, dir);
export const js: ImplFn = (p, { dir }) => storeBatches('js', p, dir);

export const lmdb: ImplFn = async (p, { dir }) => {
  const db = await openLmdb(dir, p.durability === 'none' ? { noSync: true } : {});
  const value = valueBuf(7);
  const all = batches(p);
  const r = await inflightLoop(Number(p.inflight), Number(p.seconds), all.length, (i) =>
    db.transaction(() => {
      for (const k of all[i]!) db.put(k, value);
    }),
  );
  return result(r, Number(p.batchSize));
};

export const spec: ScenarioSpec = {
  name: 'batch',
  title: 'Atomic batches of 100 puts, durability always',
  impls: ['native', 'js', 'lmdb'],
  labels: { js: 'js engine', lmdb: 'lmdb transaction()' },
  cases: ({ keys, quick }) =>
    (quick ? [1] : [1, 16]).map((inflight) => ({ batchSize: 100, durability: 'always', inflight, seconds: quick ? 0.3 : 0.5, ops: keys ?? 300_000 })),
  columns: [
    { key: 'putsPerSec', label: 'puts/s', unit: 'ops' },
    { key: 'batchesPerSec', label: 'batches/s', unit: 'ops' },
  ],
  baseline: 'lmdb',
  timeoutMs: 120_000,
  run: { native, js, lmdb },
};

if (isEntry(import.meta.url)) await childMain(spec);
