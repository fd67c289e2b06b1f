#!/usr/bin/env node
// Failover torture (issue 15) for as many rounds as asked: 3 etcd members + 3 kvstored nodes
// in cluster mode, recorded concurrent load through every node, the primary killed (-9) and
// restarted every round; then the linearizability checker over the whole history and the
// durability checks. The same run as test/cluster-torture.test.ts (which does 20 rounds).
//
//   npm run build:ts && node scripts/failover-torture.mjs --rounds 500 [--max-minutes 120] [--json out.json]
//
// Exits 1 on any violation, lost write, or a failover past --bound-ms (default 15000).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
};
const rounds = Number(flag('rounds', '50'));
const maxMinutes = Number(flag('max-minutes', String(Math.max(10, Math.ceil(rounds / 6)))));
const boundMs = Number(flag('bound-ms', '15000'));
const jsonOut = flag('json', '');
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100_000) throw new Error('--rounds: 1..100000');

const { runTorture, summary } = await import(path.join(root, 'dist', 'test', 'cluster-torture.js'));
const { formatViolations } = await import(path.join(root, 'dist', 'test', 'linearizability.js'));
const { percentile } = await import(path.join(root, 'dist', 'test', 'cluster-workload.js'));

const r = await runTorture({ rounds, maxMs: maxMinutes * 60_000, failoverBoundMs: boundMs, log: (l) => console.log(l) });
console.log(summary(r));
if (!r.check.ok) console.log(formatViolations(r.check, 10));
for (const p of r.problems.slice(0, 20)) console.log(`durability: ${p}`);
if (jsonOut) {
  const pct = (v) => ({ p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99), max: Math.max(...v) });
  fs.writeFileSync(jsonOut, JSON.stringify({
    rounds, elapsedMs: r.elapsedMs, routing: r.routing, failoverMs: pct(r.failoverMs), rejoinMs: pct(r.rejoinMs), failoverSamples: r.failoverMs,
    ops: r.ops, counts: r.counts, violations: r.check.violations.length, inconclusive: r.check.inconclusive.length, durabilityProblems: r.problems.length,
  }, null, 2));
}
process.exit(r.check.ok && r.problems.length === 0 ? 0 : 1);
