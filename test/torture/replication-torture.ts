/**
 * Replication torture (not part of `npm test`; run through `node scripts/torture.mjs replication`):
 * rounds of a kvstored primary and standby on loopback under a writer child that records
 * every acknowledged write, with kill -9 of the standby and of the primary at random
 * moments, then a failover: the primary killed -9, the standby promoted, the old primary
 * rejoining with --replica-of (rewinding what it alone had). Engines and commit levels
 * alternate round by round (the standby on the other engine every other round).
 *
 *   --rounds N      rounds (default 4)
 *   --steps N       kills per round before the failover (default 3)
 *   --engines a,b   native,js by default (KVSTORE_TEST_ENGINES is honoured too)
 *   --seed S        replays the random choices
 *
 * Each round checks: with synchronous_standbys = 1, every acknowledged write is on the
 * promoted node with its acknowledged version (none lost); with 0, how many were lost is
 * printed (allowed); after the rejoin both nodes hold identical entries. Ends with
 *   rounds: R, acknowledged: A, lost (sync): L, lost (async, allowed): X, problems: P
 * and exits 0 only when L and P are 0.
 */
import type { EngineName } from '../helpers.js';
import { startChild } from '../proc.js';
import {
  type KvNode, assertSameDump, confirmedBy, dumpDir, flushedLsn, freePort, killAll, startNode, startPrimary, stopPrimaryThenStandby, synced,
} from '../repl-cluster.js';
import { tempDir } from '../helpers.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const ROUNDS = Number(arg('rounds', '4'));
const STEPS = Number(arg('steps', '3'));
const ENGINES = arg('engines', process.env.KVSTORE_TEST_ENGINES ?? 'native,js').split(',') as EngineName[];
const SEED = Number(arg('seed', String(Math.floor(Math.random() * 2 ** 31))));
let seed = SEED >>> 0;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const totals = { rounds: 0, acked: 0, lostSync: 0, lostAsync: 0, problems: 0 };

async function round(r: number): Promise<void> {
  const pe = ENGINES[r % ENGINES.length]!;
  const se = ENGINES[(r + Math.floor(r / ENGINES.length)) % ENGINES.length]!;
  const sync = r % 2 === 0 ? 1 : 0;
  const port = await freePort();
  const { primary: setup, creds } = await startPrimary({ engine: pe });
  if ((await setup.stop()) !== 0) throw new Error(`setup stop: ${setup.tail()}`);
  const pargs = ['--synchronous-standbys', String(sync), '--synchronous-timeout-ms', '30000'];
  let primary: KvNode = await startNode(setup.dir, { engine: pe, port, args: pargs });
  const sdir = tempDir('torture-s');
  let standby = await startNode(sdir, { engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
  await confirmedBy(primary, creds.admin, 's1', await flushedLsn(primary, creds.admin));
  const writer = startChild('repl-writer', [primary.url, creds.admin, `r${r}`, '16', '120000']);
  const steps: string[] = [];
  for (let s = 0; s < STEPS; s++) {
    await sleep(300 + Math.floor(rnd() * 700));
    if (rnd() < 0.5) {
      steps.push('standby');
      await standby.kill9();
      standby = await startNode(sdir, { engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
    } else {
      steps.push('primary');
      await primary.kill9();
      primary = await startNode(setup.dir, { engine: pe, port, args: pargs });
    }
    await confirmedBy(primary, creds.admin, 's1', await flushedLsn(primary, creds.admin), 60_000);
  }
  await sleep(300 + Math.floor(rnd() * 700));
  await primary.kill9();
  await writer.kill();
  const acked = writer.lines().filter((l) => l.startsWith('{"t":"a"')).map((l) => JSON.parse(l) as { i: number; version: string });
  const promoted = await standby.api('POST', '/v1/admin/promote', { key: creds.admin });
  if (promoted.status !== 200) throw new Error(`promote: ${promoted.status} ${promoted.text}`);
  let lost = 0;
  for (const a of acked) {
    const g = await standby.api('GET', `/v1/kv/r${r}-${a.i}`, { key: creds.admin });
    if (g.status !== 200 || g.text !== String(a.i) || g.headers.get('etag') !== `"${a.version}"`) lost++;
  }
  // The old primary rejoins the new one; it rewinds what only it had.
  const old = await startNode(setup.dir, { engine: pe, replicaOf: standby.url, apiKey: creds.replicator, standbyId: 'old' });
  const st = await synced(old, standby, creds.admin, 60_000);
  await stopPrimaryThenStandby(standby, old, creds.admin);
  const at = Date.now();
  let problem = '';
  try {
    assertSameDump(await dumpDir(sdir, se, at), await dumpDir(setup.dir, pe, at), 'promoted vs rejoined');
  } catch (err) {
    problem = (err as Error).message;
  }
  totals.rounds++;
  totals.acked += acked.length;
  if (sync) totals.lostSync += lost;
  else totals.lostAsync += lost;
  if (problem) totals.problems++;
  console.log(`round ${r}: ${pe} → ${se}, sync ${sync}, kills [${steps.join(' ')}], acked ${acked.length}, lost ${lost}, rewinds ${st.receiver?.rewinds ?? 0}, base backups ${st.receiver?.baseBackups ?? 0}${problem ? `, PROBLEM: ${problem}` : ''}`);
}

console.log(`replication torture: ${ROUNDS} rounds, ${STEPS} kills each, engines ${ENGINES.join(',')}, seed ${SEED}`);
for (let r = 0; r < ROUNDS; r++) {
  try {
    await round(r);
  } catch (err) {
    totals.problems++;
    console.log(`round ${r}: PROBLEM: ${(err as Error).stack ?? err}`);
  } finally {
    await killAll();
  }
}
console.log(`rounds: ${totals.rounds}, acknowledged: ${totals.acked}, lost (sync): ${totals.lostSync}, lost (async, allowed): ${totals.lostAsync}, problems: ${totals.problems}`);
process.exit(totals.lostSync === 0 && totals.problems === 0 ? 0 : 1);
