/**
 * Streaming replication between real processes on loopback (issue 14, "Tests"): under a
 * mixed concurrent load (puts, batches with deletes, TTLs that expire during the run and
 * TTLs that do not, incr, compare-and-swap) on a kvstored primary, a kvstored standby and an
 * embedded replica (open({ replicaOf, apiKey }) in this process) end with exactly the
 * primary's keys, values, versions and expiries, `_sys.` included: the directories are
 * compared offline, entry by entry, at one fixed clock. Under each engine and across
 * engines (a native primary streaming to pure-TS followers and back).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/store/store.js';
import { type EngineName, ENGINES, tempDir } from './helpers.js';
import { assertSameDump, caughtUp, dumpDir, flushedLsn, killAll, lastWalLsn, startNode, startPrimary } from './repl-cluster.js';
import { runLoad } from './repl-load.js';

const test = suite('replication: convergence');
test.after.each(killAll);

const pairs: Array<[EngineName, EngineName]> = ENGINES.map((e) => [e, e]);
if (ENGINES.includes('native') && ENGINES.includes('js')) pairs.push(['native', 'js'], ['js', 'native']);

for (const [pe, se] of pairs) {
  test(`${pe} primary → ${se} standby and ${se} embedded replica: identical after a mixed concurrent load`, async () => {
    const { primary, creds } = await startPrimary({ engine: pe });
    const sdir = tempDir('repl-s');
    const standby = await startNode(sdir, { engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
    const rdir = tempDir('repl-r');
    const replica = await open({ dir: rdir, engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'embedded', onLog: () => undefined });
    try {
      // Bounded by count (500 operations), with time to reach it on a loaded machine.
      const load = await runLoad(primary, creds.admin, { ms: 15_000, clients: 8, maxOps: 500 });
      assert.ok(load.ok > 200, `the load did work: ${JSON.stringify(load)}`);
      assert.equal(Object.keys(load.errors).filter((c) => c !== 'VERSION_MISMATCH'), [], JSON.stringify(load.errors));
      const last = await flushedLsn(primary, creds.admin);
      await caughtUp(standby, creds.admin, last);
      for (let i = 0; i < 600 && replica.replication().appliedLsn < last; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(replica.replication().appliedLsn >= last, `the embedded replica applied ${replica.replication().appliedLsn} of ${last}`);
      // The primary stops first: its followers get every record, its shutdown writes included.
      assert.is(await primary.stop(), 0, primary.tail());
      const end = lastWalLsn(primary.dir);
      for (let i = 0; i < 600 && replica.replication().appliedLsn < end; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(replica.replication().appliedLsn >= end, `the embedded replica applied ${replica.replication().appliedLsn} of ${end}`);
      await caughtUp(standby, creds.admin, end);
    } finally {
      await replica.close();
    }
    assert.is(await standby.stop(), 0, standby.tail());
    // By now the short TTLs (≤ 1.2 s) have expired everywhere; the long ones are compared exactly.
    const at = Date.now();
    const p = await dumpDir(primary.dir, pe, at);
    assert.ok([...p.keys()].some((k) => Buffer.from(k, 'hex').toString().includes('-ttl-long-')), 'long TTLs are compared');
    assertSameDump(p, await dumpDir(sdir, se, at), 'primary vs kvstored standby');
    assertSameDump(p, await dumpDir(rdir, se, at), 'primary vs embedded replica');
  });
}

test.run();
