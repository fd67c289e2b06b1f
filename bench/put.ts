/**
 * Scenario `put`: asynchronous single-key writes (put of new keys, or delete of loaded
 * ones) with exactly `inflight` writes outstanding, under each durability policy, for
 * `seconds` or at most `ops` writes. The raw-disk yardstick is a loop of write+fdatasync
 * of `probeBytes` bytes: the native addon's fdatasyncProbe, or (when the addon does not
 * load) the same loop in Node's fs, labelled as such.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadNative } from '../ts/binding.js';
import type { Durability } from '../ts/store/options.js';
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, type TargetRow, Unavailable, childMain, inflightLoop, ratioTarget,
  isEntry, keyBuf, loadLmdb, loadStore, nativeUnavailable, openLmdb, openStore, permutation, valueBuf,
} from './common.js';
import { redisBenchmarkSet, startRedis } from './redis-peer.js';

/** The scrambled keys this trial writes or deletes (untimed). */
function trialKeys(p: Params): Buffer[] {
  const perm = permutation(Number(p.ops));
  return Array.from(perm, (i) => keyBuf(i));
}

function result(r: { ops: number; seconds: number }): Metrics {
  return { opsPerSec: Math.round(r.ops / r.seconds), ops: r.ops, seconds: Number(r.seconds.toFixed(3)) };
}

async function storeWrites(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const store = await openStore(engine, dir, p.durability as Durability);
  const keys = trialKeys(p);
  const value = valueBuf(7);
  if (p.op === 'delete') {
    await loadStore(store, Number(p.ops));
    return result(await inflightLoop(Number(p.inflight), Number(p.seconds), keys.length, (i) => store.delete(keys[i]!)));
  }
  return result(await inflightLoop(Number(p.inflight), Number(p.seconds), keys.length, (i) => store.put(keys[i]!, value)));
}

export const native: ImplFn = (p, { dir }) => storeWrites('native', p, dir);
export const js: ImplFn = (p, { dir }) => storeWrites('js', p, dir);

/** lmdb-js: always = its default (the promise resolves after the commit is flushed); none = noSync. */
export const lmdb: ImplFn = async (p, { dir }) => {
  if (p.durability === 'interval') throw new Unavailable('lmdb has no interval-sync policy');
  const db = await openLmdb(dir, p.durability === 'none' ? { noSync: true } : {});
  const keys = trialKeys(p);
  const value = valueBuf(7);
  if (p.op === 'delete') {
    loadLmdb(db, Number(p.ops));
    await db.flushed;
    return result(await inflightLoop(Number(p.inflight), Number(p.seconds), keys.length, (i) => db.remove(keys[i]!)));
  }
  return result(await inflightLoop(Number(p.inflight), Number(p.seconds), keys.length, (i) => db.put(keys[i]!, value)));
};

/**
 * Redis (bench/redis-peer.ts) driven by redis-benchmark: SET with `-P 16 -c 50` (800 in
 * flight over 50 sockets), the figure issue 17 measures against; AOF appendfsync always for
 * `always`, no persistence for `none`. Run on the 256-in-flight put rows only.
 */
export const redis: ImplFn = async (p, { dir }) => {
  const server = await startRedis(dir, String(p.durability));
  try {
    const requests = Math.max(100_000, Math.round(1_000_000 * Number(p.seconds)));
    const rps = redisBenchmarkSet(server.port, { requests, pipeline: 16, clients: 50, keys: Number(p.ops), valueBytes: 100 });
    return { opsPerSec: Math.round(rps), ops: requests, note: 'redis-benchmark -P 16 -c 50' };
  } finally {
    await server.stop();
  }
};

/** Redis driven from Node by ioredis (auto-pipelining): exactly `inflight` SETs outstanding on one connection, like the store's loop. */
export const ioredis: ImplFn = async (p, { dir }) => {
  const server = await startRedis(dir, String(p.durability));
  const client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, maxRetriesPerRequest: 0, enableAutoPipelining: true });
  try {
    await client.connect();
    const keys = trialKeys(p);
    const value = valueBuf(7);
    return result(await inflightLoop(Number(p.inflight), Number(p.seconds), keys.length, (i) => client.set(keys[i]!, value)));
  } finally {
    client.disconnect();
    await server.stop();
  }
};

/** write(probeBytes) + fdatasync, back to back, for about `seconds`. */
export const fdatasync: ImplFn = async (p, { dir }) => {
  const bytes = Number(p.probeBytes);
  const file = path.join(dir, 'probe');
  const why = nativeUnavailable();
  let once: (count: number) => number;
  let method: string;
  if (why === undefined) {
    const addon = loadNative();
    once = (count) => addon.fdatasyncProbe(file, count, bytes);
    method = 'native fdatasyncProbe';
  } else {
    const buf = Buffer.alloc(bytes, 1);
    once = (count) => {
      const fd = fs.openSync(file, 'w');
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        fs.writeSync(fd, buf);
        fs.fdatasyncSync(fd);
      }
      const s = (performance.now() - t0) / 1000;
      fs.closeSync(fd);
      return s;
    };
    method = 'node fs.writeSync+fdatasyncSync (append; native unavailable)';
  }
  const probe = once(20);
  const count = Math.max(20, Math.min(Number(p.ops), Math.round((20 / probe) * Number(p.seconds))));
  const secs = once(count);
  return { opsPerSec: Math.round(count / secs), ops: count, seconds: Number(secs.toFixed(3)), note: method };
};

const num = (m: TargetRow['metrics'], k: string): number => (typeof m?.[k] === 'number' ? (m[k] as number) : NaN);

export const spec: ScenarioSpec = {
  name: 'put',
  title: 'Single-key writes with N in flight, per durability policy (16 B keys, 100 B values)',
  impls: ['native', 'js', 'lmdb', 'fdatasync', 'redis', 'ioredis'],
  labels: {
    native: 'native', js: 'js engine', lmdb: 'lmdb put/remove', fdatasync: 'raw write+fdatasync loop',
    redis: 'Redis SET, redis-benchmark -P 16 -c 50 (AOF always | no persistence)', ioredis: 'Redis SET via ioredis, N in flight',
  },
  cases: ({ keys, quick }) => {
    const out: Params[] = [];
    for (const durability of ['always', 'interval', 'none']) {
      for (const inflight of quick ? [1, 256] : [1, 16, 256]) {
        for (const op of ['put', 'delete']) {
          out.push({ op, durability, inflight, seconds: quick ? 0.3 : 0.5, ops: keys ?? 200_000, probeBytes: 128 });
        }
      }
    }
    return out;
  },
  applies: (impl, p) => {
    if (impl === 'fdatasync') return p.durability === 'always' && p.inflight === 1 && p.op === 'put';
    if (impl === 'redis') return p.durability !== 'interval' && p.inflight === 256 && p.op === 'put';
    if (impl === 'ioredis') return p.durability !== 'interval' && p.op === 'put';
    return true;
  },
  columns: [
    { key: 'opsPerSec', label: 'ops/s', unit: 'ops' },
    { key: 'ops', label: 'ops done', unit: 'num' },
  ],
  baseline: 'lmdb',
  targets: [
    {
      impl: 'native',
      where: { op: 'put', durability: 'always', inflight: 256 },
      text: '≥ 500k/s',
      check: (row) => (row.metrics ? num(row.metrics, 'opsPerSec') >= 500_000 : 'unavailable'),
    },
    {
      impl: 'native',
      where: { op: 'put', durability: 'always', inflight: 1 },
      text: '≥ 0.8× raw fdatasync loop',
      check: (row, find) => {
        const f = find('fdatasync', row.params);
        if (!f?.metrics) return 'no fdatasync row';
        return row.metrics ? num(row.metrics, 'opsPerSec') >= 0.8 * num(f.metrics, 'opsPerSec') : 'unavailable';
      },
    },
    {
      impl: 'native',
      where: { op: 'put', durability: 'always', inflight: 256 },
      text: '≥ 1.3× Redis AOF-always (redis-benchmark -P 16)',
      check: ratioTarget('redis', 1.3),
    },
    {
      impl: 'native',
      where: { op: 'put', durability: 'none', inflight: 256 },
      text: '≥ 1.5× Redis without persistence (redis-benchmark -P 16)',
      check: ratioTarget('redis', 1.5),
    },
    {
      impl: 'native',
      where: { op: 'put', durability: 'none' },
      text: '≥ 1.5M/s',
      check: (row) => (row.metrics ? num(row.metrics, 'opsPerSec') >= 1_500_000 : 'unavailable'),
    },
  ],
  timeoutMs: 120_000,
  run: { native, js, lmdb, fdatasync, redis, ioredis },
};

if (isEntry(import.meta.url)) await childMain(spec);
