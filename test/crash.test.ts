/**
 * Crash recovery with real processes: a child (test/children/crash-writer.ts) writes a
 * random mix with up to 16 writes in flight under durability 'always' and is SIGKILLed at
 * a random moment; this process reopens the directory and checks what survived against
 * what the child acknowledged and submitted. Rounds accumulate on one directory.
 * KVSTORE_CRASH_ROUNDS (default 30) sets the rounds per engine; KVSTORE_CRASH_SEED replays.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { ENGINES, tempDir } from './helpers.js';
import { sleep, startChild } from './proc.js';

const ROUNDS = Math.max(2, Number(process.env.KVSTORE_CRASH_ROUNDS ?? 30));
const SEED = Number(process.env.KVSTORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Rounds 1, 6, 11, … run checkpoints back to back in the child, so kills land mid-checkpoint. */
const isCheckpointRound = (n: number): boolean => n % 5 === 1;

type State = Map<string, { v: string; ver: bigint }>;
interface Op {
  i: number;
  op: 'put' | 'del' | 'incr' | 'batch';
  k?: string;
  v?: string;
  tag?: string;
  kv?: Array<[string, string]>;
}
interface Ack {
  i: number;
  ver?: string;
  r?: string;
  d?: boolean;
}
interface Round {
  n: number;
  mode: 'mixed' | 'checkpoint';
  next: bigint;
  ops: Op[];
  acks: Map<number, Ack>;
  errors: string[];
  before: State;
  after: State;
  /** The child's last checkpoint event was a start: killed mid-checkpoint. */
  midCheckpoint: boolean;
  killedBy: string | null;
  openError?: string;
  /** The parent's own write after recovery, and the next LSN when it closed. */
  parentKey?: string;
  parentNext?: bigint;
  /** The state the next round starts from: recovered plus the parent's write. */
  carried?: State;
}

function apply(s: State, op: Op, lsn: bigint): void {
  if (op.op === 'del') s.delete(op.k!);
  else if (op.op === 'batch') for (const [k, v] of op.kv!) s.set(k, { v, ver: lsn });
  else s.set(op.k!, { v: op.v!, ver: lsn });
}

/** Keys an op writes, with the value each holds afterwards (undefined = deleted). */
function effects(op: Op): Array<[string, string | undefined]> {
  if (op.op === 'batch') return op.kv!;
  return [[op.k!, op.op === 'del' ? undefined : op.v!]];
}

function sameState(a: State, b: State): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of a) {
    const o = b.get(k);
    if (!o || o.v !== e.v || o.ver !== e.ver) return false;
  }
  return true;
}

/** The first few problems: enough to debug, short enough to read. */
const first = (problems: string[]): string[] => problems.slice(0, 20);

const lastAcked = (r: Round): number => Math.max(-1, ...r.acks.keys());

/** The prefix length p (acked ops included) whose state equals the recovered one, or -1. */
function matchingPrefix(r: Round): number {
  const s: State = new Map(r.before);
  const a = lastAcked(r);
  for (let j = 0; j <= a; j++) apply(s, r.ops[j]!, r.next + BigInt(j));
  for (let p = a + 1; ; p++) {
    if (sameState(s, r.after)) return p;
    if (p >= r.ops.length) return -1;
    apply(s, r.ops[p]!, r.next + BigInt(p));
  }
}

/** Keys whose recovered value is neither their last acked write nor a later submitted one. */
function lostAcked(r: Round): string[] {
  const perKey = new Map<string, Array<[number, string | undefined]>>();
  for (const op of r.ops) for (const [k, v] of effects(op)) (perKey.get(k) ?? perKey.set(k, []).get(k)!).push([op.i, v]);
  const problems: string[] = [];
  for (const [k, writes] of perKey) {
    const acked = writes.filter(([i]) => r.acks.has(i)).pop();
    const from = acked ? writes.indexOf(acked) : -1;
    const allowed = new Set<string | undefined>(writes.slice(Math.max(0, from)).map(([, v]) => v));
    if (!acked) allowed.add(r.before.get(k)?.v);
    const got = r.after.get(k)?.v;
    if (!allowed.has(got)) problems.push(`round ${r.n} key ${k}: got ${String(got).slice(0, 40)}, acked op ${acked?.[0] ?? 'none'}`);
  }
  return problems;
}

/** Batches with some but not all of their keys recovered (batch keys are never rewritten). */
function halfBatches(r: Round): string[] {
  const out: string[] = [];
  for (const op of r.ops) {
    if (op.op !== 'batch') continue;
    const present = op.kv!.filter(([k, v]) => r.after.get(k)?.v === v).length;
    if ((present !== 0 && present !== op.kv!.length) || (r.acks.has(op.i) && present === 0)) {
      out.push(`round ${r.n} batch ${op.tag}: ${present}/${op.kv!.length} keys${r.acks.has(op.i) ? ' (acked)' : ''}`);
    }
  }
  return out;
}

function versionProblems(r: Round, prev: Round | undefined): string[] {
  const out: string[] = [];
  for (const [i, a] of r.acks) {
    if (a.ver !== undefined && BigInt(a.ver) !== r.next + BigInt(i)) out.push(`round ${r.n} op ${i}: acked version ${a.ver}, LSN order says ${r.next + BigInt(i)}`);
  }
  if (prev?.parentNext !== undefined && r.next < prev.parentNext) out.push(`round ${r.n} starts at LSN ${r.next} < ${prev.parentNext}`);
  for (const [k, e] of r.after) {
    const old = r.before.get(k);
    if (old && e.ver < old.ver) out.push(`round ${r.n} key ${k}: version went back from ${old.ver} to ${e.ver}`);
    if (e.ver >= r.next + BigInt(r.ops.length)) out.push(`round ${r.n} key ${k}: version ${e.ver} was never assigned`);
  }
  return out;
}

async function readAll(dir: string, engine: string): Promise<{ state: State; parentKey: string; parentNext: bigint }> {
  const db = await open({ dir, engine: engine as 'js', durability: 'always', onLog: () => undefined });
  try {
    const state: State = new Map();
    for (const [k] of db.scan()) {
      const e = db.getEntry(k)!;
      state.set(k.toString(), { v: e.value.toString(), ver: e.version });
    }
    const parentKey = `p:${state.size}:${Date.now()}`;
    const { version } = await db.put(parentKey, 'written after recovery');
    state.set(parentKey, { v: 'written after recovery', ver: version });
    return { state, parentKey, parentNext: db.stats().nextLsn };
  } finally {
    await db.close();
  }
}

async function crashRound(dir: string, engine: string, n: number, before: State): Promise<Round> {
  const mode = isCheckpointRound(n) ? 'checkpoint' : 'mixed';
  const child = startChild('crash-writer', [dir, engine, String(n), mode, String((SEED + n * 7919) >>> 0)]);
  const ready = JSON.parse(await child.waitFor((l) => l.startsWith('{"t":"ready"'))) as { next: string };
  await sleep(50 + Math.floor(Math.random() * 350));
  const { signal } = await child.kill();
  const r: Round = {
    n, mode, next: BigInt(ready.next), ops: [], acks: new Map(), errors: [], before, after: new Map(),
    midCheckpoint: false, killedBy: signal,
  };
  for (const line of child.lines()) {
    const ev = JSON.parse(line) as { t: string; i: number; code?: string };
    if (ev.t === 's') r.ops.push(ev as unknown as Op);
    else if (ev.t === 'a') r.acks.set(ev.i, ev as Ack);
    else if (ev.t === 'e') r.errors.push(`op ${ev.i}: ${ev.code}`);
    else if (ev.t === 'cs') r.midCheckpoint = true;
    else if (ev.t === 'cd') r.midCheckpoint = false;
  }
  r.ops.forEach((op, j) => op.i !== j && r.errors.push(`submit line ${j} carries index ${op.i}`));
  try {
    const got = await readAll(dir, engine);
    r.after = new Map(got.state);
    r.after.delete(got.parentKey);
    Object.assign(r, { parentKey: got.parentKey, parentNext: got.parentNext, carried: got.state });
  } catch (err) {
    r.openError = `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
  return r;
}

for (const engine of ENGINES) {
  const test = suite(`crash recovery [${engine}]`);
  const rounds: Round[] = [];

  test.before(async () => {
    const dir = tempDir('crash');
    let state: State = new Map();
    for (let n = 0; n < ROUNDS; n++) {
      const r = await crashRound(dir, engine, n, state);
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
