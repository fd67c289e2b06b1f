/**
 * Fixture child: argv = dir engine start count big checkpointAt.
 * Puts fixtureKey(i) = fixtureValue(i) for i in [start, start + count), one awaited write
 * (one WAL record) at a time, durability 'always'; the first `big` of them get ~1 KiB
 * values. After `checkpointAt` writes (-1 = never) it runs a checkpoint. Then it prints
 * 'done' and waits to be killed, so the directory is left as a crash leaves it: no
 * checkpoint at close.
 */
import { open } from '../../ts/index.js';
import { fixtureKey, fixtureValue } from '../fixtures.js';
import type { EngineName } from '../helpers.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, startArg, countArg, bigArg, checkpointArg] = process.argv.slice(2) as [string, EngineName, string, string, string, string];
const [start, count, big, checkpointAt] = [startArg, countArg, bigArg, checkpointArg].map(Number) as [number, number, number, number];

const db = await open({ dir, engine, durability: 'always', walSegmentBytes: 64 * 1024, checkpointWalBytes: 0, onLog: () => undefined });
for (let n = 0; n < count; n++) {
  if (n === checkpointAt) await db.checkpoint();
  const i = start + n;
  await db.put(fixtureKey(i), fixtureValue(i, n < big));
}
exitWithParent();
process.stdout.write('done\n');
