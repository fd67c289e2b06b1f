/**
 * Scenario `repl-lag`: how long after a write is durable on the primary it is applied (and
 * readable) on a standby in another process, under a steady load at `fraction` (0.5) of the
 * primary's saturated write rate.
 *
 * Each trial: a primary in this process (bench/repl-cluster.ts; writes through store.put) and
 * an embedded standby in another (bench/repl-node.ts --mode standby: the ReplicationNode that
 * open({ replicaOf }) runs, with the same WalReceiver as kvstored's --replica-of). Then:
 *   1. saturate: 256 writes in flight for `satSeconds`, with the standby attached in the same
 *      mode (async: synchronous_standbys = 0; sync1: = 1) → the saturated rate S;
 *   2. wait until the standby has caught up;
 *   3. paced load: writes issued open-loop at fraction × S for `seconds` (every ~1 ms timer
 *      tick issues the writes then due; at most 4,096 outstanding);
 *   4. wait until the standby has applied the last one; fetch its timestamps.
 * Method: the primary timestamps every flush notification (port.onFlushed: the flushed LSN
 * moved) and every write's LSN (its version); the standby timestamps every applied frame
 * (onProgress, called when appendReplicated resolves: records durable there and visible to
 * get()) with its applied LSN. A write's lag = (first standby event with applied ≥ its LSN) −
 * (first primary flush event with flushed ≥ its LSN), PostgreSQL's replay_lag. Timestamps are
 * performance.timeOrigin + performance.now() in both processes (the same wall clock, sub-ms
 * resolution); the measure is event-driven, so its resolution is one event-loop turn on each
 * side, not a polling period. `e2e` is from the moment the write was issued instead.
 */
import {
  type ImplFn, type Metrics, type Params, type ScenarioSpec, type TargetRow, childMain, inflightLoop, isEntry, keyBuf, valueBuf,
} from './common.js';
import { engineOf, firstLine, quantile, sleep, spawnReplNode, startPrimary, waitCaughtUp, type Child } from './repl-cluster.js';
import path from 'node:path';

const MAX_OUTSTANDING = 4096;
const now = (): number => performance.timeOrigin + performance.now();

/** Issues `rate`/s writes open-loop for `seconds`; records each write's issue time and LSN. */
async function paced(rate: number, seconds: number, op: (i: number) => Promise<{ version: bigint }>): Promise<{ issuedAt: Float64Array; lsn: Float64Array; seconds: number; stalls: number }> {
  const total = Math.max(1, Math.round(rate * seconds));
  const issuedAt = new Float64Array(total);
  const lsn = new Float64Array(total);
  let issued = 0;
  let outstanding = 0;
  let stalls = 0;
  let failure: unknown = null;
  const t0 = performance.now();
  let done!: () => void;
  const allDone = new Promise<void>((r) => (done = r));
  while (issued < total && failure === null) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (issued < due && outstanding < MAX_OUTSTANDING) {
      const i = issued++;
      outstanding++;
      issuedAt[i] = now();
      op(i).then((r) => {
        lsn[i] = Number(r.version);
        if (--outstanding === 0 && issued === total) done();
      }, (e: unknown) => {
        failure ??= e;
        done();
      });
    }
    if (issued < due) stalls++;
    await sleep(1);
  }
  if (outstanding > 0) await allDone;
  if (failure) throw failure;
  return { issuedAt, lsn, seconds: (performance.now() - t0) / 1000, stalls };
}

/** For each LSN in ascending `lsns`, the time of the first event whose LSN is ≥ it (NaN if none). */
function firstReaching(lsns: Float64Array, evT: ArrayLike<number>, evLsn: ArrayLike<number>): Float64Array {
  const out = new Float64Array(lsns.length);
  let j = 0;
  for (let i = 0; i < lsns.length; i++) {
    while (j < evLsn.length && evLsn[j]! < lsns[i]!) j++;
    out[i] = j < evLsn.length ? evT[j]! : NaN;
  }
  return out;
}

async function lag(p: Params, dir: string, sync: 0 | 1): Promise<Metrics> {
  const engine = engineOf(p);
  const primary = await startPrimary(path.join(dir, 'primary'), engine, sync);
  const standby: Child = spawnReplNode(['--mode', 'standby', '--dir', path.join(dir, 's1'), '--engine', engine, '--primary', primary.url, '--id', 's1']);
  try {
    await firstLine<{ ready: boolean }>(standby);
    await waitCaughtUp(primary, 's1', standby);
    const value = valueBuf(7);
    let next = 0;
    const put = (): Promise<{ version: bigint }> => primary.store.put(keyBuf(next++), value);
    await inflightLoop(64, 60, 2000, put);
    await waitCaughtUp(primary, 's1', standby);

    const sat = await inflightLoop(256, Number(p.satSeconds), 10_000_000, put);
    const satRate = sat.ops / sat.seconds;
    await waitCaughtUp(primary, 's1', standby);

    const flushT: number[] = [];
    const flushLsn: number[] = [];
    const unsubscribe = primary.store._replication().onFlushed((l) => {
      flushT.push(now());
      flushLsn.push(Number(l));
    });
    const rate = Number(p.fraction) * satRate;
    const run = await paced(rate, Number(p.seconds), put);
    unsubscribe();
    await waitCaughtUp(primary, 's1', standby);
    standby.proc.stdin!.end();
    const out = (await standby.exited).trim().split('\n').pop()!;
    const ev = JSON.parse(out) as { t: number[]; lsn: number[] };

    const pFlush = firstReaching(run.lsn, flushT, flushLsn);
    const sApply = firstReaching(run.lsn, ev.t, ev.lsn);
    const lags = new Float64Array(run.lsn.length);
    const e2e = new Float64Array(run.lsn.length);
    for (let i = 0; i < lags.length; i++) {
      lags[i] = sApply[i]! - pFlush[i]!;
      e2e[i] = sApply[i]! - run.issuedAt[i]!;
    }
    if (lags.some((x) => Number.isNaN(x))) throw new Error('a write has no primary flush or standby apply event');
    const tFirst = run.issuedAt[0]!;
    const tLast = sApply[sApply.length - 1]!;
    const events = ev.t.filter((t) => t >= tFirst && t <= tLast).length;
    return {
      lagP50ms: Number(quantile(lags, 0.5).toFixed(2)),
      lagP99ms: Number(quantile(lags, 0.99).toFixed(2)),
      lagMaxms: Number(quantile(lags, 1).toFixed(2)),
      e2eP99ms: Number(quantile(e2e, 0.99).toFixed(2)),
      satRate: Math.round(satRate),
      offeredRate: Math.round(rate),
      achievedRate: Math.round(run.lsn.length / run.seconds),
      applyEventsPerSec: Math.round(events / ((tLast - tFirst) / 1000)),
      timerStalls: run.stalls,
    };
  } finally {
    await standby.kill();
  }
}

export const asyncStandby: ImplFn = (p, { dir }) => lag(p, dir, 0);
export const sync1: ImplFn = (p, { dir }) => lag(p, dir, 1);

const p99 = (r: TargetRow): number => (typeof r.metrics?.lagP99ms === 'number' ? r.metrics.lagP99ms : NaN);

export const spec: ScenarioSpec = {
  name: 'repl-lag',
  title: 'Standby apply lag (primary flushed → standby applied) at a fraction of the saturated write rate',
  impls: ['async', 'sync1'],
  labels: { async: 'async standby (sync=0)', sync1: 'sync standby (sync=1)' },
  cases: ({ quick }) => [{ fraction: 0.5, satSeconds: quick ? 1 : 2, seconds: quick ? 2 : 5, engine: 'native' }],
  columns: [
    { key: 'lagP99ms', label: 'lag p99 ms', unit: 'ms' },
    { key: 'lagP50ms', label: 'lag p50 ms', unit: 'ms' },
    { key: 'lagMaxms', label: 'lag max ms', unit: 'ms' },
    { key: 'e2eP99ms', label: 'issued→applied p99 ms', unit: 'ms' },
    { key: 'satRate', label: 'saturated writes/s', unit: 'ops' },
    { key: 'offeredRate', label: 'offered writes/s', unit: 'ops' },
    { key: 'achievedRate', label: 'achieved writes/s', unit: 'ops' },
    { key: 'applyEventsPerSec', label: 'standby apply events/s', unit: 'ops' },
  ],
  baseline: 'async',
  lowerIsBetter: true,
  targets: [
    {
      impl: 'async', text: 'lag p99 ≤ 50 ms at half the saturated rate',
      check: (row) => (Number.isNaN(p99(row)) ? 'unavailable' : p99(row) <= 50),
    },
  ],
  interleave: true,
  timeoutMs: 180_000,
  run: { async: asyncStandby, sync1 },
};

if (isEntry(import.meta.url)) await childMain(spec);
