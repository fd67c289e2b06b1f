/**
 * Failover torture (issue 15), shared by test/cluster-torture.test.ts (a bounded number of
 * rounds in npm test) and scripts/failover-torture.mjs (--rounds N, hundreds):
 *
 * 3 etcd members + 3 kvstored nodes in cluster mode (synchronous_standbys 1, 1 s lease);
 * workers bound to every node do puts, deletes, batches, CAS and incr, all recorded. Each
 * round: wait until the cluster is settled (a leader, every node a healthy member, the sync
 * set full), kill -9 the primary, measure the time until a write is acknowledged again
 * (probing every survivor), restart the killed node on its directory and port, and measure
 * the time until it is a healthy standby again. At the end: final reads of every key, the
 * linearizability checker over the whole history, and the explicit durability checks
 * (cluster-workload.ts).
 */
import { EtcdCluster } from './etcd-cluster.js';
import { Recorder, type Target } from './history.js';
import { checkHistory, type CheckResult } from './linearizability.js';
import { ClusterNodes, type ClusterStatus } from './cluster-nodes.js';
import { durabilityProblems, percentile, Workload } from './cluster-workload.js';

export interface TortureOptions {
  rounds: number;
  /** Give up if the whole run takes longer (ms; default 10 min). */
  maxMs?: number;
  /** A failover (kill to the next acknowledged write) longer than this fails the run (ms; default 30 s). */
  failoverBoundMs?: number;
  /** Workers (default 6: two per node). */
  workers?: number;
  /** Record refused conditions as results (see history.ts RecorderOptions); true unless KVSTORE_TORTURE_TRUST_CONDITIONS=0. */
  trustConditions?: boolean;
  log?: (line: string) => void;
}

export interface TortureResult {
  rounds: number;
  failoverMs: number[];
  rejoinMs: number[];
  /** The nodes killed, in order. */
  killed: string[];
  ops: number;
  counts: Recorder['counts'];
  check: CheckResult;
  problems: string[];
  /** The cluster forwards writes and serves linearizable reads on standbys (routing is merged). */
  routing: boolean;
  /** The recorded linearizable reads: answered (checked against the history) or failed (no result). */
  reads: { ok: number; failed: number };
  elapsedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runTorture(o: TortureOptions): Promise<TortureResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const maxMs = o.maxMs ?? 600_000;
  const boundMs = o.failoverBoundMs ?? 30_000;
  const etcd = await EtcdCluster.start({ size: 3 });
  const cluster = new ClusterNodes(etcd.endpoints, { sync: 1, name: 'torture' });
  let rec: Recorder | undefined;
  let work: Workload | undefined;
  let poller: NodeJS.Timeout | undefined;
  try {
    for (const id of ['n1', 'n2', 'n3']) await cluster.start(id);
    let status = await cluster.settled();
    const target = (id: string): Target => ({ name: id, url: cluster.node(id).url });
    // Routing (forwarded writes, linearizable reads on standbys) is there when a standby has the read-index route.
    const standby = cluster.ids.find((id) => id !== status.leader!.nodeId)!;
    const ri = await cluster.node(standby).api('GET', '/v1/cluster/read-index', { key: cluster.key, timeoutMs: 3000 });
    const routing = ri.status !== 404;
    log(`routing on standbys: ${routing ? 'yes' : 'no (writes to standbys are refused; reads are not checked, only write results and final reads)'}`);

    rec = new Recorder({ apiKey: cluster.key, timeoutMs: 5_000, conditionFailuresAreResults: o.trustConditions ?? process.env.KVSTORE_TORTURE_TRUST_CONDITIONS !== '0' });
    const nodeOf = (i: number): Target | undefined => {
      const alive = cluster.alive();
      if (alive.length === 0) return undefined;
      const want = cluster.ids[i % cluster.ids.length]!;
      return target(alive.includes(want) ? want : alive[i % alive.length]!);
    };
    // Without routing a write on a standby is refused (READ_ONLY: definitely not applied), so
    // workers then send writes to the leader as last seen (polled), or their own node.
    let leader: string | null = status.leader!.nodeId;
    poller = setInterval(() => {
      const id = cluster.alive()[0];
      if (id) cluster.status(id, 500).then((s) => void (leader = s.leader?.nodeId ?? null), () => undefined);
    }, 100);
    const writeTarget = (i: number): Target | undefined => (!routing && leader && cluster.nodes.get(leader)?.alive && i % 2 === 0 ? target(leader) : nodeOf(i));
    work = new Workload(rec, { maxMs });
    const n = o.workers ?? 6;
    work.start(Array.from({ length: n }, (_, i) => ({ id: i, target: () => writeTarget(i), recordReads: routing })));

    const failoverMs: number[] = [];
    const rejoinMs: number[] = [];
    const killed: string[] = [];
    for (let round = 0; round < o.rounds; round++) {
      if (Date.now() - t0 > maxMs) throw new Error(`torture: out of time (${maxMs} ms) after ${round} rounds`);
      await sleep(200); // load on the settled cluster
      const victim = status.leader!.nodeId;
      const tKill = Date.now();
      await cluster.node(victim).kill9();
      killed.push(victim);
      // Failover: until a write is acknowledged again by any survivor.
      let acked = false;
      for (let i = 0; !acked; i++) {
        if (Date.now() - tKill > boundMs) throw new Error(`round ${round}: no write acknowledged ${boundMs} ms after killing the primary ${victim}`);
        const rs = await Promise.all(cluster.alive().map((id) => cluster.node(id).api('PUT', `/v1/kv/probe%3A${round}`, { key: cluster.key, raw: `${i}`, timeoutMs: 2000 }).catch(() => null)));
        acked = rs.some((r) => r !== null && r.status === 200);
        if (!acked) await sleep(25);
      }
      failoverMs.push(Date.now() - tKill);
      const tStart = Date.now();
      await cluster.start(victim);
      status = await cluster.settled(cluster.ids, { timeoutMs: 30_000 });
      rejoinMs.push(Date.now() - tStart);
      log(`round ${round + 1}/${o.rounds}: killed ${victim}, writes resumed after ${failoverMs.at(-1)} ms, ${victim} rejoined after ${rejoinMs.at(-1)} ms; leader now ${status.leader!.nodeId}; ops so far ${rec.ops.length}`);
    }
    await work.stop();
    clearInterval(poller);
    status = await cluster.settled(cluster.ids, { timeoutMs: 30_000 });
    const finals = await work.finalReads(target(status.leader!.nodeId));
    const check = checkHistory(rec.ops, { maxSteps: 5_000_000 });
    const problems = durabilityProblems(rec.ops, finals);
    const gets = rec.ops.filter((op) => op.kind === 'get');
    const reads = { ok: gets.filter((op) => op.outcome === 'ok').length, failed: gets.filter((op) => op.outcome !== 'ok').length };
    return { rounds: o.rounds, failoverMs, rejoinMs, killed, ops: rec.ops.length, counts: rec.counts, check, problems, routing, reads, elapsedMs: Date.now() - t0 };
  } finally {
    clearInterval(poller);
    await work?.stop();
    await rec?.close();
    await cluster.killAll();
    await etcd.stop();
  }
}

/** One line per figure, for the test's output and the script's. */
export function summary(r: TortureResult): string {
  const f = (v: number[]): string => `p50 ${percentile(v, 50)} ms, p99 ${percentile(v, 99)} ms, max ${Math.max(...v)} ms`;
  return [
    `rounds ${r.rounds} in ${(r.elapsedMs / 1000).toFixed(1)} s; routing on standbys: ${r.routing}`,
    `failover (kill -9 of the primary → next acknowledged write): ${f(r.failoverMs)}`,
    `rejoin (restart → healthy standby): ${f(r.rejoinMs)}`,
    `operations ${r.ops}: ok ${r.counts.ok}, failed ${r.counts.failed}, unknown ${r.counts.unknown}; ${JSON.stringify(r.counts.byCode)}`,
    `linearizable reads: ${r.reads.ok} answered, ${r.reads.failed} failed (no result)`,
    `linearizability: ${r.check.keys} keys, ${r.check.violations.length} violations, ${r.check.inconclusive.length} inconclusive; durability problems: ${r.problems.length}`,
  ].join('\n');
}

export type { ClusterStatus };
