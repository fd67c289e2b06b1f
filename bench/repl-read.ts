/**
 * Scenario `repl-read`: get() on an embedded read replica (open({ dir, replicaOf })) next to
 * get() on a local store holding the same data, in the same kind of process (this one) with
 * the same key sample and loop as the `get` scenario (bench/get.ts: 65,536 scrambled keys of
 * [0, keys), hits and misses, tinybench over batches of 1,000 reads).
 *
 *   local    open() a store here and load keys [0, keys) (common.ts keys and values).
 *   replica  a primary in another process (bench/repl-node.ts --mode primary) loads the same
 *            keys; open({ replicaOf }) here follows it until its applied LSN reaches the
 *            primary's flushed LSN, then reads. The replica stays connected (keepalives, no
 *            writes) while it is measured.
 */
import path from 'node:path';
import { open } from '../ts/index.js';
import { type ImplFn, type Params, type ScenarioSpec, type TargetRow, childMain, isEntry, loadStore, openStore } from './common.js';
import { measure, ring, samples } from './get.js';
import { engineOf, firstLine, sleep, spawnReplNode } from './repl-cluster.js';
import type { Store } from '../ts/index.js';

function reads(store: Store, p: Params): ReturnType<typeof measure> {
  const { hits, misses } = samples(Number(p.keys), false);
  const read = (k: Buffer): number => store.get(k)?.length ?? 0;
  return measure(p, { hit: ring(hits, read), miss: ring(misses, read) });
}

export const local: ImplFn = async (p, { dir }) => {
  const store = await openStore(engineOf(p), path.join(dir, 'local'), 'always');
  await loadStore(store, Number(p.keys));
  return reads(store, p);
};

export const replica: ImplFn = async (p, { dir }) => {
  const engine = engineOf(p);
  const primary = spawnReplNode(['--mode', 'primary', '--dir', path.join(dir, 'primary'), '--engine', engine, '--keys', String(p.keys)]);
  try {
    const { url, flushedLsn } = await firstLine<{ url: string; flushedLsn: string }>(primary, 120_000);
    const store = await open({ dir: path.join(dir, 'replica'), engine, replicaOf: url, standbyId: 'r1', onLog: () => {} });
    const t0 = Date.now();
    while (store.replication().appliedLsn < BigInt(flushedLsn)) {
      if (Date.now() - t0 > 120_000) throw new Error(`replica at LSN ${store.replication().appliedLsn} of ${flushedLsn} after 120 s: ${JSON.stringify(store.replication().lastError)}`);
      await sleep(10);
    }
    const m = await reads(store, p);
    return { ...m, catchUpMs: Date.now() - t0 };
  } finally {
    await primary.kill();
  }
};

const hits = (r: TargetRow | undefined): number => (typeof r?.metrics?.hitOpsPerSec === 'number' ? r.metrics.hitOpsPerSec : NaN);

export const spec: ScenarioSpec = {
  name: 'repl-read',
  title: 'get() on an embedded read replica vs a local store (same data, same keys, same process kind)',
  impls: ['local', 'replica'],
  labels: { local: 'local store get()', replica: 'embedded replica get()' },
  cases: ({ keys }) => [{ keys: keys ?? 100_000, ms: 1000, engine: 'native' }],
  columns: [
    { key: 'hitOpsPerSec', label: 'hit ops/s', unit: 'ops' },
    { key: 'missOpsPerSec', label: 'miss ops/s', unit: 'ops' },
    { key: 'catchUpMs', label: 'replica catch-up ms', unit: 'ms' },
  ],
  baseline: 'local',
  targets: [
    {
      impl: 'replica', text: '≥ 0.9× local get() (hits)',
      check: (row, find) => {
        const r = hits(row) / hits(find('local', row.params));
        return Number.isNaN(r) ? 'unavailable' : r >= 0.9;
      },
    },
  ],
  interleave: true,
  timeoutMs: 240_000,
  run: { local, replica },
};

if (isEntry(import.meta.url)) await childMain(spec);
