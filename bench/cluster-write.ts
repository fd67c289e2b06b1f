/**
 * Scenario `cluster-write` (issue 15): durable writes/s with N in flight (1, 16, 256), same
 * keys (16-byte) and values (100 bytes, common.ts), every one a client request over loopback:
 *
 *   cluster  HTTP PUT to the primary of a 3-node KVStore++ cluster in cluster mode,
 *            synchronous_standbys 1 (acknowledged after the primary's fdatasync and one
 *            standby's), etcd holding the leadership (3 members).
 *   etcd     etcd itself (3 members, fsync on every commit, Raft quorum 2): put through its
 *            own client (etcd3 over gRPC).
 *   single   HTTP PUT to one kvstored (no cluster), durability always.
 *
 * All on this machine at once (one 3-member etcd and three kvstored processes share 2 cores
 * with the client), so the ratio compares the two designs under the same load.
 */
import { type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry, keyString, ratioTarget, valueBuf } from './common.js';
import { http, startEtcd, startKvCluster, startSingle } from './cluster-setup.js';

const WARMUP = 500;

async function loop(p: Params, put: (k: string) => Promise<unknown>): Promise<Metrics> {
  await inflightLoop(16, 30, WARMUP, (i) => put(`warm:${i}`));
  const r = await inflightLoop(Number(p.inflight), Number(p.seconds), Number(p.ops), (i) => put(keyString(i)));
  return { opsPerSec: Math.round(r.ops / r.seconds), ops: r.ops };
}

export const cluster: ImplFn = async (p) => {
  const c = await startKvCluster();
  const h = http(c.leaderUrl, c.key, Number(p.inflight));
  const v = valueBuf(7);
  try {
    return await loop(p, (k) => h.put(k, v));
  } finally {
    await h.close();
    await c.stop();
  }
};

export const etcd: ImplFn = async (p) => {
  const e = await startEtcd();
  const v = valueBuf(7);
  try {
    return await loop(p, (k) => e.client.put(k).value(v).exec());
  } finally {
    await e.stop();
  }
};

export const single: ImplFn = async (p, { dir }) => {
  const s = await startSingle(dir);
  const h = http(s.url, s.key, Number(p.inflight));
  const v = valueBuf(7);
  try {
    return await loop(p, (k) => h.put(k, v));
  } finally {
    await h.close();
    await s.node.kill9();
  }
};

export const spec: ScenarioSpec = {
  name: 'cluster-write',
  title: 'Durable writes/s with N in flight: KVStore++ cluster (sync 1) vs etcd vs single-node KVStore++, all over loopback',
  impls: ['cluster', 'etcd', 'single'],
  labels: { cluster: 'KVStore++ cluster, sync 1 (HTTP)', etcd: 'etcd 3.4, 3 members (gRPC)', single: 'single kvstored (HTTP)' },
  cases: ({ keys, quick }) => (quick ? [1, 256] : [1, 16, 256]).map((inflight) => ({ inflight, seconds: quick ? 2 : 5, ops: keys ?? 1_000_000 })),
  columns: [{ key: 'opsPerSec', label: 'writes/s', unit: 'ops' }, { key: 'ops', label: 'writes', unit: 'num' }],
  baseline: 'etcd',
  targets: [
    {
      impl: 'cluster', text: '≥ 5× etcd',
      check: ratioTarget('etcd', 5),
    },
  ],
  interleave: true,
  timeoutMs: 180_000,
  run: { cluster, etcd, single },
};

if (isEntry(import.meta.url)) await childMain(spec);
