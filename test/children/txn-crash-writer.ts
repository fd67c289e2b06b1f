/**
 * Crash child for test/txn.test.ts: argv = dir engine. Runs transactions until SIGKILLed,
 * 4 in flight, each: compare x/0's version with the one read, success → put x/0..x/19 all
 * to the round number (values 0..6 KiB, so records cross 64 KiB segment boundaries) and
 * incr `n`; failure → get x/0. Prints {t:'s', r} before submitting round r and {t:'a', r}
 * once its txn resolved with succeeded = true (synchronously: emit.ts).
 */
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

exitWithParent();
const [dir, engine] = process.argv.slice(2) as [string, EngineName];
const db = await open({ dir, engine, durability: 'always', walSegmentBytes: 64 * 1024, checkpointWalBytes: 256 * 1024, onLog: () => undefined });
let round = Number(db.get('x/0')?.toString('latin1').split(':')[0] ?? '0');
emit({ t: 'ready', round });
const lane = async (): Promise<void> => {
  for (;;) {
    const cur = db.getEntry('x/0');
    const r = ++round;
    const pad = 'p'.repeat((r * 977) % 6000);
    emit({ t: 's', r });
    const res = await db.txn({
      compare: [{ key: 'x/0', op: '=', version: cur?.version ?? 0n }],
      success: [...Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `x/${i}`, value: `${r}:${pad}` })), { type: 'incr', key: 'n' }],
      failure: [{ type: 'get', key: 'x/0' }],
    });
    if (res.succeeded) emit({ t: 'a', r });
  }
};
await Promise.all([lane(), lane(), lane(), lane()]);
