/**
 * worker_threads child for test/threads.test.ts. workerData:
 *   { mode: 'write', dir, engine, id, ops }: opens dir, runs `ops` writes (incr on c:0..3,
 *     puts on the shared keys k:0..31), 16 in flight, closes, and posts what was
 *     acknowledged: per-counter sums of acked deltas and every acked put [key, value, version].
 *   { mode: 'open', dir, engine }: tries to open; posts { ok: true } or { code }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';

const data = workerData as { mode: 'write' | 'open'; dir: string; engine: EngineName; id: number; ops: number };

async function write(): Promise<void> {
  const db = await open({ dir: data.dir, engine: data.engine, durability: 'always', onLog: () => undefined });
  const sums = [0n, 0n, 0n, 0n];
  const puts: Array<[string, string, string]> = [];
  const errors: string[] = [];
  let n = 0;
  const lane = async (): Promise<void> => {
    while (n < data.ops) {
      const i = n++;
      try {
        if (i % 2 === 0) {
          const c = (i >> 1) % 4;
          const by = BigInt((i % 7) + 1);
          await db.incr(`c:${c}`, by);
          sums[c]! += by;
        } else {
          const key = `k:${(i * 7 + data.id) % 32}`;
          const value = `w${data.id}:${i}`;
          const { version } = await db.put(key, value);
          puts.push([key, value, String(version)]);
        }
      } catch (err) {
        errors.push(String((err as { code?: unknown }).code ?? err));
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  await db.close();
  parentPort!.postMessage({ sums: sums.map(String), puts, errors });
}

async function tryOpen(): Promise<void> {
  try {
    const db = await open({ dir: data.dir, engine: data.engine, onLog: () => undefined });
    await db.close();
    parentPort!.postMessage({ ok: true });
  } catch (err) {
    parentPort!.postMessage({ code: String((err as { code?: unknown }).code ?? err) });
  }
}

await (data.mode === 'write' ? write() : tryOpen());
