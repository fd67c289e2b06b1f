/**
 * worker_threads child for test/replication-replica.test.ts. workerData = { dir, engine,
 * url, apiKey, key }: opens an embedded replica of the kvstored primary at url in this
 * worker, waits (at most 20 s) until `key` has arrived, tries a write, closes, and posts
 * { value, info, writeCode } (LSNs as strings).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';

const d = workerData as { dir: string; engine: EngineName; url: string; apiKey: string; key: string };
const replica = await open({ dir: d.dir, engine: d.engine, replicaOf: d.url, apiKey: d.apiKey, standbyId: 'worker-replica', onLog: () => undefined });
const t0 = Date.now();
while (replica.get(d.key) === undefined && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
const value = replica.get(d.key)?.toString() ?? null;
const i = replica.replication();
let writeCode: string | null = null;
try {
  await replica.put('from-worker', 'x');
} catch (err) {
  writeCode = (err as { code?: string }).code ?? 'no code';
}
await replica.close();
parentPort!.postMessage({ value, writeCode, info: { role: i.role, connected: i.connected, appliedLsn: String(i.appliedLsn), primaryLsn: String(i.primaryLsn), lagMs: i.lagMs } });
