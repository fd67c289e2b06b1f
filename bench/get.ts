/**
 * Scenario `get`: synchronous point reads, hits and misses, after loading `keys` entries.
 * Every implementation reads the same scrambled sample of keys (16-byte Buffers; the Map
 * gets the same keys as strings, its natural form) in batches of BATCH per tinybench
 * iteration, so the timer's own cost is spread over BATCH reads.
 */
import { Bench } from 'tinybench';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, Unavailable, childMain, isEntry, keyBuf, keyString,
  loadLmdb, loadStore, missString, openLmdb, openStore, permutation, valueBuf, VALUE_BYTES,
} from './common.js';

const BATCH = 1000;
const SAMPLE = 1 << 16;

export interface Reader {
  hit: () => number;
  miss: () => number;
}

/** Runs tinybench on the hit and miss loops; ops/s from the median batch time. */
export async function measure(p: Params, r: Reader): Promise<Metrics> {
  const time = Number(p.ms ?? 500);
  const bench = new Bench({ time, warmupTime: Math.min(200, time), iterations: 20 });
  let sink = 0;
  bench.add('hit', () => {
    sink += r.hit();
  });
  bench.add('miss', () => {
    sink += r.miss();
  });
  await bench.run();
  const out: Metrics = {};
  for (const t of bench.tasks) {
    const res = t.result;
    if (res.state !== 'completed') throw new Error(`tinybench task ${t.name}: ${res.state}${'error' in res ? ': ' + String(res.error) : ''}`);
    out[`${t.name}OpsPerSec`] = Math.round((BATCH * 1000) / res.latency.p50);
    out[`${t.name}Rme`] = Number(res.latency.rme.toFixed(2));
  }
  if (sink === 0.5) console.error(sink); // keeps the reads observable
  return out;
}

/** The hit and miss samples: SAMPLE keys spread over [0, keys), then cycled. */
export function samples(keys: number, asString: false): { hits: Buffer[]; misses: Buffer[] };
export function samples(keys: number, asString: true): { hits: string[]; misses: string[] };
export function samples(keys: number, asString: boolean): { hits: (Buffer | string)[]; misses: (Buffer | string)[] } {
  const perm = permutation(keys);
  const n = Math.min(SAMPLE, keys);
  const hits: (Buffer | string)[] = [];
  const misses: (Buffer | string)[] = [];
  for (let i = 0; i < SAMPLE; i++) {
    const k = perm[i % n]!;
    hits.push(asString ? keyString(k) : keyBuf(k));
    misses.push(asString ? missString(k) : Buffer.from(missString(k), 'latin1'));
  }
  return { hits, misses };
}

/** BATCH reads per call, walking the sample ring. */
export function ring<K>(keys: K[], read: (k: K) => number): () => number {
  let at = 0;
  return () => {
    let s = 0;
    for (let i = 0; i < BATCH; i++) {
      s += read(keys[at]!);
      at = (at + 1) & (SAMPLE - 1);
    }
    return s;
  };
}

async function storeReader(engine: 'native' | 'js', p: Params, dir: string, into: boolean): Promise<Reader> {
  const store = await openStore(engine, dir, 'none', { checkpointWalBytes: 0 });
  await loadStore(store, Number(p.keys));
  const { hits, misses } = samples(Number(p.keys), false);
  if (into) {
    const target = Buffer.allocUnsafe(VALUE_BYTES);
    const read = (k: Buffer): number => store.getInto(k, target);
    return { hit: ring(hits, read), miss: ring(misses, read) };
  }
  const read = (k: Buffer): number => store.get(k)?.length ?? 0;
  return { hit: ring(hits, read), miss: ring(misses, read) };
}

export const nativeGet: ImplFn = async (p, { dir }) => measure(p, await storeReader('native', p, dir, false));
export const nativeGetInto: ImplFn = async (p, { dir }) => measure(p, await storeReader('native', p, dir, true));
export const jsGet: ImplFn = async (p, { dir }) => measure(p, await storeReader('js', p, dir, false));
export const jsGetInto: ImplFn = async (p, { dir }) => measure(p, await storeReader('js', p, dir, true));

export const mapGet: ImplFn = async (p) => {
  const n = Number(p.keys);
  const map = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) map.set(keyString(i), valueBuf(i));
  const { hits, misses } = samples(n, true);
  const read = (k: string): number => map.get(k)?.length ?? 0;
  return measure(p, { hit: ring(hits, read), miss: ring(misses, read) });
};

async function lmdbReader(p: Params, dir: string, fast: boolean): Promise<Reader> {
  const db = await openLmdb(dir);
  loadLmdb(db, Number(p.keys));
  const { hits, misses } = samples(Number(p.keys), false);
  const read = fast ? (k: Buffer): number => db.getBinaryFast(k)?.length ?? 0 : (k: Buffer): number => (db.get(k) as Buffer | undefined)?.length ?? 0;
  return { hit: ring(hits, read), miss: ring(misses, read) };
}

export const lmdbGet: ImplFn = async (p, { dir }) => measure(p, await lmdbReader(p, dir, false));
export const lmdbGetBinaryFast: ImplFn = async (p, { dir }) => measure(p, await lmdbReader(p, dir, true));

export const levelGetSync: ImplFn = async (p, { dir }) => {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<Buffer, Buffer>(`${dir}/level`, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  if (typeof db.getSync !== 'function') throw new Unavailable('this classic-level has no getSync()');
  const n = Number(p.keys);
  for (let i = 0; i < n; i += 10_000) {
    const b = db.batch();
    for (let j = i; j < Math.min(i + 10_000, n); j++) b.put(keyBuf(j), valueBuf(j));
    await b.write();
  }
  const { hits, misses } = samples(n, false);
  const read = (k: Buffer): number => db.getSync(k)?.length ?? 0;
  return measure(p, { hit: ring(hits, read), miss: ring(misses, read) });
};

const ratio = (a: number | string | undefined, b: number | string | undefined): number =>
  typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : NaN;

function against(other: string, factor: number): (row: import('./common.js').TargetRow, find: (i: string, p: Params) => import('./common.js').TargetRow | undefined) => boolean | string {
  return (row, find) => {
    const o = find(other, row.params);
    if (!o?.metrics) return `${other} ${o?.unavailable ? 'unavailable' : 'missing'}`;
    if (!row.metrics) return 'unavailable';
    const r = ratio(row.metrics.hitOpsPerSec, o.metrics.hitOpsPerSec);
    return Number.isNaN(r) ? 'no data' : r >= factor;
  };
}

export const spec: ScenarioSpec = {
  name: 'get',
  title: 'Point reads (16 B keys, 100 B values), hits and misses',
  impls: ['native-get', 'native-getInto', 'js-get', 'js-getInto', 'map', 'lmdb-get', 'lmdb-getBinaryFast', 'level-getSync'],
  labels: {
    map: 'Map<string, Buffer>',
    'lmdb-get': 'lmdb get()',
    'lmdb-getBinaryFast': 'lmdb getBinaryFast()',
    'level-getSync': 'classic-level getSync()',
  },
  cases: ({ keys, quick }) => (keys ? [{ keys }] : quick ? [{ keys: 100_000 }] : [{ keys: 100_000 }, { keys: 1_000_000 }]).map((c) => ({ ...c, ms: 500 })),
  columns: [
    { key: 'hitOpsPerSec', label: 'hit ops/s', unit: 'ops' },
    { key: 'missOpsPerSec', label: 'miss ops/s', unit: 'ops' },
  ],
  baseline: 'lmdb-get',
  targets: [
    { impl: 'native-get', text: '≥ 2× lmdb get (hits)', check: against('lmdb-get', 2) },
    { impl: 'native-get', text: '≥ 1.2× getBinaryFast (hits)', check: against('lmdb-getBinaryFast', 1.2) },
    { impl: 'native-getInto', text: '≥ 2× getBinaryFast (hits)', check: against('lmdb-getBinaryFast', 2) },
  ],
  timeoutMs: 180_000,
  run: {
    'native-get': nativeGet,
    'native-getInto': nativeGetInto,
    'js-get': jsGet,
    'js-getInto': jsGetInto,
    map: mapGet,
    'lmdb-get': lmdbGet,
    'lmdb-getBinaryFast': lmdbGetBinaryFast,
    'level-getSync': levelGetSync,
  },
};

if (isEntry(import.meta.url)) await childMain(spec);
