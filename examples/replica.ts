/**
 * An embedded read replica (docs/replication.md): this process keeps its own copy of a
 * kvstored primary's data in a local directory, follows the primary's WAL, and reads from
 * memory — writes fail with READ_ONLY. It prints every data key as it changes and how far it
 * is behind, until SIGTERM or Ctrl-C. The README's "Replication" walkthrough runs it:
 *
 *   KVSTORE_REPLICATION_API_KEY=<an API key of a replicator user> \
 *     node dist/examples/replica.js <dir> <primary URL | member URL,member URL,…>
 *
 * Restarted on the same directory it resumes where it stopped; pointed at a newly promoted
 * primary it follows the new timeline (rewinding what the new primary never had). Given a
 * cluster's members it finds the leader itself, and follows the next one after a failover
 * (the README's cluster walkthrough runs it so).
 */
import { KvError, open } from '../ts/index.js';

const [dir = './replica', upstream = 'http://127.0.0.1:8080'] = process.argv.slice(2);
// One URL: that primary. Several, comma-separated: the members of a cluster (kvstored
// --cluster); the replica then follows whichever of them is the leader, across failovers.
const replicaOf = upstream.includes(',') ? upstream.split(',') : upstream;
const db = await open({
  dir,
  replicaOf,
  apiKey: process.env.KVSTORE_REPLICATION_API_KEY,
  standbyId: 'example-replica',
  onLog: (level, message) => console.log(`replica ${level}: ${message}`),
});
console.log(`replica: following ${upstream} into ${dir}`);

try {
  await db.put('greeting', 'written on a replica');
} catch (err) {
  console.log(`replica: a write here is refused with ${(err as KvError).code}`);
}

// What was printed per key, to print only changes. A demo: a real application just reads
// (db.get is a memory lookup), and checks db.replication().lagMs when staleness matters.
const shown = new Map<string, string>();
let lastApplied = -1n;
const tick = (): void => {
  let r: ReturnType<typeof db.replication>;
  let now: Map<string, string>;
  try {
    r = db.replication();
    if (r.appliedLsn === lastApplied) return;
    now = new Map([...db.scan()].map(([k, v]) => [k.toString(), v.toString()]));
  } catch {
    return; // the directory is being reset (base backup, rewind; replication() says CLOSED then too): next tick
  }
  lastApplied = r.appliedLsn;
  for (const [k, v] of now) if (shown.get(k) !== v) console.log(`replica: ${k} = ${v}`);
  for (const k of shown.keys()) if (!now.has(k)) console.log(`replica: ${k} deleted`);
  shown.clear();
  for (const [k, v] of now) shown.set(k, v);
  console.log(`replica: applied LSN ${r.appliedLsn}, primary ${r.primaryUrl ?? '(none found yet)'} at ${r.primaryLsn}, ${r.connected ? 'connected' : 'not connected'}, ${r.lagMs} ms behind`);
};
const timer = setInterval(tick, 100);

const stop = async (): Promise<void> => {
  clearInterval(timer);
  await db.close();
  console.log('replica: closed');
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
