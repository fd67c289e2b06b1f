/**
 * The other process of the replication scenarios (bench/repl-cluster.ts); not a scenario.
 *
 *   --mode primary --dir D --engine E --keys N
 *       A primary as kvstored assembles it (auth off), preloaded with keys [0, N) (common.ts
 *       keys and values). Prints one line { url, flushedLsn } once loaded and listening.
 *   --mode standby --dir D --engine E --primary URL --id ID
 *       An embedded standby: the store opened as standby and the same ReplicationNode that
 *       open({ replicaOf }) starts (ts/replication/replica.ts), built here by hand so that
 *       onProgress can be observed. Every applied frame is timestamped (performance.timeOrigin
 *       + performance.now(), ms, the same wall clock as the primary's process) with the applied
 *       LSN after it. Prints { ready: true } once started; when stdin closes, prints
 *       { t: number[], lsn: number[] } and exits.
 * Both exit when stdin closes.
 */
import { open } from '../ts/index.js';
import { ReplicationNode, replicaHandle } from '../ts/replication/node.js';
import { loadStore } from './common.js';
import { startPrimary, type EngineKind } from './repl-cluster.js';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : [])).filter((x) => x.length)) as Record<string, string>;
const engine = (args.engine ?? 'native') as EngineKind;

if (args.mode === 'primary') {
  process.stdin.on('end', () => process.exit(0)).resume();
  const p = await startPrimary(args.dir!, engine, 0);
  await loadStore(p.store, Number(args.keys ?? 0));
  process.stdout.write(JSON.stringify({ url: p.url, flushedLsn: p.flushedLsn().toString() }) + '\n');
} else if (args.mode === 'standby') {
  const store = await open({ dir: args.dir!, engine, role: 'standby', onLog: () => {} });
  const node = new ReplicationNode(store, { replicaOf: args.primary!, standbyId: args.id!, synchronousStandbys: 0, synchronousTimeoutMs: 10_000 }, () => {});
  node.start();
  store._attachReplica(replicaHandle(node, store));
  const t: number[] = [];
  const lsn: number[] = [];
  const origin = performance.timeOrigin;
  node.onProgress(() => {
    t.push(origin + performance.now());
    lsn.push(Number(store._replication().positions().appliedLsn));
  });
  process.stdin.on('end', () => {
    process.stdout.write(JSON.stringify({ t, lsn }) + '\n', () => process.exit(0));
  }).resume();
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
} else {
  process.stderr.write(`repl-node: --mode primary|standby, got ${String(args.mode)}\n`);
  process.exit(2);
}
