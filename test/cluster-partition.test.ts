/**
 * Partitions on real processes (issue 15). Every kvstored node reaches etcd through its own
 * TcpProxies (one per etcd member) and is reached by the other nodes through a proxy in
 * front of its port (its --advertise-url), so cutting one node's proxies isolates it from
 * etcd and from the standbys while the test still talks to it directly.
 *
 * - Primary isolated (blackhole), synchronous_standbys 1, under recorded load through every
 *   node: the isolated primary acknowledges no write later than its lease TTL after the
 *   cut, a standby takes over, after healing the old primary rejoins as a standby on the new
 *   timeline; no write acknowledged by two primaries during the overlap (attribution per
 *   write: who answered it, and when); the whole history linearizable, every acknowledged
 *   write there.
 * - Asynchronous (synchronous_standbys 0), connections reset: the isolated primary still
 *   stops acknowledging within its lease (there fencing alone stops it: no standby ack is
 *   awaited).
 * - etcd loses one member of three: writes go on and a kill -9 of the primary still fails
 *   over. etcd loses quorum: no failover (no other node becomes primary), and the primary
 *   stops acknowledging writes within its lease, answering a coded error (never a 500);
 *   when quorum returns, writes resume.
 */
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdCluster, requireEtcd } from './etcd-cluster.js';
import { Recorder, type Target } from './history.js';
import { checkHistory, formatViolations, type Op } from './linearizability.js';
import { ClusterNodes } from './cluster-nodes.js';
import { durabilityProblems, Workload } from './cluster-workload.js';
import { TcpProxy, type CutMode } from './tcp-proxy.js';

const haveEtcd = requireEtcd();
const TTL = 1000;
/** Timer and scheduling slack on this loaded machine, ms, on top of the lease TTL. */
const SLACK = 500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Wired {
  etcd: EtcdCluster;
  cluster: ClusterNodes;
  /** Per node: its proxies to etcd and the proxy in front of it. */
  proxies: Map<string, { etcd: TcpProxy[]; inbound: TcpProxy }>;
  close(): Promise<void>;
}

async function wired(sync: number, name: string): Promise<Wired> {
  const etcd = await EtcdCluster.start({ size: 3 });
  const cluster = new ClusterNodes(etcd.endpoints, { sync, name, leaseTtlMs: TTL });
  const proxies = new Map<string, { etcd: TcpProxy[]; inbound: TcpProxy }>();
  const close = async (): Promise<void> => {
    await cluster.killAll();
    for (const p of proxies.values()) await Promise.all([...p.etcd, p.inbound].map((x) => x.close()));
    await etcd.stop();
  };
  try {
    for (const id of ['n1', 'n2', 'n3']) {
      const toEtcd = await Promise.all(etcd.members.map((m) => TcpProxy.start(m.clientUrl)));
      let inbound: TcpProxy | undefined;
      await cluster.define(id, {
        etcd: toEtcd.map((p) => p.url()).join(','),
        advertise: async (port) => (inbound = await TcpProxy.start(`127.0.0.1:${port}`)).url(),
      });
      proxies.set(id, { etcd: toEtcd, inbound: inbound! });
    }
    for (const id of cluster.ids) await cluster.start(id);
    await cluster.settled();
    return { etcd, cluster, proxies, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function cut(w: Wired, id: string, mode: CutMode): void {
  const p = w.proxies.get(id)!;
  for (const x of [...p.etcd, p.inbound]) x.cut(mode);
}

function heal(w: Wired, id: string): void {
  const p = w.proxies.get(id)!;
  for (const x of [...p.etcd, p.inbound]) x.heal();
}

const isWrite = (o: Op): boolean => o.kind !== 'get' && o.outcome === 'ok' && !(o.result?.kind === 'cas' && !o.result.ok) && !(o.result?.kind === 'delete' && o.result.existed === false) && !(o.result?.kind === 'incr' && 'notANumber' in o.result);

/** Which node acknowledged a write: the one it was sent to, or (forwarded) the primary that answered. */
function ackedBy(o: Op, w: Wired): string {
  const m = /\(primary (http:\/\/[^)]+)\)/.exec(o.note ?? '');
  if (m) {
    for (const [id, p] of w.proxies) if (p.inbound.url() === m[1] || `http://127.0.0.1:${w.cluster.specs.get(id)!.port}` === m[1]) return id;
    return m[1]!;
  }
  return /via (\S+)/.exec(o.note ?? '')?.[1] ?? '?';
}

/** A write straight to `id` (not recorded), true if acknowledged. */
async function probeWrite(w: Wired, id: string, key: string): Promise<{ ok: boolean; status: number; text: string }> {
  try {
    const r = await w.cluster.node(id).api('PUT', `/v1/kv/${encodeURIComponent(key)}`, { key: w.cluster.key, raw: 'p', timeoutMs: 2500 });
    return { ok: r.status === 200, status: r.status, text: r.text };
  } catch (err) {
    return { ok: false, status: 0, text: (err as Error).message };
  }
}

test('primary isolated (blackhole), sync 1, under load: fenced within its lease, a standby takes over, the old one rejoins; linearizable', async () => {
  if (!haveEtcd) return;
  const w = await wired(1, 'part');
  const rec = new Recorder({ apiKey: w.cluster.key, timeoutMs: 4_000, conditionFailuresAreResults: process.env.KVSTORE_TORTURE_TRUST_CONDITIONS !== '0' });
  const work = new Workload(rec, { maxMs: 90_000, prefix: 'p:' });
  try {
    const before = await w.cluster.settled();
    const old = before.leader!.nodeId;
    const target = (id: string): Target => ({ name: id, url: w.cluster.node(id).url });
    const ri = await w.cluster.node(w.cluster.ids.find((id) => id !== old)!).api('GET', '/v1/cluster/read-index', { key: w.cluster.key });
    const routing = ri.status !== 404;
    work.start(w.cluster.ids.map((id, i) => ({ id: i, target: () => target(id), recordReads: routing })));
    await sleep(1000);

    const tCut = rec.now();
    cut(w, old, 'drop');
    const after = await w.cluster.waitFor((s) => s.leader !== null && s.leader.nodeId !== old, 'a standby takes over', 20_000);
    const tNew = rec.now();
    const fresh = after.leader!.nodeId;
    // Overlap: the old primary still runs (isolated) and clients still reach it directly,
    // while the new one takes writes: until it has acknowledged one (its synchronous standby
    // may take a moment to follow it), then a little longer.
    for (let i = 0; i < 200 && !rec.ops.some((o) => isWrite(o) && ackedBy(o, w) === fresh && o.complete > tNew); i++) await sleep(50);
    await sleep(500);
    const tHeal = rec.now();
    heal(w, old);
    const rejoined = await w.cluster.waitFor((s) => s.leader?.nodeId === fresh && s.members.some((m) => m.nodeId === old && m.role === 'standby' && m.healthy && m.timeline === s.leader!.timeline), `${old} rejoins as a standby`, 30_000);
    await sleep(500);
    await work.stop();
    const finals = await work.finalReads(target(rejoined.leader!.nodeId));

    // Fencing: the isolated old primary acknowledged nothing later than its lease after the cut.
    const late = rec.ops.filter((o) => isWrite(o) && ackedBy(o, w) === old && o.complete > tCut + TTL + SLACK && o.complete < tHeal);
    assert.equal(late.map((o) => o.note), [], `writes acknowledged by the isolated ${old} more than ${TTL} ms after the cut`);
    // No write acknowledged by two primaries in the overlap: while the new one acknowledges, the old one does not.
    const byNew = rec.ops.filter((o) => isWrite(o) && ackedBy(o, w) === fresh && o.complete > tCut);
    const byOld = rec.ops.filter((o) => isWrite(o) && ackedBy(o, w) === old && o.complete > tCut && o.complete <= tHeal);
    const firstNew = Math.min(...byNew.map((o) => o.complete));
    const lastOld = Math.max(...byOld.map((o) => o.complete), -Infinity);
    assert.ok(lastOld < firstNew, `the old primary acknowledged at ${lastOld.toFixed(0)} ms, after the new one's first at ${firstNew.toFixed(0)} ms`);
    console.log(`isolated ${old}: last ack ${(lastOld - tCut).toFixed(0)} ms after the cut; ${fresh} primary ${(tNew - tCut).toFixed(0)} ms after it; ${rec.ops.length} ops ${JSON.stringify(rec.counts)}`);
    assert.ok(byNew.length > 0, 'the new primary acknowledged writes');
    if (process.env.KVSTORE_HISTORY_DUMP) fs.writeFileSync(process.env.KVSTORE_HISTORY_DUMP, JSON.stringify(rec.ops, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    const tc = Date.now();
    const check = checkHistory(rec.ops, { maxSteps: 2_000_000 });
    console.log(`checker: ${check.ops} ops on ${check.keys} keys in ${Date.now() - tc} ms`);
    assert.ok(check.ok, formatViolations(check));
    assert.equal(durabilityProblems(rec.ops, finals), []);
  } finally {
    await work.stop();
    await rec.close();
    await w.close();
  }
});

test('asynchronous primary isolated (reset): it stops acknowledging within its lease; heal: it rejoins', async () => {
  if (!haveEtcd) return;
  const w = await wired(0, 'part0');
  try {
    const old = (await w.cluster.settled()).leader!.nodeId;
    assert.ok((await probeWrite(w, old, 'a:before')).ok, 'writes before the cut');
    const t0 = Date.now();
    cut(w, old, 'reset');
    let lastOk = 0;
    const stopAt = t0 + TTL + 2_500;
    const codes = new Set<string>();
    for (let i = 0; Date.now() < stopAt && i < 1000; i++) {
      const r = await probeWrite(w, old, `a:during${i}`);
      if (r.ok) lastOk = Date.now();
      else {
        assert.is.not(r.status, 500, `a fenced primary answers a coded error, not 500: ${r.text}`);
        codes.add(`${r.status} ${/"code":"([A-Z_]+)"/.exec(r.text)?.[1] ?? r.text.slice(0, 60)}`);
      }
      await sleep(20);
    }
    assert.ok(lastOk === 0 || lastOk - t0 <= TTL + SLACK, `the isolated primary acknowledged a write ${lastOk - t0} ms after the cut (lease ${TTL} ms)`);
    console.log(`async isolated ${old}: last ack ${lastOk ? lastOk - t0 : 'none'} ms after the cut; then ${[...codes].join(', ')}`);
    const s = await w.cluster.waitFor((x) => x.leader !== null && x.leader.nodeId !== old, 'a standby takes over', 20_000);
    heal(w, old);
    await w.cluster.waitFor((x) => x.members.some((m) => m.nodeId === old && m.role === 'standby' && m.healthy && m.timeline === x.leader?.timeline), `${old} rejoins`, 30_000);
    assert.ok((await probeWrite(w, s.leader!.nodeId, 'a:after')).ok, 'writes after healing');
  } finally {
    await w.close();
  }
});

test('etcd loses one member: writes go on, a failover still happens; loses quorum: no failover, the primary fences; quorum back: writes resume', async () => {
  if (!haveEtcd) return;
  const w = await wired(1, 'quorum');
  try {
    let s = await w.cluster.settled();
    // A follower: writes must go on without a blip. (Losing etcd's leader is an etcd election
    // first, during which lease renewals may stall; the partition and torture runs cover that.)
    const leader = await w.etcd.leaderIndex();
    const down1 = leader === 0 ? 1 : 0;
    await w.etcd.kill(down1);
    for (let i = 0; i < 20; i++) assert.ok((await probeWrite(w, s.leader!.nodeId, `q:one-down-${i}`)).ok, 'writes with one etcd member down');
    const victim = s.leader!.nodeId;
    await w.cluster.node(victim).kill9();
    s = await w.cluster.waitFor((x) => x.leader !== null && x.leader.nodeId !== victim, 'failover with 2 of 3 etcd members', 20_000);
    const primary = s.leader!.nodeId;
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) ok = (await probeWrite(w, primary, `q:after-failover-${i}`)).ok || (await sleep(50), false);
    assert.ok(ok, 'the new primary takes writes');
    await w.cluster.start(victim);
    await w.cluster.settled(w.cluster.ids, { timeoutMs: 30_000 });

    // Quorum lost.
    const t0 = Date.now();
    const down2 = down1 === 0 ? 1 : 0;
    await w.etcd.kill(down2);
    let lastOk = 0;
    const codes = new Set<string>();
    for (let i = 0; Date.now() - t0 < TTL + 3_000 && i < 1000; i++) {
      const r = await probeWrite(w, primary, `q:no-quorum-${i}`);
      if (r.ok) lastOk = Date.now();
      else {
        assert.is.not(r.status, 500, `a coded error, not 500: ${r.text}`);
        codes.add(`${r.status} ${/"code":"([A-Z_]+)"/.exec(r.text)?.[1] ?? r.text.slice(0, 60)}`);
      }
      await sleep(20);
    }
    assert.ok(lastOk === 0 || lastOk - t0 <= TTL + SLACK, `the primary acknowledged a write ${lastOk - t0} ms after etcd lost quorum (lease ${TTL} ms)`);
    assert.ok(codes.size > 0, 'writes were refused');
    console.log(`quorum lost: last ack ${lastOk ? lastOk - t0 : 'none'} ms after; then ${[...codes].join(', ')}`);
    // No failover without quorum: no other node takes writes either (forwarded or its own).
    for (const id of w.cluster.alive().filter((x) => x !== primary)) {
      const r = await probeWrite(w, id, 'q:other');
      assert.not.ok(r.ok, `${id} acknowledged a write without etcd quorum`);
    }
    // Quorum back: a primary again, writes resume.
    await w.etcd.restart(down2, false);
    await w.etcd.restart(down1, false);
    await w.etcd.waitHealthy();
    s = await w.cluster.settled(w.cluster.ids, { timeoutMs: 30_000 });
    ok = false;
    for (let i = 0; i < 100 && !ok; i++) ok = (await probeWrite(w, s.leader!.nodeId, `q:back-${i}`)).ok || (await sleep(50), false);
    assert.ok(ok, 'writes resume with quorum back');
  } finally {
    await w.close();
  }
});

test.run();
