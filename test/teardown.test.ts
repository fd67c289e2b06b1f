/**
 * worker.terminate() at any point of a store's life (issue 13, item 5). Worker pools
 * terminate workers routinely; a worker terminated while its close() ran used to take
 * the whole process down (the addon threw a C++ exception out of a callback:
 * std::terminate, SIGABRT). Each scenario runs in a child process (children/
 * teardown-runner.ts) so that this process survives to read its exit status; then every
 * data directory is reopened here and must hold every write the worker saw acknowledged.
 *
 * Bounded: KVSTORE_TEARDOWN_ROUNDS rounds (default 24) or KVSTORE_TEARDOWN_MS ms
 * (default 5000) per engine, whichever ends first; KVSTORE_TEARDOWN_SEED replays a run.
 */
import fs from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { PHASES, type RoundReport, type RunnerConfig } from './children/teardown-protocol.js';
import { ENGINES } from './helpers.js';
import { startChild } from './proc.js';

const ROUNDS = Number(process.env.KVSTORE_TEARDOWN_ROUNDS ?? 24);
const BUDGET_MS = Number(process.env.KVSTORE_TEARDOWN_MS ?? 5000);
const SEED = Number(process.env.KVSTORE_TEARDOWN_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  rounds: RoundReport[];
  done: number | undefined;
  stderr: string;
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs the runner child to its end (killed after budget + 60 s) and parses its report. */
async function run(cfg: RunnerConfig): Promise<RunResult> {
  const c = startChild('teardown-runner', [JSON.stringify(cfg)]);
  const timer = setTimeout(() => void c.kill(), cfg.budgetMs + 60_000);
  const { code, signal } = await c.exited;
  clearTimeout(timer);
  const rounds: RoundReport[] = [];
  let done: number | undefined;
  for (const line of c.lines()) {
    const o = JSON.parse(line) as RoundReport | { done: number };
    if ('done' in o) done = o.done;
    else rounds.push(o);
  }
  dirs.push(...rounds.map((r) => r.dir));
  return { code, signal, rounds, done, stderr: c.stderr() };
}

/** The process survived and reported every round it started. */
function assertSurvived(r: RunResult, cfg: RunnerConfig): void {
  const last = r.rounds.at(-1);
  const where = last ? `after round ${last.round} (phase ${last.phase}, delay ${last.delayMs} ms)` : 'before any round';
  assert.equal(
    { code: r.code, signal: r.signal },
    { code: 0, signal: null },
    `runner died ${where}, seed ${cfg.seed}; stderr: ${r.stderr.slice(-1500)}`,
  );
  assert.ok(r.rounds.length > 0);
  assert.is(r.done, r.rounds.length);
}

/** Per round: no worker error, the engine reference given back, nothing acknowledged lost. */
function assertRoundsClean(r: RunResult, cfg: RunnerConfig): void {
  for (const x of r.rounds) {
    const tag = `round ${x.round} (${cfg.engine}, phase ${x.phase}, delay ${x.delayMs} ms, shared ${x.shared}, seed ${cfg.seed})`;
    assert.equal(x.errors, [], tag);
    assert.ok(x.exitCode === 0 || x.exitCode === 1, `${tag}: worker exit code ${x.exitCode}`);
    assert.is(x.lockedAfterExit, false, `${tag}: the dead worker's engine is still referenced`);
    assert.is(x.missing, 0, `${tag}: acknowledged writes missing after the worker's exit`);
  }
}

/** Every directory opens again here (a new process) and holds every acknowledged write. */
async function assertReopenClean(r: RunResult, cfg: RunnerConfig): Promise<void> {
  for (const x of r.rounds) {
    const tag = `round ${x.round} (${cfg.engine}, phase ${x.phase}, delay ${x.delayMs} ms, seed ${cfg.seed})`;
    const db = await open({ dir: x.dir, engine: cfg.engine, onLog: () => undefined });
    const lost = [...x.acked, ...x.hostAcked].filter(([k, v]) => db.get(k)?.toString() !== v).map(([k]) => k);
    await db.close();
    assert.equal(lost, [], `${tag}: acknowledged writes lost`);
  }
}

if (ENGINES.includes('native')) {
  const test = suite('worker.terminate() during close() [native]');

  test('a worker terminated as its close() starts does not take the process down, 8 times in a row', async () => {
    const cfg: RunnerConfig = { engine: 'native', rounds: 8, budgetMs: 60_000, phases: ['close'], delayMaxMs: 0, shared: false, seed: SEED };
    const r = await run(cfg);
    assertSurvived(r, cfg);
    assert.is(r.rounds.length, 8);
    assertRoundsClean(r, cfg);
    await assertReopenClean(r, cfg);
  });

  test.run();
}

for (const engine of ENGINES) {
  const test = suite(`worker.terminate() at random points of open/write/scan/checkpoint/close [${engine}]`);

  test(`up to ${ROUNDS} workers terminated: the process survives, each directory reopens with every acknowledged write`, async () => {
    const cfg: RunnerConfig = { engine, rounds: ROUNDS, budgetMs: BUDGET_MS, phases: [...PHASES], delayMaxMs: 4, shared: true, seed: SEED };
    const r = await run(cfg);
    assertSurvived(r, cfg);
    assertRoundsClean(r, cfg);
    await assertReopenClean(r, cfg);
    console.log(`  teardown [${engine}]: ${r.rounds.length} rounds, seed ${SEED}, phases hit: ${r.rounds.map((x) => `${x.phase}+${x.delayMs}`).join(' ')}`);
  });

  test.run();
}
