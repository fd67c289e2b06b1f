/**
 * The embedded read replica, open({ dir, replicaOf, apiKey }) (issue 14, part 5): it follows
 * a kvstored primary, refuses writes with READ_ONLY, says where it stands in
 * store.replication() (connected, applied and primary LSNs, lag), keeps serving (stale)
 * reads while the primary is down and reconnects when it is back; it works inside a
 * worker_thread; and a replica process killed -9 restarts from its own directory and
 * catches up, ending with the primary's WAL and entries.
 */
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/store/store.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';
import { startChild } from './proc.js';
import { assertSameDump, assertWalFollows, dumpDir, flushedLsn, freePort, killAll, lastWalLsn, startNode, startPrimary } from './repl-cluster.js';

const test = suite('replication: embedded replica');
test.after.each(killAll);

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const applied = (s: Store): bigint => s.replication().appliedLsn;

for (const engine of ENGINES) {
  test(`${engine}: follows, refuses writes, reports where it stands, and survives a primary kill -9 and restart`, async () => {
    const port = await freePort();
    let { primary, creds } = await startPrimary({ engine, port });
    const replica = await open({ dir: tempDir('repl-r'), engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'r', onLog: () => undefined });
    try {
      assert.is((await primary.api('PUT', '/v1/kv/a', { key: creds.admin, raw: 'A' })).status, 200);
      await until(() => replica.get('a')?.toString() === 'A', 'a to arrive');
      const last = await flushedLsn(primary, creds.admin);
      await until(() => applied(replica) >= last, `LSN ${last}`);
      const info = replica.replication();
      assert.is(info.role, 'standby');
      assert.is(info.connected, true);
      assert.is(info.appliedLsn, last);
      assert.ok(info.primaryLsn >= info.appliedLsn, `primaryLsn ${info.primaryLsn} >= appliedLsn ${info.appliedLsn}`);
      assert.is(info.lagMs, 0, 'caught up: no lag');
      assert.is(info.lastError, null);
      await rejectsWith('READ_ONLY', () => replica.put('x', 'y'));
      await rejectsWith('READ_ONLY', () => replica.delete('a'));
      await rejectsWith('READ_ONLY', () => replica.batch([{ type: 'put', key: 'x', value: 'y' }]));
      await rejectsWith('READ_ONLY', () => replica.incr('n'));
      assert.is(replica.getEntry('a')!.version <= last, true);

      await primary.kill9();
      await until(() => !replica.replication().connected && replica.replication().lastError !== null, 'the replica to notice');
      assert.is(replica.replication().lastError!.code, 'IO_ERROR');
      assert.is(replica.get('a')!.toString(), 'A', 'stale reads go on while the primary is down');

      primary = await startNode(primary.dir, { engine, port });
      assert.is((await primary.api('PUT', '/v1/kv/b', { key: creds.admin, raw: 'B' })).status, 200);
      await until(() => replica.get('b')?.toString() === 'B', 'b after the primary restart');
      await until(() => replica.replication().connected && replica.replication().lastError === null, 'reconnected');
    } finally {
      await replica.close();
    }
  });
}

test(`${ENGINES[0]}: in a worker_thread it follows and refuses writes; a replica process killed -9 catches up from its own directory`, async () => {
  const engine = ENGINES[0]!;
  const { primary, creds } = await startPrimary({ engine });
  assert.is((await primary.api('PUT', '/v1/kv/w-key', { key: creds.admin, raw: 'from the primary' })).status, 200);
  const fromWorker = await new Promise<{ value: string | null; writeCode: string | null; info: { role: string; connected: boolean } }>((resolve, reject) => {
    const w = new Worker(new URL('./children/replica-worker.js', import.meta.url), { workerData: { dir: tempDir('repl-w'), engine, url: primary.url, apiKey: creds.replicator, key: 'w-key' } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited ${code} without a result`)));
  });
  assert.equal(fromWorker.value, 'from the primary');
  assert.is(fromWorker.writeCode, 'READ_ONLY');
  assert.is(fromWorker.info.role, 'standby');
  assert.is(fromWorker.info.connected, true);

  const dir = tempDir('repl-r');
  const child = startChild('replica-proc', [dir, engine, primary.url, creds.replicator, 'proc-replica']);
  const target = await flushedLsn(primary, creds.admin);
  await child.waitFor((l) => BigInt((JSON.parse(l) as { applied: string }).applied) >= target);
  await child.kill();
  const had = BigInt((JSON.parse(child.lines().at(-1)!) as { applied: string }).applied);
  for (let i = 0; i < 30; i++) assert.is((await primary.api('PUT', `/v1/kv/later-${i}`, { key: creds.admin, raw: `v${i}` })).status, 200);
  const replica = await open({ dir, engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'proc-replica', onLog: () => undefined });
  try {
    assert.ok(applied(replica) >= had, `recovered its own directory (${applied(replica)} >= ${had}) before streaming`);
    const last = await flushedLsn(primary, creds.admin);
    await until(() => applied(replica) >= last, `caught up to ${last}`);
    assert.is(replica.get('later-29')?.toString(), 'v29');
    assert.is((await primary.replication(creds.admin)).standbys.find((s) => s.id === 'proc-replica')?.baseBackups, 0, 'resumed by WAL, no base backup');
    // A clean stop sends the replica every record, the primary's shutdown writes included.
    assert.is(await primary.stop(), 0, primary.tail());
    const end = lastWalLsn(primary.dir);
    await until(() => applied(replica) >= end, `the primary's last LSN ${end}`);
  } finally {
    await replica.close();
  }
  assertWalFollows(dir, primary.dir, lastWalLsn(primary.dir));
  const at = Date.now();
  assertSameDump(await dumpDir(primary.dir, engine, at), await dumpDir(dir, engine, at), 'primary vs restarted replica');
});

test.run();
