/**
 * Scenario `memory`: process.memoryUsage() before and after loading `keys` entries, each
 * after global.gc() (the child runs with --expose-gc), reported per entry and as the
 * overhead beyond the key and value bytes (16 + 100). The store is opened (and the Map
 * created) before the first measurement, so only the entries are counted. RSS includes
 * memory the allocator keeps after frees (loading makes garbage), so it is an upper bound.
 */
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, KEY_BYTES, VALUE_BYTES, childMain, isEntry, keyString,
  loadStore, openStore, valueBuf,
} from './common.js';

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  g();
  g();
};
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

async function measure(n: number, load: () => Promise<unknown>): Promise<Metrics> {
  await settle();
  gc();
  const before = process.memoryUsage();
  const keep = await load();
  await settle();
  gc();
  const after = process.memoryUsage();
  if (keep === 42) console.log(keep); // keeps the loaded structure alive until here
  const rss = (after.rss - before.rss) / n;
  const heap = (after.heapUsed + after.external - before.heapUsed - before.external) / n;
  return {
    rssOverhead: Number((rss - KEY_BYTES - VALUE_BYTES).toFixed(1)),
    rssPerEntry: Number(rss.toFixed(1)),
    heapPerEntry: Number(heap.toFixed(1)),
    rssMiB: Number(((after.rss - before.rss) / 2 ** 20).toFixed(1)),
  };
}

async function store(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const s = await openStore(engine, dir, 'none', { checkpointWalBytes: 0 });
  return measure(Number(p.keys), async () => {
    await loadStore(s, Number(p.keys));
    return s;
  });
}

export const native: ImplFn = (p, { dir }) => store('native', p, dir);
export const js: ImplFn = (p, { dir }) => store('js', p, dir);
export const map: ImplFn = async (p) => {
  const m = new Map<string, Buffer>();
  return measure(Number(p.keys), async () => {
    for (let i = 0; i < Number(p.keys); i++) m.set(keyString(i), valueBuf(i));
    return m;
  });
};

export const spec: ScenarioSpec = {
  name: 'memory',
  title: 'Memory per entry (overhead = bytes beyond the 16 B key + 100 B value)',
  impls: ['native', 'js', 'map'],
  labels: { js: 'js engine', map: 'Map<string, Buffer>' },
  cases: ({ keys }) => [{ keys: keys ?? 1_000_000 }],
  columns: [
    { key: 'rssOverhead', label: 'RSS overhead B/entry', unit: 'bytes' },
    { key: 'rssPerEntry', label: 'RSS B/entry', unit: 'bytes' },
    { key: 'heapPerEntry', label: 'JS heap+external B/entry', unit: 'bytes' },
    { key: 'rssMiB', label: 'RSS delta MiB', unit: 'num' },
  ],
  baseline: 'js',
  lowerIsBetter: true,
  targets: [
    { impl: 'native', text: '≤ 48 B/entry overhead', check: (row) => (row.metrics ? (row.metrics.rssOverhead as number) <= 48 : 'unavailable') },
    {
      impl: 'native',
      text: 'RSS ≤ ½ of js',
      check: (row, find) => {
        const j = find('js', row.params);
        if (!j?.metrics) return 'js missing';
        return row.metrics ? (row.metrics.rssPerEntry as number) <= 0.5 * (j.metrics.rssPerEntry as number) : 'unavailable';
      },
    },
  ],
  nodeArgs: ['--expose-gc'],
  timeoutMs: 300_000,
  run: { native, js, map },
};

if (isEntry(import.meta.url)) await childMain(spec);
