/**
 * What test/teardown.test.ts and its runner child (teardown-runner.ts) exchange: the
 * runner's configuration (argv[2], JSON) and its report of each round (one JSON line).
 */
import type { EngineName } from '../helpers.js';

/** The points of a store's life at which a worker gets terminated (teardown-worker.ts). */
export const PHASES = ['open', 'write', 'scan', 'checkpoint', 'close'] as const;
export type Phase = (typeof PHASES)[number];

export interface RunnerConfig {
  engine: EngineName;
  /** At most this many rounds... */
  rounds: number;
  /** ...and no new round after this many ms. */
  budgetMs: number;
  phases: Phase[];
  /** Each round's delay is drawn from [0, delayMaxMs]. */
  delayMaxMs: number;
  /** Native only: every other round shares the engine with this thread. */
  shared: boolean;
  seed: number;
}

export interface RoundReport {
  round: number;
  phase: Phase;
  delayMs: number;
  shared: boolean;
  dir: string;
  exitCode: number | null;
  seen: string[];
  errors: string[];
  acked: Array<[string, string]>;
  hostAcked: Array<[string, string]>;
  lockedAfterExit: boolean;
  missing: number;
}
