/**
 * The embedded read replica of a cluster, open({ dir, replicaOf: [member URLs], apiKey })
 * (issue 15): it asks the members who the leader is (GET /v1/cluster) and follows whichever
 * node is primary. On 3 etcd members and 3 kvstored processes with a synchronous standby, one
 * replica per engine follows the primary under writes; the primary is killed -9; after the
 * failover the replicas stream from the new leader (store.replication().primaryUrl says so),
 * hold every acknowledged write from before and after it, and no read of an acknowledged key
 * ever went back in version or disappeared. Given members none of which answers, it retries
 * with bounded backoff (a handful of connections in seconds, one log line) and says why;
 * given a node that is not in cluster mode it says so and never streams. Bad replicaOf
 * values are refused with INVALID_ARGUMENT before anything is created.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type OpenOptions, type Store } from '../ts/index.js';
import { BACKOFF_MAX_MS } from '../ts/replication/cluster-follower.js';
import { EtcdCluster, requireEtcd } from './etcd-cluster.js';
import { ClusterNodes, LEASE_TTL_MS } from './cluster-nodes.js';
import { writers, type Ack } from './cluster-writers.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';
import { freePort, killAll, sleep, startPrimary } from './repl-cluster.js';

const test = suite('replication: embedded replica of a cluster');
let etcd: EtcdCluster | null = null;
test.after.each(killAll);
test.after(async () => {
  await etcd?.stop();
});

async function until(pred: () => boolean, what: string, ms = 20_000, detail: () => string = () => ''): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${detail() ? `: ${detail()}` : ''}`);
    await sleep(20);
  }
}

/** f(), or undefined while the replica's directory is being reset (rewind, base backup: CLOSED). */
function unlessResetting<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if ((err as { code?: string }).code === 'CLOSED') return undefined;
    throw err;
  }
}

test('replicaOf: a URL or a non-empty array of distinct http(s) URLs; anything else is INVALID_ARGUMENT and creates nothing', async () => {
  const parent = tempDir('repl-cl-opt');
  const bad: Array<[unknown, RegExp]> = [
    [[], /at least one/],
    [['http://127.0.0.1:1', 'ftp://127.0.0.1:2'], /replicaOf\[1\] must be an http\(s\) URL/],
    [['http://127.0.0.1:1', 7], /replicaOf\[1\] must be an http\(s\) URL, got number/],
    [['http://127.0.0.1:1', 'http://127.0.0.1:1/'], /lists http:\/\/127\.0\.0\.1:1\/ twice/],
    ['http://127.0.0.1:1,http://127.0.0.1:2', /give its members as an array/],
    [{ members: ['http://127.0.0.1:1'] }, /an array of a cluster's member URLs, got object/],
    [Array.from({ length: 65 }, (_, i) => `http://127.0.0.1:${i + 1}`), /at most 64/],
  ];
  for (const [replicaOf, message] of bad) {
    const dir = path.join(parent, 'never');
    const err = await open({ dir, engine: ENGINES[0], replicaOf } as unknown as OpenOptions).then(() => null, (e: unknown) => e as { code?: string; message: string });
    assert.ok(err, `${JSON.stringify(replicaOf)} was accepted`);
    assert.is(err.code, 'INVALID_ARGUMENT', `${JSON.stringify(replicaOf)}: ${err.message}`);
    assert.match(err.message, message);
    assert.not.ok(fs.existsSync(dir), `${JSON.stringify(replicaOf)}: nothing created`);
  }
  // The cluster form is a replica like the other: role 'primary' with it is refused too.
  await rejectsWith('INVALID_ARGUMENT', () => open({ dir: path.join(parent, 'never'), engine: ENGINES[0], replicaOf: ['http://127.0.0.1:1'], role: 'primary' }));
});

test('members none of which answers: open() resolves, the replica retries with bounded backoff (no busy loop), says why, logs once, and closes at once', async () => {
  // Two ports nobody listens on, and a server that takes each connection and drops it.
  const refused = [await freePort(), await freePort()];
  let connections = 0;
  const dropper = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
  const dropPort = (dropper.address() as net.AddressInfo).port;
  const logs: string[] = [];
  const members = [...refused.map((p) => `http://127.0.0.1:${p}`), `http://127.0.0.1:${dropPort}`];
  const replica = await open({ dir: tempDir('repl-cl-none'), engine: ENGINES[0], replicaOf: members, standbyId: 'lonely', onLog: (level, m) => logs.push(`${level}: ${m}`) });
  try {
    const t0 = Date.now();
    await until(() => replica.replication().lastError !== null, 'a first failure', 5000);
    await sleep(4000);
    const elapsed = Date.now() - t0;
    const info = replica.replication();
    assert.is(info.role, 'standby');
    assert.is(info.connected, false);
    assert.is(info.primaryUrl, null, 'no leader found: following nobody');
    assert.is(info.appliedLsn, 0n);
    assert.is(info.lastError!.code, 'UNAVAILABLE');
    for (const m of members) assert.match(info.lastError!.message, m, 'each member and why it failed');
    // Backoff 100, 200, 400, 800, 1600 ms … : about 6 rounds in ~4 s, one connection each to
    // the dropping member. A busy loop would make thousands.
    assert.ok(connections >= 3, `it kept asking (${connections} connections in ${elapsed} ms)`);
    assert.ok(connections <= 10, `bounded backoff: ${connections} connections in ${elapsed} ms`);
    const warned = logs.filter((l) => l.includes("cannot find the cluster's leader"));
    assert.is(warned.length, 1, `one log line for a lasting failure, not one per retry: ${logs.join(' | ')}`);
    assert.ok(BACKOFF_MAX_MS <= 5000);
  } finally {
    const t = Date.now();
    await replica.close();
    assert.ok(Date.now() - t < 1000, `close() does not wait out the backoff (${Date.now() - t} ms)`);
    dropper.close();
  }
});

test('a member that is not in cluster mode: the replica says so (NOT_FOUND) and streams nothing from it', async () => {
  const { primary, creds } = await startPrimary({ engine: ENGINES[0] });
  assert.is((await primary.api('PUT', '/v1/kv/x', { key: creds.admin, raw: 'y' })).status, 200);
  const replica = await open({ dir: tempDir('repl-cl-single'), engine: ENGINES[0], replicaOf: [primary.url], apiKey: creds.replicator, standbyId: 'wrong', onLog: () => undefined });
  try {
    await until(() => replica.replication().lastError !== null, 'the replica to fail', 10_000);
    await sleep(500);
    const info = replica.replication();
    assert.is(info.lastError!.code, 'NOT_FOUND');
    assert.match(info.lastError!.message, 'not in cluster mode');
    assert.is(info.primaryUrl, null);
    assert.is(info.appliedLsn, 0n);
    assert.is(replica.get('x'), undefined);
    assert.equal((await primary.replication(creds.admin)).standbys, [], 'it never opened a stream on the primary');
  } finally {
    await replica.close();
  }
});

test(`kill -9 of the primary: replicas (${ENGINES.join(', ')}) follow the new leader with every acknowledged write, and no read goes back`, async () => {
  if (!requireEtcd()) return;
  etcd = await EtcdCluster.start({ size: 3 });
  const c = new ClusterNodes(etcd.endpoints, { name: `rr${process.pid}`, sync: 1 });
  for (const id of ['n1', 'n2', 'n3']) await c.add(id);
  // Any leader will do (on a loaded machine the first one may fence itself at start-up and
  // another take over: docs/cluster.md); all three healthy, a full sync set.
  const settled = await c.waitFor((s) => s.leader !== null && s.members.length === 3 && s.members.every((m) => m.healthy) && s.syncSet.length === 1, 'the cluster settled', 30_000);
  const first = settled.leader!;
  const members = ['n1', 'n2', 'n3'].map((id) => c.node(id).url);
  const logs = new Map<string, string[]>();
  const replicas = new Map<string, Store>();
  for (const engine of ENGINES) {
    const lines: string[] = [];
    logs.set(engine, lines);
    replicas.set(engine, await open({ dir: tempDir(`repl-cl-${engine}`), engine, replicaOf: members, apiKey: c.creds!.replicator, standbyId: `emb-${engine}`, onLog: (level, m) => lines.push(`${level}: ${m}`) }));
  }
  const detail = (): string => `${[...replicas].map(([e, r]) => `${e}: ${JSON.stringify(unlessResetting(() => r.replication()), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n  ${logs.get(e)!.slice(-8).join('\n  ')}`).join('\n')}\n${c.tails(8)}`;
  // Every acknowledged write, as it is acknowledged; per replica, the version each key was
  // last read at. A key once read must be read again at the same version (each is written
  // once), never missing: checked every 10 ms, through the failover.
  const acked: Ack[] = [];
  const seen = new Map<string, Map<string, bigint>>([...replicas.keys()].map((e) => [e, new Map()]));
  const regressions: string[] = [];
  let resetting = 0;
  const watcher = setInterval(() => {
    for (const [engine, r] of replicas) {
      const mine = seen.get(engine)!;
      for (const a of acked) {
        const entry = unlessResetting(() => r.getEntry(a.key) ?? null);
        if (entry === undefined) {
          resetting++;
          break;
        }
        const before = mine.get(a.key);
        if (entry === null) {
          if (before !== undefined && regressions.length < 10) regressions.push(`${engine}: ${a.key} at version ${before}, then missing`);
          continue;
        }
        if (before !== undefined && entry.version < before && regressions.length < 10) regressions.push(`${engine}: ${a.key} at version ${before}, then ${entry.version}`);
        mine.set(a.key, entry.version);
      }
    }
  }, 10);
  try {
    await until(() => [...replicas.values()].every((r) => unlessResetting(() => r.replication().primaryUrl === first.url && r.replication().connected) === true), `the replicas to stream from ${first.nodeId} (${first.url})`, 20_000, detail);

    let target = c.node(first.nodeId);
    const w = writers(() => target, c.key, 'rc', 3);
    const collect = setInterval(() => acked.push(...w.acked.splice(0)), 5);
    await until(() => acked.length >= 50, `50 acknowledged writes on ${first.nodeId}`, 20_000, detail);
    // The replicas have seen writes before the kill (not required, but the test means that).
    await until(() => [...replicas.values()].every((r) => unlessResetting(() => r.get(acked[10]!.key)) !== undefined), 'the replicas to have early writes', 20_000, detail);
    const killedAt = Date.now();
    await c.node(first.nodeId).kill9();
    const after = await c.waitFor((s) => s.leader !== null && s.leader.nodeId !== first.nodeId && s.leader.timeline !== null, 'a new leader', 15_000);
    const leader = after.leader!;
    target = c.node(leader.nodeId);
    const atFailover = acked.length + w.acked.length;
    await until(() => acked.length + w.acked.length >= atFailover + 50, `50 writes acknowledged by the new leader ${leader.nodeId}`, 20_000, () => `${w.failed.slice(-3).join(' | ')}\n${detail()}`);
    await w.stop();
    clearInterval(collect);
    acked.push(...w.acked.splice(0));
    console.log(`  ${acked.length} writes acknowledged (${atFailover} before the new leader took them); leader ${leader.nodeId} ${Date.now() - killedAt} ms after the kill`);

    // Every replica ends up streaming from the new leader, on its timeline, with all it has.
    const end = BigInt((await target.replication(c.key)).flushedLsn);
    for (const [engine, r] of replicas) {
      await until(() => {
        const i = unlessResetting(() => r.replication());
        return i !== undefined && i.primaryUrl === leader.url && i.connected && i.appliedLsn >= end;
      }, `${engine}: streaming from ${leader.nodeId} (${leader.url}) through LSN ${end}`, 20_000, detail);
      const info = r.replication();
      assert.is(info.primaryUrl, leader.url, `${engine} reports the new leader as its upstream`);
      assert.is(info.lastError, null, `${engine}: ${JSON.stringify(info.lastError)}`);
      assert.ok(logs.get(engine)!.some((l) => l.includes(`following ${leader.nodeId} at ${leader.url}`)), `${engine} logged whom it follows`);
    }
    // The new leader sees both replicas streaming from it.
    const standbys = (await target.replication(c.key)).standbys.map((s) => s.id);
    for (const engine of ENGINES) assert.ok(standbys.includes(`emb-${engine}`), `emb-${engine} streams from ${leader.nodeId}: ${standbys}`);
    clearInterval(watcher);
    assert.equal(regressions, [], 'no acknowledged key went back in version or disappeared on a replica');
    // Every acknowledged write, before and after the failover, is there with its value and version.
    for (const [engine, r] of replicas) {
      const wrong: string[] = [];
      for (const a of acked) {
        const e = r.getEntry(a.key);
        if (e?.value.toString() !== a.value || e.version !== a.version) wrong.push(`${a.key}: ${e ? `${e.value.toString()} @${e.version}` : 'missing'}, acknowledged ${a.value} @${a.version}`);
      }
      assert.equal(wrong.slice(0, 5), [], `${engine}: ${wrong.length} of ${acked.length} acknowledged writes wrong`);
      const checked = seen.get(engine)!.size;
      assert.ok(checked >= acked.length / 2, `${engine}: the watcher read ${checked} of ${acked.length} keys while they were written`);
    }
    for (const engine of ENGINES) {
      const events = logs.get(engine)!.filter((l) => /following|rewound|re-bootstrapping|base backup installed/.test(l));
      console.log(`  ${engine} replica: ${events.map((l) => l.replace(/\(.*$/, '').slice(0, 120)).join(' | ')}`);
    }
    console.log(`  watcher: reads refused while a replica's directory was reset (rewind/base backup): ${resetting}; lease TTL ${LEASE_TTL_MS} ms`);
  } finally {
    clearInterval(watcher);
    for (const r of replicas.values()) await r.close();
  }
});

test.run();
