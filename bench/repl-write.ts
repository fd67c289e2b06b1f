/**
 * Scenario `repl-write`: durable single-key writes per second with exactly `inflight`
 * outstanding, on a primary alone, with one asynchronous standby streaming
 * (synchronous_standbys = 0), and with one synchronous standby (synchronous_standbys = 1: each
 * write acknowledged after the primary's fdatasync and the standby's).
 *
 * Client path, the same for all three: store.put() in the primary's own process. The primary
 * is assembled as kvstored assembles it (ReplicationNode + buildServer() serving the
 * replication routes on loopback; bench/repl-cluster.ts); the standby is a real kvstored in
 * another process (--replica-of). Why not HTTP PUTs: on this 2-core machine kvstored serves
 * about 6k PUT/s (bench/RESULTS.md, http), some 30× below what the engine commits at 256 in
 * flight, so over HTTP the replication stream would run at 1/30 of its load and the ratio would
 * measure fastify, not replication. In-process writes load the stream, the standby's
 * append + fdatasync + apply and the feedback loop at the engine's own rate: the hard case.
 *
 * Each trial: open the primary (and start the standby and wait until it streams), write 2,000
 * warm-up keys and wait until the standby has them, then measure for `seconds`. CPU time of
 * both processes over the measured interval is reported per write.
 */
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, childMain, inflightLoop, isEntry, keyBuf, permutation, ratioTarget, valueBuf,
} from './common.js';
import { cpuSecondsOf, engineOf, ownCpuSeconds, spawnKvstoredStandby, startPrimary, waitCaughtUp, type Child } from './repl-cluster.js';
import path from 'node:path';

const WARMUP = 2000;

async function writes(p: Params, dir: string, standbys: 0 | 1, sync: 0 | 1): Promise<Metrics> {
  const engine = engineOf(p);
  const primary = await startPrimary(path.join(dir, 'primary'), engine, sync);
  let standby: Child | null = null;
  try {
    if (standbys) {
      standby = spawnKvstoredStandby(path.join(dir, 's1'), primary.url, 's1', engine);
      await waitCaughtUp(primary, 's1', standby);
    }
    const ops = Number(p.ops);
    const keys = Array.from(permutation(ops + WARMUP), (i) => keyBuf(i));
    const value = valueBuf(7);
    await inflightLoop(64, 60, WARMUP, (i) => primary.store.put(keys[ops + i]!, value));
    if (standby) await waitCaughtUp(primary, 's1', standby);
    const cpu0 = ownCpuSeconds();
    const scpu0 = standby ? cpuSecondsOf(standby.pid) : 0;
    const r = await inflightLoop(Number(p.inflight), Number(p.seconds), ops, (i) => primary.store.put(keys[i]!, value));
    const cpu = ownCpuSeconds() - cpu0;
    const scpu = standby ? cpuSecondsOf(standby.pid) - scpu0 : 0;
    // How far the standby trails when the load stops (async); 0 by construction for sync.
    const behind = standby ? Number(primary.flushedLsn() - (primary.node.registry.list().find((s) => s.id === 's1')?.flushedLsn ?? 0n)) : 0;
    if (standby) await waitCaughtUp(primary, 's1', standby);
    return {
      opsPerSec: Math.round(r.ops / r.seconds),
      ops: r.ops,
      primaryCpuUs: Math.round((cpu * 1e6) / r.ops),
      standbyCpuUs: standby ? Math.round((scpu * 1e6) / r.ops) : NaN,
      behindAtEnd: behind,
    };
  } finally {
    await standby?.kill();
  }
}

export const single: ImplFn = (p, { dir }) => writes(p, dir, 0, 0);
export const asyncStandby: ImplFn = (p, { dir }) => writes(p, dir, 1, 0);
export const sync1: ImplFn = (p, { dir }) => writes(p, dir, 1, 1);

export const spec: ScenarioSpec = {
  name: 'repl-write',
  title: 'Durable writes/s with N in flight: primary alone vs + async standby vs + sync standby (other process)',
  impls: ['single', 'async', 'sync1'],
  labels: { single: 'single node', async: 'async standby (sync=0)', sync1: 'sync standby (sync=1)' },
  cases: ({ keys, quick }) => (quick ? [1, 256] : [1, 16, 256]).map((inflight) => ({ inflight, seconds: quick ? 1 : 2, ops: keys ?? 600_000, engine: 'native' })),
  columns: [
    { key: 'opsPerSec', label: 'writes/s', unit: 'ops' },
    { key: 'primaryCpuUs', label: 'primary CPU µs/write', unit: 'us' },
    { key: 'standbyCpuUs', label: 'standby CPU µs/write', unit: 'us' },
    { key: 'behindAtEnd', label: 'standby behind at end (LSNs)', unit: 'num' },
  ],
  baseline: 'single',
  targets: [
    {
      impl: 'sync1', where: { inflight: 256 }, text: '≥ 0.5× single node',
      check: ratioTarget('single', 0.5),
    },
  ],
  interleave: true,
  timeoutMs: 180_000,
  run: { single, async: asyncStandby, sync1 },
};

if (isEntry(import.meta.url)) await childMain(spec);
