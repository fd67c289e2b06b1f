/**
 * The test harness itself, against real etcd: a 3-member cluster starts and serves; one
 * member killed (-9) leaves a quorum that still writes; the member restarts and catches up;
 * two killed lose quorum (writes fail), and stop() leaves no process and no directory.
 * Also the TcpProxy in both cut modes against a real etcd client (etcdctl).
 */
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdCluster, etcdctl as ctl, requireEtcd } from './etcd-cluster.js';

const haveEtcd = requireEtcd();

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('3 members: serve, survive one kill -9, restart and catch up, lose quorum at two, stop cleans up', async () => {
  if (!haveEtcd) return;
  const c = await EtcdCluster.start({ size: 3 });
  try {
    assert.is(c.members.length, 3);
    await c.etcdctl(['put', '/t/a', '1']);
    assert.equal([...(await c.getPrefix('/t/'))], [['/t/a', '1']]);
    const pid0 = c.members[0]!.proc!.pid;
    await c.kill(0);
    assert.not.ok(alive(pid0), 'the killed member is gone');
    // Two of three: still a quorum, writes through the others succeed.
    const others = [c.members[1]!.clientUrl, c.members[2]!.clientUrl].join(',');
    // (The first tries may time out while the two elect a new leader.)
    let w = { ok: false, out: '' };
    for (let i = 0; i < 10 && !w.ok; i++) w = await ctl(others, ['put', '/t/b', '2'], 2_000);
    assert.ok(w.ok, `a write with one member down: ${w.out}`);
    await c.restart(0);
    // The restarted member serves the write it missed (a linearizable read through it alone).
    let seen = '';
    for (let i = 0; i < 100 && seen !== '2'; i++) {
      const r = await ctl(c.members[0]!.clientUrl, ['get', '/t/b', '--print-value-only']);
      seen = r.out.trim();
      if (seen !== '2') await new Promise((res) => setTimeout(res, 50));
    }
    assert.is(seen, '2', 'the restarted member caught up');
    // Two down: no quorum, a write fails (it must not succeed on one member).
    await c.kill(1);
    await c.kill(2);
    const lost = await ctl(c.members[0]!.clientUrl, ['put', '/t/c', '3'], 2_000);
    assert.not.ok(lost.ok, `a write without quorum must fail: ${lost.out}`);
    await c.restart(1, false);
    await c.restart(2, false);
    await c.waitHealthy();
    assert.equal((await c.getPrefix('/t/')).get('/t/c'), undefined, 'the quorum-less write never happened');
  } finally {
    const pids = c.members.map((m) => m.proc?.pid);
    await c.stop();
    assert.ok(pids.every((p) => !alive(p)), 'no member left running');
    assert.not.ok(fs.existsSync(c.root), 'data directories removed');
  }
});

test('proxied endpoints: reset and drop cuts break a client, heal restores it', async () => {
  if (!haveEtcd) return;
  const c = await EtcdCluster.start({ size: 1, proxied: true });
  try {
    const ep = c.members[0]!.endpoint;
    assert.is.not(ep, c.members[0]!.clientUrl);
    assert.ok((await ctl(ep, ['put', 'k', 'v'])).ok, 'through the proxy');
    const proxy = c.members[0]!.proxy!;
    proxy.cut('reset');
    let t0 = Date.now();
    assert.not.ok((await ctl(ep, ['get', 'k'], 1_000)).ok, 'reset cut: fails');
    assert.ok(Date.now() - t0 < 4_500, 'reset cut fails fast');
    proxy.heal();
    assert.ok((await ctl(ep, ['get', 'k'])).ok, 'healed');
    proxy.cut('drop');
    t0 = Date.now();
    assert.not.ok((await ctl(ep, ['get', 'k'], 1_000)).ok, 'drop cut: times out');
    assert.ok(Date.now() - t0 >= 900, 'a blackhole fails only by timeout');
    proxy.heal();
    assert.ok((await ctl(ep, ['get', 'k'])).ok, 'healed after drop');
    assert.ok(proxy.refused >= 2, `the proxy counted the refused connections (${proxy.refused})`);
  } finally {
    await c.stop();
  }
});

test.run();
