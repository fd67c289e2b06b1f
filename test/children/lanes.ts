/**
 * The tail both crash children share: say ready (with the next LSN), then run `lanes`
 * concurrent loops of `one` write each, plus, in checkpoint mode, checkpoints back to back,
 * until SIGKILL (or the parent's death: exitWithParent).
 */
import type { Store } from '../../ts/index.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

export function runLanes(db: Store, one: () => Promise<void>, lanes: number, checkpointLoop: boolean, next: bigint): void {
  const lane = async (): Promise<void> => {
    for (;;) await one();
  };
  const checkpoints = async (): Promise<void> => {
    for (;;) {
      emit({ t: 'cs' });
      const { redoLsn } = await db.checkpoint();
      emit({ t: 'cd', redo: String(redoLsn) });
    }
  };
  exitWithParent();
  emit({ t: 'ready', next: String(next) });
  for (let l = 0; l < lanes; l++) void lane();
  if (checkpointLoop) void checkpoints();
}
