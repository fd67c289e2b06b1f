/**
 * Crash torture (not part of `npm test`; run through scripts/torture.mjs): many SIGKILL
 * rounds of test/children/torture-writer.ts, alternating engines and workloads, each
 * round checked by test/crash-model.ts exactly as test/crash.test.ts checks its rounds.
 * The directory carries over between rounds (so recovery meets old checkpoints, old
 * segments and earlier rounds' data) and starts afresh every --fresh-every rounds.
 *
 *   --rounds N        total rounds (default 1000), split across the engines
 *   --engines a,b     native,js by default (KVSTORE_TEST_ENGINES is honoured too)
 *   --seed S          replays a run
 *   --fresh-every N   rounds per directory (default 25)
 *   --durability D    always (default), interval or none: the policy every child writes under
 *   --interval-ms N   intervalMs under `interval` (default 40)
 *
 * Under `always` nothing acknowledged may be lost. Under interval/none acknowledged writes
 * may be lost, within the bounds test/crash-policies.test.ts checks (crash-model.ts,
 * lossBoundProblems): half the rounds pace their lanes, and every round must recover a
 * prefix of its writes.
 *
 * Prints one line per 50 rounds and ends with
 *   rounds run: R, acknowledged writes checked: A, lost: L, other problems: P
 * Exit status 0 only when L and P are 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Durability } from '../../ts/index.js';
import {
  crashRound, first, halfBatches, lossBoundProblems, losses, lostAcked, matchingPrefix, recoveredPrefix, type Round,
  type State, versionProblems,
} from '../crash-model.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const ROUNDS = Number(arg('rounds', '1000'));
const ENGINES = arg('engines', process.env.KVSTORE_TEST_ENGINES ?? 'native,js').split(',');
const SEED = Number(arg('seed', String(Math.floor(Math.random() * 2 ** 31))));
const FRESH_EVERY = Math.max(1, Number(arg('fresh-every', '25')));
const DURABILITY = arg('durability', 'always') as Durability;
const INTERVAL_MS = Number(arg('interval-ms', '40'));
if (!['always', 'interval', 'none'].includes(DURABILITY)) {
  console.error(`--durability must be always, interval or none, not ${DURABILITY}`);
  process.exit(2);
}
const MODES = ['mixed', 'checkpoint', 'mixed', 'large'] as const;

let seed = SEED >>> 0;
function rnd(n: number): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}

interface Totals {
  rounds: number;
  acked: number;
  lost: string[];
  problems: string[];
  midCheckpoint: number;
  ops: number;
  /** interval/none: acknowledged writes lost within the bounds. */
  lostAllowed: number;
}
const totals: Totals = { rounds: 0, acked: 0, lost: [], problems: [], midCheckpoint: 0, ops: 0, lostAllowed: 0 };
const perEngine = new Map<string, { rounds: number; acked: number }>();

function check(r: Round, prev: Round | undefined): void {
  totals.rounds++;
  totals.ops += r.ops.length;
  const pe = perEngine.get(r.engine) ?? { rounds: 0, acked: 0 };
  pe.rounds++;
  perEngine.set(r.engine, pe);
  if (r.openError) {
    totals.problems.push(`round ${r.n} [${r.engine}/${r.mode}]: reopen failed: ${r.openError}`);
    return;
  }
  totals.acked += r.acks.size;
  pe.acked += r.acks.size;
  if (r.midCheckpoint) totals.midCheckpoint++;
  if (r.killedBy !== 'SIGKILL') totals.problems.push(`round ${r.n}: child ended by ${r.killedBy}, not SIGKILL`);
  totals.problems.push(...r.errors.map((e) => `round ${r.n} [${r.engine}/${r.mode}]: child saw ${e}`));
  if (DURABILITY === 'always') totals.lost.push(...lostAcked(r));
  else {
    totals.lostAllowed += losses(r).lost.length;
    totals.lost.push(...lossBoundProblems(r));
  }
  totals.problems.push(...halfBatches(r), ...versionProblems(r, prev));
  if ((DURABILITY === 'always' ? matchingPrefix(r) : recoveredPrefix(r)) < 0) {
    totals.problems.push(`round ${r.n} [${r.engine}/${r.mode}]: recovered state is no prefix of the submitted writes`);
  }
  if (prev?.parentKey && !r.before.has(prev.parentKey)) totals.problems.push(`round ${r.n}: the parent's write is gone`);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-torture-'));
const t0 = Date.now();
console.log(`torture: ${ROUNDS} rounds, engines ${ENGINES.join(',')}, durability ${DURABILITY}` +
  `${DURABILITY === 'interval' ? ` (${INTERVAL_MS} ms)` : ''}, seed ${SEED}, fresh directory every ${FRESH_EVERY}`);
try {
  const cursors = ENGINES.map((engine) => ({ engine, dir: '', state: new Map() as State, prev: undefined as Round | undefined, k: 0 }));
  for (let n = 0; n < ROUNDS; n++) {
    const c = cursors[n % cursors.length]!;
    if (c.k % FRESH_EVERY === 0) {
      if (c.dir) fs.rmSync(c.dir, { recursive: true, force: true });
      c.dir = fs.mkdtempSync(path.join(root, `${c.engine}-`));
      c.state = new Map();
      c.prev = undefined;
    }
    c.k++;
    const mode = MODES[rnd(MODES.length)]!;
    const r = await crashRound({
      child: 'torture-writer', dir: c.dir, engine: c.engine, n, mode, seed: rnd(2 ** 31),
      before: c.state, killAfterMs: 30 + rnd(300), durability: DURABILITY, intervalMs: INTERVAL_MS, paced: rnd(2) === 0,
    });
    check(r, c.prev);
    if (r.openError) {
      console.log(`round ${n} [${c.engine}]: ${r.openError}; starting a fresh directory`);
      c.k = 0;
    } else {
      c.state = r.carried!;
      c.prev = r;
    }
    if ((n + 1) % 50 === 0) {
      console.log(`  ${n + 1} rounds, ${totals.acked} acked writes checked, ${totals.lost.length} lost, ` +
        `${totals.problems.length} other problems, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}

for (const [engine, pe] of perEngine) console.log(`  [${engine}] ${pe.rounds} rounds, ${pe.acked} acknowledged writes`);
console.log(`  ${totals.ops} writes submitted, ${totals.midCheckpoint} kills landed mid-checkpoint, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (DURABILITY !== 'always') console.log(`  ${totals.lostAllowed} acknowledged writes lost within the ${DURABILITY} bounds (lost below counts those outside)`);
for (const p of first(totals.lost)) console.log(`  LOST ${p}`);
for (const p of first(totals.problems)) console.log(`  PROBLEM ${p}`);
console.log(`rounds run: ${totals.rounds}, acknowledged writes checked: ${totals.acked}, lost: ${totals.lost.length}, other problems: ${totals.problems.length}`);
process.exitCode = totals.lost.length === 0 && totals.problems.length === 0 && totals.rounds === ROUNDS ? 0 : 1;
