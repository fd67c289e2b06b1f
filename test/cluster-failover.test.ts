/**
 * Cluster mode on real etcd (3 members on loopback, test/etcd-cluster.ts) with real kvstored
 * processes (issue 15): one leader is elected and every node reports the same cluster; kill
 * -9 of the primary with a synchronous standby: a member of the published sync set takes
 * over within a bound and every acknowledged write is on it; the killed node, restarted,
 * rejoins as a standby and converges; a primary cut off from etcd stops acknowledging before
 * its lease can expire, another node takes over, and after healing the old one rejoins; a
 * planned switchover loses nothing; etcd losing quorum makes the primary fence itself and
 * nobody take over.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdCluster, requireEtcd } from './etcd-cluster.js';
import { TcpProxy } from './tcp-proxy.js';
import { ClusterNodes, LEASE_TTL_MS } from './cluster-nodes.js';
import { assertAllPresent, writers } from './cluster-writers.js';
import { killAll, sleep } from './repl-cluster.js';
import { KVCTL, runCli } from './cli-proc.js';

const test = suite('cluster: failover on etcd');
let etcd: EtcdCluster | null = null;
let n = 0;
const name = (): string => `t${process.pid}-${++n}`;
const proxies: TcpProxy[] = [];

test.before(async () => {
  if (requireEtcd()) etcd = await EtcdCluster.start({ size: 3 });
});
test.after.each(async () => {
  await killAll();
  for (const p of proxies.splice(0)) await p.close();
});
test.after(async () => {
  await etcd?.stop();
});

async function threeNodes(sync: number, o: { etcdOf?: (id: string) => Promise<string> } = {}): Promise<ClusterNodes> {
  const c = new ClusterNodes(etcd!.endpoints, { name: name(), sync });
  for (const id of ['n1', 'n2', 'n3']) await c.add(id, o.etcdOf ? { etcd: await o.etcdOf(id) } : {});
  await c.settled(['n1', 'n2', 'n3'], { leader: 'n1', via: 'n1' });
  return c;
}

test('three nodes elect exactly one leader; GET /v1/cluster answers the same on each, with its documented shape, to any authenticated principal', async () => {
  if (!etcd) return;
  const c = await threeNodes(1);
  const views = await Promise.all(['n1', 'n2', 'n3'].map((id) => c.status(id)));
  for (const v of views) {
    assert.is(v.cluster, c.name);
    assert.equal(v.leader?.nodeId, 'n1');
    assert.is(v.leaseTtlMs, LEASE_TTL_MS);
    assert.is(v.members.length, 3);
    assert.is(v.members.filter((m) => m.role === 'primary').length, 1);
    assert.is(v.syncSet.length, 1);
    assert.ok(['n2', 'n3'].includes(v.syncSet[0]!), `sync set ${v.syncSet} is a standby`);
    for (const m of v.members) assert.equal(Object.keys(m).sort(), ['appliedLsn', 'flushedLsn', 'healthy', 'lagLsn', 'nodeId', 'role', 'timeline', 'url'].sort());
  }
  assert.equal(views.map((v) => v.self), ['n1', 'n2', 'n3']);
  // Exactly one node acts as primary (its replication role), the others are standbys of it.
  const roles = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => (await c.node(id).replication(c.key)).role));
  assert.equal(roles, ['primary', 'standby', 'standby']);
  // Any authenticated principal (the replicator's key) may read it; no credentials: 401.
  assert.is((await c.node('n2').api('GET', '/v1/cluster', { key: c.creds!.replicator })).status, 200);
  const anon = await c.node('n2').api('GET', '/v1/cluster');
  assert.is(anon.status, 401);
  // A write sent to a standby is forwarded to the primary the leader key names (request
  // routing reads cluster mode's ClusterView) and is on the primary afterwards.
  assert.is((await c.node('n1').api('PUT', '/v1/kv/hello', { key: c.key, raw: 'world' })).status, 200);
  const fwd = await c.node('n3').api('PUT', '/v1/kv/forwarded', { key: c.key, raw: 'via n3' });
  assert.is(fwd.status, 200, fwd.text);
  assert.is((await c.node('n1').api('GET', '/v1/kv/forwarded', { key: c.key })).text, 'via n3');
  // Manual promotion is refused in cluster mode: etcd decides.
  const promote = await c.node('n2').api('POST', '/v1/admin/promote', { key: c.key });
  assert.is(promote.status, 400);
  assert.match(promote.text, 'switchover');
});

test('kill -9 of the primary with a synchronous standby: a member of the sync set takes over within the bound, every acknowledged write is on it; the killed node rejoins as a standby and converges', async () => {
  if (!etcd) return;
  const c = await threeNodes(1);
  const before = await c.status('n2');
  const syncSet = before.syncSet;
  let target = c.node('n1');
  const w = writers(() => target, c.key, 'k9');
  await sleep(1500);
  const killedAt = Date.now();
  await c.node('n1').kill9();
  // The writers now fail against the dead node; find the new leader from the survivors.
  const after = await c.waitFor((s) => s.leader !== null && s.leader.nodeId !== 'n1', 'a new leader', 15_000, 'n2');
  const leader = after.leader!.nodeId;
  assert.ok(syncSet.includes(leader), `the new leader ${leader} was in the last published sync set ${syncSet}`);
  target = c.node(leader);
  // Writes resume on it: measure from the kill to the first acknowledged write there.
  const ackedBefore = w.acked.length;
  const t0 = Date.now();
  while (w.acked.length === ackedBefore && Date.now() - t0 < 10_000) await sleep(20);
  const resumeMs = Date.now() - killedAt;
  await sleep(500);
  await w.stop();
  assert.ok(w.acked.length > ackedBefore, `writes resumed on ${leader}: ${w.failed.slice(-3).join(' | ')}`);
  console.log(`  failover (kill -9 → first write acknowledged by ${leader}): ${resumeMs} ms; ${w.acked.length} writes acknowledged`);
  assert.ok(resumeMs < 6 * LEASE_TTL_MS, `writes resumed ${resumeMs} ms after the kill (bound ${6 * LEASE_TTL_MS} ms)`);
  await assertAllPresent(c.node(leader), c.key, w.acked, `the new primary ${leader}`);
  // Its metrics: it leads, it took the key once, the failover histogram has that one sample.
  const metrics = (await c.node(leader).api('GET', '/metrics')).text;
  assert.match(metrics, /^kvstore_cluster_leader 1$/m);
  assert.match(metrics, /^kvstore_cluster_leader_changes_total 1$/m);
  assert.match(metrics, /^kvstore_cluster_failover_seconds_count 1$/m);
  assert.match(metrics, /^kvstore_cluster_lease_renew_seconds_count [1-9]\d*$/m);
  assert.match(metrics, /^kvstore_cluster_lease_ttl_seconds 1$/m);
  // The killed node restarts on its directory and port: it rejoins as a standby of the new
  // leader (rewinding what it had that was never acknowledged) and converges.
  await c.start('n1');
  await c.waitFor((s) => s.members.some((m) => m.nodeId === 'n1' && m.role === 'standby' && m.healthy && m.lagLsn === '0'), 'n1 rejoined and caught up', 20_000, leader);
  await assertAllPresent(c.node('n1'), c.key, w.acked, 'the restarted n1');
});

test('asynchronous cluster (synchronous_standbys 0): kill -9 of the primary elects the most advanced standby (ties: the smaller node id) and writes resume', async () => {
  if (!etcd) return;
  const c = await threeNodes(0);
  const w = writers(() => c.node('n1'), c.key, 'async');
  await sleep(800);
  await w.stop();
  // Let both standbys apply everything, so the rule's answer is known: equal LSNs, n2 wins the tie.
  await c.waitFor((s) => s.members.filter((m) => m.role === 'standby').every((m) => m.lagLsn === '0' && m.healthy), 'standbys caught up', undefined, 'n1');
  const before = await c.status('n2');
  assert.equal(before.syncSet, []);
  await c.node('n1').kill9();
  const after = await c.waitFor((s) => s.leader !== null && s.leader.nodeId !== 'n1', 'a new leader', 15_000, 'n3');
  assert.is(after.leader!.nodeId, 'n2');
  // The leader key is taken before the promotion ends: writes answer 503 (retry) until it has.
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await c.node('n2').api('PUT', '/v1/kv/after-async', { key: c.key, raw: 'x' })).status;
    if (status !== 200) await sleep(50);
  }
  assert.is(status, 200);
  await assertAllPresent(c.node('n2'), c.key, w.acked, 'n2');
});

test('a primary cut off from etcd stops acknowledging before its lease can expire; another node takes over with every acknowledged write; after healing the old primary rejoins as a standby', async () => {
  if (!etcd) return;
  // n1 reaches etcd only through proxies this test cuts; n2 and n3 directly.
  const cut: TcpProxy[] = [];
  const c = await threeNodes(1, {
    etcdOf: async (id) => {
      if (id !== 'n1') return etcd!.directEndpoints;
      for (const m of etcd!.members) cut.push(await TcpProxy.start(m.clientUrl));
      proxies.push(...cut);
      return cut.map((p) => p.url()).join(',');
    },
  });
  const w = writers(() => c.node('n1'), c.key, 'cut');
  await sleep(1000);
  const cutAt = Date.now();
  for (const p of cut) p.cut('drop');
  const after = await c.waitFor((s) => s.leader !== null && s.leader.nodeId !== 'n1', 'a new leader', 15_000, 'n2');
  await sleep(300);
  await w.stop();
  const lastAck = Math.max(...w.acked.map((a) => a.at));
  console.log(`  partition: last write acknowledged by the cut-off primary ${lastAck - cutAt} ms after the cut (lease TTL ${LEASE_TTL_MS} ms); new leader ${after.leader!.nodeId}`);
  assert.ok(w.acked.length > 0);
  assert.ok(lastAck < cutAt + LEASE_TTL_MS, `the cut-off primary acknowledged a write ${lastAck - cutAt} ms after the cut, past its ${LEASE_TTL_MS} ms lease`);
  assert.ok(w.failed.some((f) => f.includes('FENCED') || f.includes('fetch failed') || f.includes('NOT_READY') || f.includes('aborted')), `writes failed after the cut: ${w.failed.slice(0, 3).join(' | ')}`);
  const leader = after.leader!.nodeId;
  await assertAllPresent(c.node(leader), c.key, w.acked, `the new primary ${leader}`);
  for (const p of cut) p.heal();
  await c.waitFor((s) => s.members.some((m) => m.nodeId === 'n1' && m.role === 'standby' && m.healthy && m.lagLsn === '0'), 'n1 rejoined as a standby', 20_000, leader);
  assert.is((await c.node('n1').replication(c.key)).role, 'standby');
  await assertAllPresent(c.node('n1'), c.key, w.acked, 'the healed n1');
});

test('kvctl cluster switchover --to: zero loss under writes, the target leads, the old primary follows it; kvctl cluster status and remove', async () => {
  if (!etcd) return;
  const c = await threeNodes(1);
  let target = c.node('n1');
  const w = writers(() => target, c.key, 'sw');
  await sleep(800);
  const kv = (args: string[]): ReturnType<typeof runCli> => runCli(KVCTL, ['--url', c.node('n3').url, ...args], { env: { KVCTL_API_KEY: c.key, KVCTL_CONFIG_DIR: c.specs.get('n3')!.dir } });
  const r = await kv(['cluster', 'switchover', '--to', 'n2']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'switched over from n1 to n2');
  target = c.node('n2');
  await sleep(800);
  await w.stop();
  await c.settled(['n1', 'n2', 'n3'], { leader: 'n2', via: 'n3' });
  await assertAllPresent(c.node('n2'), c.key, w.acked, 'n2 after the switchover');
  assert.is((await c.node('n1').replication(c.key)).role, 'standby');
  await c.waitFor((s) => s.members.find((m) => m.nodeId === 'n1')?.lagLsn === '0', 'n1 caught up', undefined, 'n1');
  await assertAllPresent(c.node('n1'), c.key, w.acked, 'n1 after the switchover');
  const st = await kv(['cluster', 'status']);
  assert.is(st.code, 0, st.stderr);
  assert.match(st.stdout, /leader:\s+n2 at http:\/\/127\.0\.0\.1:\d+/);
  const json = JSON.parse((await kv(['cluster', 'status', '--format', 'json'])).stdout) as { leader: { nodeId: string } };
  assert.is(json.leader.nodeId, 'n2');
  // Removing the leader is refused; removing n3 takes it out (it no longer registers).
  const bad = await kv(['cluster', 'remove', 'n2']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, 'switch over');
  assert.is((await kv(['cluster', 'remove', 'n3'])).code, 0);
  await sleep(600);
  assert.ok(!(await c.status('n2')).members.some((m) => m.nodeId === 'n3'), 'n3 is no longer a member');
});

test('etcd loses quorum: no failover happens, and the primary fences itself (its lease cannot be renewed); with quorum back a primary is elected again', async () => {
  if (!etcd) return;
  const c = await threeNodes(0);
  assert.is((await c.node('n1').api('PUT', '/v1/kv/q0', { key: c.key, raw: 'x' })).status, 200);
  await etcd.kill(1);
  await etcd.kill(2);
  const lostAt = Date.now();
  // Within the lease the primary stops acknowledging: writes fail FENCED (or the node is restarting as a standby).
  let fencedAfter = -1;
  for (let i = 0; i < 100 && Date.now() - lostAt < 5000; i++) {
    const r = await c.node('n1').api('PUT', `/v1/kv/q${i + 1}`, { key: c.key, raw: 'x', timeoutMs: 2000 }).catch(() => ({ status: 0, text: 'connection closed' }));
    if (r.status !== 200) {
      fencedAfter = Date.now() - lostAt;
      break;
    }
    await sleep(50);
  }
  assert.ok(fencedAfter >= 0 && fencedAfter < LEASE_TTL_MS + 200, `the primary stopped acknowledging ${fencedAfter} ms after etcd lost quorum`);
  // No node becomes primary while etcd has no quorum.
  await sleep(2000);
  for (const id of ['n1', 'n2', 'n3']) await c.node(id).waitStatus(c.key, (s) => s.role === 'standby', `${id} a standby while etcd has no quorum`, 10_000);
  await etcd.restart(1);
  await etcd.restart(2);
  const back = await c.waitFor((s) => s.leader !== null, 'a leader once etcd has quorum again', 20_000, 'n2');
  assert.ok(['n1', 'n2', 'n3'].includes(back.leader!.nodeId));
});

test.run();
