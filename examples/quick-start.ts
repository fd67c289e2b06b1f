/**
 * The embedded quick start: `npm start` runs it against ./data (or the directory given
 * as the first argument) and prints what it did. Run it twice: the counter survives.
 */
import { open } from '../ts/index.js';

const dir = process.argv[2] ?? process.env.KVSTORE_DATA_DIR ?? './data';
const db = await open({ dir, durability: 'always' });
const s = db.stats();
console.log(`opened ${dir} with the ${s.engine} engine: ${db.count()} keys, next LSN ${s.nextLsn}`);

const runs = await db.incr('demo:runs');
console.log(`incr demo:runs -> ${runs} (durable: survives kill -9 from here on)`);

const { version } = await db.put('demo:greeting', `hello from run ${runs}`);
console.log(`put demo:greeting -> version ${version}`);
console.log(`get demo:greeting -> ${db.get('demo:greeting')?.toString()}`);

await db.put('demo:session', 'expires soon', { ttlMs: 60_000 });
console.log(`put demo:session with a 60 s TTL, expires at ${new Date(db.getEntry('demo:session')!.expiresAt!).toISOString()}`);

try {
  await db.put('demo:greeting', 'lost update', { ifVersion: version - 1n });
} catch (err) {
  console.log(`compare-and-swap with a stale version -> ${(err as { code: string }).code}`);
}

await db.batch([
  { type: 'put', key: 'demo:user:1', value: 'ada' },
  { type: 'put', key: 'demo:user:2', value: 'grace' },
]);
for (const [k, v] of db.scan({ prefix: 'demo:user:' })) console.log(`scan demo:user: -> ${k} = ${v}`);

const { redoLsn } = await db.checkpoint();
console.log(`checkpoint written, redo LSN ${redoLsn}`);
await db.close();
console.log('closed cleanly');
