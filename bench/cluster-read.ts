/**
 * Scenario `cluster-read` (issue 15): stale reads/s on a standby of a KVStore++ cluster
 * (HTTP GET, served from the standby's own store; the default consistency) and on an
 * embedded replica of the cluster in the benchmark's own process (open({ replicaOf: [the
 * members] }), following the leader; a read is a local get), next to etcd's serializable
 * reads (member-local, no quorum round: etcd's own stale read) through its client, with N in
 * flight, over the same `keys` keys (16-byte keys, 100-byte values) loaded first. The
 * cluster runs as in cluster-write (3 nodes, sync 1, 3 etcd members).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from '../ts/index.js';
import { type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry, keyString, ratioTarget, permutation, valueBuf } from './common.js';
import { http, startEtcd, startKvCluster } from './cluster-setup.js';

async function load(n: number, put: (k: string) => Promise<unknown>): Promise<void> {
  const r = await inflightLoop(64, 120, n, (i) => put(keyString(i)));
  if (r.ops < n) throw new Error(`loaded only ${r.ops} of ${n} keys in 120 s`);
}

async function reads(p: Params, get: (k: string) => Promise<unknown>): Promise<Metrics> {
  const n = Number(p.keys);
  const order = permutation(n);
  await inflightLoop(16, 10, 1000, (i) => get(keyString(order[i % n]!)));
  const r = await inflightLoop(Number(p.inflight), Number(p.seconds), 100_000_000, (i) => get(keyString(order[i % n]!)));
  return { opsPerSec: Math.round(r.ops / r.seconds), ops: r.ops };
}

export const standby: ImplFn = async (p) => {
  const c = await startKvCluster();
  const w = http(c.leaderUrl, c.key, 64);
  const h = http(c.standbyUrl, c.key, Number(p.inflight));
  const v = valueBuf(7);
  try {
    await load(Number(p.keys), (k) => w.put(k, v));
    // Until the standby has the last key.
    const last = keyString(Number(p.keys) - 1);
    for (let i = 0; i < 600 && (await h.get(last)) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    return await reads(p, (k) => h.get(k));
  } finally {
    await w.close();
    await h.close();
    await c.stop();
  }
};

export const replica: ImplFn = async (p) => {
  const c = await startKvCluster();
  const w = http(c.leaderUrl, c.key, 64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvbench-replica-'));
  const v = valueBuf(7);
  try {
    const db = await open({ dir, replicaOf: c.memberUrls, apiKey: c.replicatorKey, standbyId: 'bench-replica', onLog: () => undefined });
    try {
      await load(Number(p.keys), (k) => w.put(k, v));
      const last = keyString(Number(p.keys) - 1);
      for (let i = 0; i < 600 && db.get(last) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      if (db.get(last) === undefined) throw new Error('the embedded replica did not catch up in 30 s');
      return await reads(p, async (k) => db.get(k));
    } finally {
      await db.close();
    }
  } finally {
    await w.close();
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

export const etcd: ImplFn = async (p) => {
  const e = await startEtcd();
  const v = valueBuf(7);
  try {
    await load(Number(p.keys), (k) => e.client.put(k).value(v).exec());
    return await reads(p, (k) => e.client.get(k).serializable(true).buffer());
  } finally {
    await e.stop();
  }
};

export const spec: ScenarioSpec = {
  name: 'cluster-read',
  title: 'Stale reads/s with N in flight: a KVStore++ standby (HTTP GET, local) and an embedded replica of the cluster vs etcd serializable reads (gRPC)',
  impls: ['standby', 'replica', 'etcd'],
  labels: { standby: 'KVStore++ standby, stale (HTTP)', replica: 'KVStore++ embedded replica of the cluster (in process)', etcd: 'etcd 3.4 serializable (gRPC)' },
  cases: ({ keys, quick }) => (quick ? [16] : [1, 16, 256]).map((inflight) => ({ inflight, seconds: quick ? 2 : 5, keys: keys ?? 10_000 })),
  columns: [{ key: 'opsPerSec', label: 'reads/s', unit: 'ops' }, { key: 'ops', label: 'reads', unit: 'num' }],
  baseline: 'etcd',
  targets: [
    { impl: 'standby', text: '≥ 20× etcd serializable reads', check: ratioTarget('etcd', 20) },
    { impl: 'replica', text: '≥ 20× etcd serializable reads', check: ratioTarget('etcd', 20) },
  ],
  interleave: true,
  timeoutMs: 240_000,
  run: { standby, replica, etcd },
};

if (isEntry(import.meta.url)) await childMain(spec);
