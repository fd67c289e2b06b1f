/**
 * worker_threads child for test/txn.test.ts; every mode opens `dir` (the native engine is
 * shared by every thread that opens the same directory). workerData:
 *   { mode: 'incr', dir, engine, id, ops }: `ops` increments of the counter `ctr` as
 *     read-compare-write transactions (getEntry, then txn compare version = the one read,
 *     put n+1; on a failed compare read again), 4 in flight; posts { retries, errors }.
 *   { mode: 'write', dir, engine, rounds }: txn after txn putting r into t/0..t/9; posts { rounds }.
 *   { mode: 'read', dir, engine, ms }: scans t/ over and over for `ms`; posts
 *     { scans, torn, distinct } — torn counts scans that saw two different values.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';

const data = workerData as { mode: 'incr' | 'write' | 'read'; dir: string; engine: EngineName; id: number; ops: number; rounds: number; ms: number };
const db = await open({ dir: data.dir, engine: data.engine, durability: 'always', onLog: () => undefined });

async function incrLoop(): Promise<void> {
  let left = data.ops;
  let retries = 0;
  const errors: string[] = [];
  const lane = async (): Promise<void> => {
    while (left > 0) {
      left--;
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const cur = db.getEntry('ctr');
        const n = cur === undefined ? 0n : BigInt(cur.value.toString());
        try {
          const r = await db.txn({
            compare: [{ key: 'ctr', op: '=', version: cur?.version ?? 0n }],
            success: [{ type: 'put', key: 'ctr', value: String(n + 1n) }],
          });
          if (r.succeeded) break;
          retries++;
        } catch (err) {
          errors.push(String((err as { code?: unknown }).code));
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  parentPort!.postMessage({ retries, errors });
}

async function writeLoop(): Promise<void> {
  for (let r = 1; r <= data.rounds; r++) {
    await db.txn({ success: Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: `t/${i}`, value: String(r) })) });
  }
  parentPort!.postMessage({ rounds: data.rounds });
}

async function readLoop(): Promise<void> {
  const until = Date.now() + data.ms;
  let scans = 0;
  let torn = 0;
  const distinct = new Set<string>();
  while (Date.now() < until && scans < 1_000_000) {
    const seen = new Set<string>();
    for (const [, v] of db.scan({ prefix: 't/' })) seen.add(v.toString());
    if (seen.size > 1) torn++;
    for (const v of seen) distinct.add(v);
    scans++;
    if (scans % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  parentPort!.postMessage({ scans, torn, distinct: distinct.size });
}

if (data.mode === 'incr') await incrLoop();
else if (data.mode === 'write') await writeLoop();
else await readLoop();
await db.close();
