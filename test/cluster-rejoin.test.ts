/**
 * A cluster node restarted with a wiped data directory (issue 15, "a node restarted with a
 * wiped data directory"): kill -9 of the synchronous standby while writers run, its data
 * directory removed, the node started again with the same node id, port and credentials.
 * It has no history, so it must not take over; it follows the current primary, bootstraps
 * from its base backup, and converges: every acknowledged write (before, during and after
 * its outage) reads back from it, and GET /v1/cluster lists it as a healthy standby that has
 * caught up. The nodes run with small WAL segments and frequent checkpoints, and the primary
 * writes enough while the victim is down to drop its early WAL: streaming from LSN 1 is then
 * impossible and the rejoin has to go through a base backup (with the whole WAL still on the
 * primary, a wiped node simply streams it from LSN 1, which proves less). One etcd member
 * (test/etcd-cluster.ts) keeps it fast.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdCluster, requireEtcd } from './etcd-cluster.js';
import { ClusterNodes } from './cluster-nodes.js';
import { assertAllPresent, writers } from './cluster-writers.js';
import { type KvNode, killAll, sleep } from './repl-cluster.js';
import { SEGMENT_RE } from '../ts/engine/format.js';

/** 64 KiB WAL segments; a checkpoint after every 128 KiB of WAL (old segments then go). */
const SMALL = ['--wal-segment-bytes', '65536', '--checkpoint-wal-bytes', '131072'];

/** The first LSN the directory's WAL still holds. */
function oldestLsn(dir: string): bigint {
  const first = fs.readdirSync(path.join(dir, 'wal')).filter((f) => SEGMENT_RE.test(f)).sort()[0]!;
  return BigInt(`0x${first.slice(0, 16)}`);
}

/** n acknowledged 4 KB puts (50 keys overwritten): WAL for the checkpoints to drop. */
async function bulk(node: KvNode, key: string, n: number): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = `bulk-${i}-`.padEnd(4000, 'z');
    const r = await node.api('PUT', `/v1/kv/bulk-${i % 50}`, { key, raw: v, timeoutMs: 10_000 });
    assert.is(r.status, 200, r.text);
    acked.push(v);
  }
  return acked;
}

const test = suite('cluster: a node rejoins with a wiped data directory');
let etcd: EtcdCluster | null = null;

test.before(async () => {
  if (requireEtcd()) etcd = await EtcdCluster.start({ size: 1 });
});
test.after.each(async () => {
  await killAll();
});
test.after(async () => {
  await etcd?.stop();
});

test('kill -9 of the synchronous standby, rm -rf of its data directory, restart with the same node id: it bootstraps from the primary and converges with every acknowledged write', async () => {
  if (!etcd) return;
  const c = new ClusterNodes(etcd.endpoints, { name: `rj${process.pid}`, sync: 1, args: SMALL });
  for (const id of ['n1', 'n2', 'n3']) await c.add(id);
  const before = await c.settled(['n1', 'n2', 'n3'], { leader: 'n1', via: 'n1' });
  const victim = before.syncSet[0]!;
  assert.ok(['n2', 'n3'].includes(victim), `sync set ${before.syncSet}`);
  const w = writers(() => c.node('n1'), c.key, 'rj');
  await sleep(800);
  const ackedAtKill = w.acked.length;
  await c.node(victim).kill9();
  const dir = c.specs.get(victim)!.dir;
  fs.rmSync(dir, { recursive: true, force: true });
  assert.ok(!fs.existsSync(dir));
  // The primary keeps acknowledging (the other standby joins the sync set) while the victim is gone.
  await c.waitFor((s) => s.syncSet.length === 1 && s.syncSet[0] !== victim, 'the other standby in the sync set', 15_000, 'n1');
  const t0 = Date.now();
  while (w.acked.length < ackedAtKill + 20 && Date.now() - t0 < 10_000) await sleep(50);
  assert.ok(w.acked.length >= ackedAtKill + 20, `writes continued without ${victim}: ${w.acked.length - ackedAtKill} acknowledged; ${w.failed.slice(-3).join(' | ')}`);
  // ~400 KB more WAL and a checkpoint: the primary no longer holds its first segments.
  const bulkValues = await bulk(c.node('n1'), c.key, 100);
  assert.is((await c.node('n1').api('POST', '/v1/admin/checkpoint', { key: c.key, timeoutMs: 10_000 })).status, 200);
  const oldest = oldestLsn(c.specs.get('n1')!.dir);
  assert.ok(oldest > 1n, `the primary dropped its early WAL (oldest LSN ${oldest})`);
  // Restart on the empty directory (same id, port, replicator key), writes still running.
  await c.start(victim);
  await sleep(800);
  await w.stop();
  assert.ok(w.acked.length > 0);
  const st = await c.waitFor((s) => s.leader?.nodeId === 'n1' && s.members.some((m) => m.nodeId === victim && m.role === 'standby' && m.healthy && m.lagLsn === '0'),
    `${victim} rejoined as a healthy standby and caught up`, 25_000, 'n1');
  assert.is(st.members.length, 3);
  assert.is((await c.node(victim).replication(c.key)).role, 'standby');
  // It got there by a base backup from the primary (it had nothing to stream from).
  const m = (await c.node(victim).api('GET', '/metrics')).text;
  assert.match(m, /^kvstore_replication_base_backups_received_total [1-9]\d*$/m, `${victim} installed a base backup (oldest LSN on the primary ${oldest})`);
  assert.match(m, /^kvstore_cluster_leader 0$/m);
  await assertAllPresent(c.node(victim), c.key, w.acked, `the wiped and restarted ${victim}`);
  for (let i = 50; i < 100; i++) assert.is((await c.node(victim).api('GET', `/v1/kv/bulk-${i % 50}`, { key: c.key })).text, bulkValues[i], `bulk-${i % 50} on ${victim}`);
  // And it keeps following: a write after the rejoin reaches it.
  assert.is((await c.node('n1').api('PUT', '/v1/kv/after-rejoin', { key: c.key, raw: 'yes' })).status, 200);
  await c.waitFor((s) => s.members.some((x) => x.nodeId === victim && x.healthy && x.lagLsn === '0'), `${victim} applied the write after the rejoin`, 10_000, 'n1');
  assert.is((await c.node(victim).api('GET', '/v1/kv/after-rejoin', { key: c.key })).text, 'yes');
  console.log(`  ${victim} wiped and rejoined; ${w.acked.length} acknowledged writes all present on it (${w.failed.length} failed/unknown)`);
});

test.run();
