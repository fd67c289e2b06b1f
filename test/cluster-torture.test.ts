/**
 * Failover torture on real processes (issue 15): 3 etcd members, 3 kvstored nodes in
 * cluster mode (synchronous_standbys 1), concurrent recorded writers through every node, the
 * primary killed (-9) every round and restarted (test/cluster-torture.ts). Asserts: writes
 * resume within the bound every round and the killed node rejoins as a healthy standby
 * (else the run throws), 0 linearizability violations over the whole history, every
 * acknowledged write still there (no key back in version, counters within their
 * acknowledged increments), failover p50 ≤ 2 s and p99 ≤ 5 s (the targets, with a
 * margin for this loaded 2-core machine: p99 ≤ 8 s). KVSTORE_TORTURE_ROUNDS overrides the 20
 * rounds; scripts/failover-torture.mjs runs hundreds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requireEtcd } from './etcd-cluster.js';
import { percentile } from './cluster-workload.js';
import { formatViolations } from './linearizability.js';
import { runTorture, summary } from './cluster-torture.js';

const haveEtcd = requireEtcd();
const ROUNDS = Number(process.env.KVSTORE_TORTURE_ROUNDS ?? 20);

test(`failover torture: ${ROUNDS} rounds of kill -9 of the primary under recorded load`, async () => {
  if (!haveEtcd) return;
  // Bounded: at load average 18, 20 rounds needed more than the former 170 s (rejoins take 6-10 s there).
  const r = await runTorture({ rounds: ROUNDS, maxMs: Math.max(300_000, ROUNDS * 15_000), failoverBoundMs: 15_000, log: (l) => console.log(l) });
  console.log(summary(r));
  assert.is(r.failoverMs.length, ROUNDS, 'every round failed over');
  assert.is(r.rejoinMs.length, ROUNDS, 'every killed node rejoined');
  assert.ok(r.counts.ok > ROUNDS * 20, `enough acknowledged operations to mean something: ${r.counts.ok}`);
  // The checker judges only the reads that were answered: a run whose reads all failed would pass it vacuously.
  if (r.routing) assert.ok(r.reads.ok > ROUNDS * 20, `enough answered linearizable reads to mean something: ${r.reads.ok} (${r.reads.failed} failed)`);
  assert.equal(r.problems, [], `durability: ${r.problems.slice(0, 5).join('; ')}`);
  assert.ok(r.check.ok, formatViolations(r.check));
  assert.ok(percentile(r.failoverMs, 50) <= 2_000, `failover p50 ${percentile(r.failoverMs, 50)} ms > 2 s`);
  assert.ok(percentile(r.failoverMs, 99) <= 8_000, `failover p99 ${percentile(r.failoverMs, 99)} ms > 8 s`);
});

test.run();
