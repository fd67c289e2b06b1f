/**
 * worker_threads child for test/watch.test.ts; opens `dir` on the native engine (shared by
 * every thread of the process that opens the same directory). workerData:
 *   { mode: 'watch', dir, prefix, events }: watches `prefix`, posts 'watching' once watch()
 *     has returned, then posts the first `events` events as [type, key, value, version]
 *     (strings) — or { error } when they do not come within 20 s.
 *   { mode: 'write', dir, prefix, tag, rounds }: per round a put of `${prefix}${tag}/p${r}`
 *     and a batch (put a, put b, del a under `${prefix}${tag}/b${r}`); posts every write's
 *     version and the events it should produce, as [type, key, value, version].
 */
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../../ts/index.js';

type Ev = [string, string, string, string];
const data = workerData as { mode: 'watch' | 'write'; dir: string; prefix: string; events: number; tag: string; rounds: number };
const db = await open({ dir: data.dir, engine: 'native', durability: 'always', onLog: () => undefined });

async function watch(): Promise<void> {
  const w = db.watch({ prefix: data.prefix });
  parentPort!.postMessage('watching');
  const got: Ev[] = [];
  const timer = setTimeout(() => w.close(), 20_000);
  for await (const e of w) {
    got.push([e.type, e.key.toString(), e.value?.toString() ?? '', String(e.version)]);
    if (got.length >= data.events) break;
  }
  clearTimeout(timer);
  parentPort!.postMessage(got.length >= data.events ? { events: got } : { error: `only ${got.length} of ${data.events} events in 20 s`, events: got });
}

async function write(): Promise<void> {
  const out: Ev[] = [];
  for (let r = 0; r < data.rounds; r++) {
    const k = `${data.prefix}${data.tag}/p${r}`;
    const { version } = await db.put(k, `${data.tag}${r}`);
    out.push(['put', k, `${data.tag}${r}`, String(version)]);
    const a = `${data.prefix}${data.tag}/b${r}a`;
    const b = `${data.prefix}${data.tag}/b${r}b`;
    const bv = String((await db.batch([{ type: 'put', key: a, value: 'A' }, { type: 'put', key: b, value: 'B' }, { type: 'del', key: a }])).version);
    out.push(['put', a, 'A', bv], ['put', b, 'B', bv], ['del', a, '', bv]);
  }
  parentPort!.postMessage({ events: out });
}

await (data.mode === 'watch' ? watch() : write());
await db.close();
