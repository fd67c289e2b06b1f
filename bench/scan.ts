/**
 * Scenario `scan`: prefix scans that each return `scanSize` consecutive keys out of
 * `keys` (prefix 'key:' + 9 digits covers 1,000 keys), every entry's key and value read.
 * Prefixes are drawn in a scrambled order; tinybench times one scan per iteration.
 */
import { Bench } from 'tinybench';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, type TargetRow, childMain, isEntry, loadLmdb, loadStore,
  openLmdb, openStore, permutation,
} from './common.js';

function prefixes(p: Params): { prefix: Buffer; end: Buffer }[] {
  const groups = Math.max(1, Math.floor(Number(p.keys) / 1000));
  return Array.from(permutation(groups), (g) => {
    const digits = String(g).padStart(9, '0');
    return { prefix: Buffer.from('key:' + digits, 'latin1'), end: Buffer.from('key:' + digits + ';', 'latin1') }; // ';' = '9' + 2
  });
}

async function measure(p: Params, scan: (prefix: Buffer, end: Buffer) => number): Promise<Metrics> {
  const ps = prefixes(p);
  let at = 0;
  let entries = 0;
  let scans = 0;
  const bench = new Bench({ time: Number(p.ms), warmupTime: 100, iterations: 20 });
  bench.add('scan', () => {
    const q = ps[at++ % ps.length]!;
    entries += scan(q.prefix, q.end);
    scans++;
  });
  await bench.run();
  const res = bench.tasks[0]!.result;
  if (res.state !== 'completed') throw new Error(`tinybench: ${res.state}`);
  const perScan = entries / scans;
  if (perScan !== Math.min(1000, Number(p.keys))) throw new Error(`a scan returned ${perScan} entries on average, expected 1000`);
  return { scansPerSec: Math.round(1000 / res.latency.p50), entriesPerSec: Math.round((1000 / res.latency.p50) * perScan), rme: Number(res.latency.rme.toFixed(2)) };
}

async function storeScan(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const store = await openStore(engine, dir, 'none', { checkpointWalBytes: 0 });
  await loadStore(store, Number(p.keys));
  return measure(p, (prefix) => {
    let n = 0;
    for (const [k, v] of store.scan({ prefix })) n += k.length > 0 && v.length > 0 ? 1 : 0;
    return n;
  });
}

export const native: ImplFn = (p, { dir }) => storeScan('native', p, dir);
export const js: ImplFn = (p, { dir }) => storeScan('js', p, dir);

export const lmdb: ImplFn = async (p, { dir }) => {
  const db = await openLmdb(dir);
  loadLmdb(db, Number(p.keys));
  return measure(p, (start, end) => {
    let n = 0;
    for (const { key, value } of db.getRange({ start, end })) n += (key as Buffer).length > 0 && (value as Buffer).length > 0 ? 1 : 0;
    return n;
  });
};

export const spec: ScenarioSpec = {
  name: 'scan',
  title: 'Prefix scan returning 1,000 entries',
  impls: ['native', 'js', 'lmdb'],
  labels: { js: 'js engine', lmdb: 'lmdb getRange()' },
  cases: ({ keys }) => [{ keys: keys ?? 1_000_000, scanSize: 1000, ms: 500 }],
  columns: [
    { key: 'scansPerSec', label: 'scans/s', unit: 'ops' },
    { key: 'entriesPerSec', label: 'entries/s', unit: 'ops' },
  ],
  baseline: 'lmdb',
  targets: [
    {
      impl: 'native',
      text: '≥ lmdb getRange',
      check: (row: TargetRow, find) => {
        const l = find('lmdb', row.params);
        if (!l?.metrics) return 'lmdb missing';
        return row.metrics ? (row.metrics.scansPerSec as number) >= (l.metrics.scansPerSec as number) : 'unavailable';
      },
    },
  ],
  timeoutMs: 180_000,
  run: { native, js, lmdb },
};

if (isEntry(import.meta.url)) await childMain(spec);
