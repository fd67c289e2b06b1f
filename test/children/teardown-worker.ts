/**
 * worker_threads child for test/children/teardown-runner.ts: a store's whole life, with a
 * message to the parent as each phase starts, so the parent can terminate the worker in
 * the middle of any of them. workerData: { dir, engine }. Posts, in order:
 *   { phase: 'open' }        then open(), durability 'always'
 *   { phase: 'write' }       then 160 puts, 8 in flight; each acknowledged one posts { ack: [key, value] }
 *   { phase: 'scan' }        then full scans while puts go on
 *   { phase: 'checkpoint' }  then checkpoint() while puts go on
 *   { phase: 'close' }       then 32 puts left in flight and close()
 *   { phase: 'closed' }
 * A put is posted as acknowledged only after its promise resolved, i.e. it is durable.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open, type Store } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';

const { dir, engine } = workerData as { dir: string; engine: EngineName };
const post = (m: Record<string, unknown>): void => parentPort!.postMessage(m);

let seq = 0;
async function put(db: Store): Promise<void> {
  const i = seq++;
  const key = `w:${String(i).padStart(5, '0')}`;
  const value = `v${i}:${'x'.repeat(i % 97)}`;
  await db.put(key, value);
  post({ ack: [key, value] });
}

/** `count` puts, `lanes` in flight at a time. */
async function puts(db: Store, count: number, lanes: number): Promise<void> {
  let left = count;
  const lane = async (): Promise<void> => {
    while (left-- > 0) await put(db);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

post({ phase: 'open' });
const db = await open({ dir, engine, durability: 'always', onLog: () => undefined });
post({ phase: 'write' });
await puts(db, 160, 8);
post({ phase: 'scan' });
const background = puts(db, 64, 2);
for (let i = 0; i < 20; i++) {
  let n = 0;
  for (const _ of db.scan()) n++;
  if (n < 160) throw new Error(`scan saw ${n} keys, expected at least 160`);
  await new Promise((r) => setImmediate(r));
}
await background;
post({ phase: 'checkpoint' });
await Promise.all([db.checkpoint(), puts(db, 64, 4)]);
post({ phase: 'close' });
for (let i = 0; i < 32; i++) void put(db).catch(() => undefined);
await db.close();
post({ phase: 'closed' });
