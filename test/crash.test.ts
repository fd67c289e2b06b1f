/**
 * Crash recovery with real processes: a child (test/children/crash-writer.ts) writes a
 * random mix with up to 16 writes in flight under durability 'always' and is SIGKILLed at
 * a random moment; this process reopens the directory and checks what survived against
 * what the child acknowledged and submitted. Rounds accumulate on one directory.
 * KVSTORE_CRASH_ROUNDS (default 30) sets the rounds per engine; KVSTORE_CRASH_SEED replays.
 * The checker lives in test/crash-model.ts (shared with the torture run, scripts/torture.mjs).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  crashRound, first, halfBatches, lastAcked, lostAcked, matchingPrefix, type Round, type State, versionProblems,
} from './crash-model.js';
import { ENGINES, tempDir } from './helpers.js';

const ROUNDS = Math.max(2, Number(process.env.KVSTORE_CRASH_ROUNDS ?? 30));
const SEED = Number(process.env.KVSTORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Rounds 1, 6, 11, … run checkpoints back to back in the child, so kills land mid-checkpoint. */
const isCheckpointRound = (n: number): boolean => n % 5 === 1;

for (const engine of ENGINES) {
  const test = suite(`crash recovery [${engine}]`);
  const rounds: Round[] = [];

  test.before(async () => {
    const dir = tempDir('crash');
    let state: State = new Map();
    for (let n = 0; n < ROUNDS; n++) {
      const r = await crashRound({
        child: 'crash-writer', dir, engine, n, mode: isCheckpointRound(n) ? 'checkpoint' : 'mixed',
        seed: SEED + n * 7919, before: state, killAfterMs: 50 + Math.floor(Math.random() * 350),
      });
      rounds.push(r);
      if (r.openError) break;
      state = r.carried!;
    }
    const acked = rounds.reduce((s, r) => s + r.acks.size, 0);
    console.log(`  [${engine}] ${rounds.length} rounds, seed ${SEED}, ${acked} acknowledged writes`);
  });

  test('the directory reopens after every SIGKILL and the child saw no write fail', () => {
    assert.equal(rounds.filter((r) => r.openError).map((r) => `round ${r.n}: ${r.openError}`), []);
    assert.equal(rounds.flatMap((r) => r.errors.map((e) => `round ${r.n}: ${e}`)), []);
    assert.is(rounds.length, ROUNDS);
    assert.ok(rounds.every((r) => r.killedBy === 'SIGKILL'), 'every child died of SIGKILL');
  });

  test('every acknowledged write survives SIGKILL (or a later submitted write to its key)', () => {
    assert.ok(rounds.some((r) => r.acks.size > 0), 'some writes were acknowledged');
    assert.equal(first(rounds.flatMap(lostAcked)), []);
  });

  test('a batch is recovered whole or not at all', () => {
    assert.ok(rounds.some((r) => r.ops.some((o) => o.op === 'batch' && r.acks.has(o.i))), 'some batches were acknowledged');
    assert.equal(first(rounds.flatMap(halfBatches)), []);
  });

  test('the recovered state is exactly the state after a prefix of the submitted writes', () => {
    const bad = rounds.filter((r) => !r.openError && matchingPrefix(r) < 0);
    assert.equal(bad.map((r) => `round ${r.n} (${r.ops.length} submitted, last acked ${lastAcked(r)})`), []);
  });

  test('acknowledged versions follow submission order and versions only grow across rounds', () => {
    assert.equal(first(rounds.flatMap((r, j) => versionProblems(r, rounds[j - 1]))), []);
  });

  test('a write made after recovery is there after the next crash', () => {
    const missing = rounds.slice(1).filter((r, j) => !r.openError && !r.after.has(rounds[j]!.parentKey!));
    assert.ok(rounds.length > 1, 'more than one round ran');
    assert.equal(missing.map((r) => `round ${r.n}`), []);
  });

  test('a SIGKILL during a checkpoint loses no acknowledged write', () => {
    const mid = rounds.filter((r) => r.mode === 'checkpoint' && r.midCheckpoint);
    assert.ok(mid.length > 0, 'at least one child was killed while a checkpoint ran');
    assert.equal(first(mid.flatMap(lostAcked)), []);
    assert.equal(mid.filter((r) => matchingPrefix(r) < 0).map((r) => `round ${r.n}`), []);
  });

  test.run();
}
