/**
 * The tail both crash children share: say ready (with the next LSN), then run `lanes`
 * concurrent loops of `one` write each, plus, in checkpoint mode, checkpoints back to back,
 * until SIGKILL (or the parent's death: exitWithParent).
 *
 * Under `interval` and `none` a write resolves at once, so a lane that only awaits its
 * writes never leaves the microtask queue: the event loop turns only when the store's
 * backpressure makes a write wait (8192 records ahead of the WAL writer). `paced` lanes
 * yield to the event loop after every write instead, as a server's requests do (each is its
 * own I/O callback); the js engine's WAL timer and writes need those turns, the native
 * flusher thread does not. The crash checker tests a time bound on lost writes only where
 * the docs promise one (README, "Durability").
 *
 * `reportSyncs`: every 20 ms, a line {t:'f', ms} with an upper bound of the longest
 * fdatasync so far (the top of the highest non-empty stats bucket), when it grew.
 */
import type { Store } from '../../ts/index.js';
import { FSYNC_BOUNDS_MICROS } from '../../ts/engine/types.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

export interface LaneOptions {
  lanes: number;
  checkpointLoop: boolean;
  next: bigint;
  paced?: boolean;
  reportSyncs?: boolean;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The top of the highest non-empty fsync bucket, ms (twice the last bound for the overflow bucket). */
function longestSyncMs(db: Store): number {
  const b = db.stats().fsyncBuckets;
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! > 0) return (FSYNC_BOUNDS_MICROS[i] ?? 2 * FSYNC_BOUNDS_MICROS[FSYNC_BOUNDS_MICROS.length - 1]!) / 1000;
  }
  return 0;
}

export function runLanes(db: Store, one: () => Promise<void>, o: LaneOptions): void {
  const lane = async (): Promise<void> => {
    for (;;) {
      await one();
      if (o.paced) await turn();
    }
  };
  const checkpoints = async (): Promise<void> => {
    for (;;) {
      emit({ t: 'cs' });
      const { redoLsn } = await db.checkpoint();
      emit({ t: 'cd', redo: String(redoLsn) });
    }
  };
  exitWithParent();
  emit({ t: 'ready', next: String(o.next) });
  if (o.reportSyncs) {
    let reported = 0;
    setInterval(() => {
      const ms = longestSyncMs(db);
      if (ms > reported) emit({ t: 'f', ms: (reported = ms) });
    }, 20);
  }
  for (let l = 0; l < o.lanes; l++) void lane();
  if (o.checkpointLoop) void checkpoints();
}
