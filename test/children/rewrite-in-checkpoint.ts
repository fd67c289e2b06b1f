/**
 * Child for the checkpoint-under-interval/none crash test: argv = dir engine durability.
 * Writes k = v1 and checkpoints (so k = v1 is in a snapshot), then starts a second
 * checkpoint and, once its redo LSN is taken, rewrites k = v2: the copy skips k (its
 * version is >= redo) and counts on replay from redo to restore it. Prints {t:'ready'}
 * when that checkpoint has finished, and waits to be SIGKILLed. intervalMs is a minute,
 * so under `interval` nothing but the checkpoint itself can make the js engine write v2
 * before the kill. The js engine takes redo synchronously in checkpoint(), so there the
 * order is certain; the native one takes it on a worker thread, so v2 may land before it.
 */
import { type Durability, open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, durability] = process.argv.slice(2) as [string, EngineName, Durability];
const db = await open({ dir, engine, durability, intervalMs: 60_000, checkpointWalBytes: 0, onLog: () => undefined });
await db.put('k', 'v1');
await db.checkpoint();
const second = db.checkpoint();
await db.put('k', 'v2');
const { redoLsn } = await second;
exitWithParent();
emit({ t: 'ready', redo: String(redoLsn), v2: String(db.getEntry('k')!.version) });
