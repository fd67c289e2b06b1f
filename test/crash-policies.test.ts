/**
 * Crash recovery under `durability: 'interval'` and `'none'`, with real processes: the
 * crash-writer child writes as in test/crash.test.ts, stamping every acknowledgement with
 * a monotonic time, and is SIGKILLed at a random moment. These policies acknowledge a
 * write before it is synced, so acknowledged writes may be lost; what must hold:
 * - every round: the directory reopens (nothing corrupt), the recovered state is exactly
 *   the state after a prefix of the submitted writes (so per lane too: no value never
 *   written, no write kept while an earlier one is lost), batches whole or absent, versions
 *   in LSN order and growing across rounds;
 * - the loss bound the README states for a process crash: a lost acknowledged write was
 *   acknowledged within the window (intervalMs under `interval`; the native flusher's 10 ms
 *   write period under `none`) + the longest fdatasync measured in the round + 50 ms of
 *   slack (crash-model.ts, LOSS_SLACK_MS) before the child's last acknowledgement. It is
 *   checked on paced rounds (lanes yield to the event loop after each write, as a server's
 *   requests do) for both engines and on busy rounds (lanes that never yield) for native;
 *   the js engine writes the WAL from the JS thread, so in a busy round only the count
 *   bound holds: at most 8192 acknowledged writes lost. Rounds with checkpoints back to
 *   back check the count bound only (crash-model.ts, timeBoundApplies, says why).
 * What this cannot show: a kill leaves the page cache, so everything the store handed to
 * the kernel survives; the power-loss window (up to intervalMs + a sync under `interval`,
 * whatever the OS had not written back under `none`) needs a machine crash.
 * KVSTORE_CRASH_POLICY_ROUNDS (default 4) sets the rounds per engine and policy;
 * KVSTORE_CRASH_SEED replays.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  crashRound, first, halfBatches, lossBoundProblems, losses, readAll, recoveredPrefix, type Round, type State,
  timeBoundApplies, versionProblems,
} from './crash-model.js';
import { ENGINES, tempDir } from './helpers.js';
import { startChild } from './proc.js';

const ROUNDS = Math.max(4, Number(process.env.KVSTORE_CRASH_POLICY_ROUNDS ?? 4));
const SEED = Number(process.env.KVSTORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Short, so that most kills (150–450 ms in) find acknowledged writes older than the allowance. */
const INTERVAL_MS = 40;
/** Rounds cycle through: paced mixed, busy mixed, paced with checkpoints back to back, paced mixed. */
const isPaced = (n: number): boolean => n % 4 !== 1;
const isCheckpointRound = (n: number): boolean => n % 4 === 2;

for (const engine of ENGINES) {
  for (const durability of ['interval', 'none'] as const) {
    const test = suite(`crash recovery under durability ${durability} [${engine}]`);
    const rounds: Round[] = [];

    test.before(async () => {
      const dir = tempDir(`crash-${durability}`);
      let state: State = new Map();
      for (let n = 0; n < ROUNDS; n++) {
        const r = await crashRound({
          child: 'crash-writer', dir, engine, n, mode: isCheckpointRound(n) ? 'checkpoint' : 'mixed',
          seed: SEED + n * 7919, before: state, killAfterMs: 150 + Math.floor(Math.random() * 300),
          durability, intervalMs: INTERVAL_MS, paced: isPaced(n),
        });
        rounds.push(r);
        if (r.openError) break;
        state = r.carried!;
      }
      const acked = rounds.reduce((s, r) => s + r.acks.size, 0);
      const lost = rounds.reduce((s, r) => s + losses(r).lost.length, 0);
      const sync = Math.max(...rounds.map((r) => r.syncMs));
      console.log(`  [${engine}/${durability}] ${rounds.length} rounds, seed ${SEED}, ${acked} acknowledged writes, ` +
        `${lost} of them lost, longest sync ${sync.toFixed(1)} ms`);
    });

    test('the directory reopens after every SIGKILL and the child saw no write fail', () => {
      assert.equal(rounds.filter((r) => r.openError).map((r) => `round ${r.n}: ${r.openError}`), []);
      assert.equal(rounds.flatMap((r) => r.errors.map((e) => `round ${r.n}: ${e}`)), []);
      assert.is(rounds.length, ROUNDS);
      assert.ok(rounds.every((r) => r.killedBy === 'SIGKILL'), 'every child died of SIGKILL');
    });

    test('the recovered state is exactly the state after a prefix of the submitted writes', () => {
      assert.ok(rounds.some((r) => r.acks.size > 0), 'some writes were acknowledged');
      const bad = rounds.filter((r) => recoveredPrefix(r) < 0);
      assert.equal(bad.map((r) => `round ${r.n} (${r.ops.length} submitted, ${r.acks.size} acked)`), []);
    });

    test('a batch is recovered whole or not at all', () => {
      assert.ok(rounds.some((r) => r.ops.some((o) => o.op === 'batch' && r.acks.has(o.i))), 'some batches were acknowledged');
      assert.equal(first(rounds.flatMap(halfBatches)), []);
    });

    test('acknowledged versions follow submission order and versions only grow across rounds', () => {
      assert.equal(first(rounds.flatMap((r, j) => versionProblems(r, rounds[j - 1]))), []);
    });

    test('a lost acknowledged write is no older than the window + the longest sync + slack', () => {
      const tested = rounds.filter(timeBoundApplies);
      assert.ok(tested.length >= ROUNDS / 2, 'the time bound applies to at least the paced mixed rounds');
      assert.ok(tested.some((r) => losses(r).checked > 0), 'some acknowledged writes were older than the allowance at the kill');
      assert.equal(first(rounds.flatMap(lossBoundProblems)), []);
    });

    test('a write made after recovery is there after the next crash', () => {
      const missing = rounds.slice(1).filter((r, j) => !r.openError && !r.after.has(rounds[j]!.parentKey!));
      assert.ok(rounds.length > 1, 'more than one round ran');
      assert.equal(missing.map((r) => `round ${r.n}`), []);
    });

    test.run();
  }
}

for (const engine of ENGINES) {
  const test = suite(`checkpoints under interval and none [${engine}]`);

  for (const durability of ['interval', 'none'] as const) {
    test(`${durability}: a key rewritten while a checkpoint copies keeps its old or new value through SIGKILL`, async () => {
      const dir = tempDir(`ckpt-${durability}`);
      const child = startChild('rewrite-in-checkpoint', [dir, engine, durability]);
      const ready = JSON.parse(await child.waitFor((l) => l.startsWith('{"t":"ready"'))) as { redo: string; v2: string };
      await child.kill();
      const { state } = await readAll(dir, engine);
      assert.ok(['v1', 'v2'].includes(state.get('k')?.v as string), `k recovered as ${state.get('k')?.v} (redo ${ready.redo}, v2 at ${ready.v2})`);
    });
  }

  test.run();
}
