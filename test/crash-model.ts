/**
 * The checker behind every process-kill test (test/crash.test.ts, the torture run in
 * test/torture/torture.ts): a child writes and prints what it submits and what was
 * acknowledged (protocol in test/children/crash-writer.ts), is SIGKILLed, and the
 * recovered directory is compared with that record.
 *
 * Submission order is LSN order, so op i of a round carries version `next + i`. An op's
 * effect on its keys: a put sets the value (and its expiry), a delete or a put whose TTL
 * has run out by the time of the check removes the key.
 */
import { open } from '../ts/index.js';
import { sleep, startChild } from './proc.js';

export interface Entry {
  v: string;
  ver: bigint;
  /** expiresAt in ms, 0 = never. */
  exp: number;
}
export type State = Map<string, Entry>;

export interface Op {
  i: number;
  op: 'put' | 'del' | 'incr' | 'batch';
  k?: string;
  v?: string;
  tag?: string;
  kv?: Array<[string, string]>;
  /** put: the key expires so soon that it is gone by the time of any check. */
  short?: boolean;
  /** put: the expiresAt the child asked for (a long TTL); checked exactly after recovery. */
  exp?: number;
}
export interface Ack {
  i: number;
  ver?: string;
  r?: string;
  d?: boolean;
}
export interface Round {
  n: number;
  engine: string;
  mode: string;
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

export function apply(s: State, op: Op, lsn: bigint): void {
  if (op.op === 'del' || (op.op === 'put' && op.short)) s.delete(op.k!);
  else if (op.op === 'batch') for (const [k, v] of op.kv!) s.set(k, { v, ver: lsn, exp: 0 });
  else s.set(op.k!, { v: op.v!, ver: lsn, exp: op.exp ?? 0 });
}

/** Keys an op writes, with the value each holds afterwards (undefined = absent). */
export function effects(op: Op): Array<[string, string | undefined]> {
  if (op.op === 'batch') return op.kv!;
  return [[op.k!, op.op === 'del' || op.short ? undefined : op.v!]];
}

export function sameState(a: State, b: State): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of a) {
    const o = b.get(k);
    if (!o || o.v !== e.v || o.ver !== e.ver || o.exp !== e.exp) return false;
  }
  return true;
}

/** The first few problems: enough to debug, short enough to read. */
export const first = (problems: string[]): string[] => problems.slice(0, 20);

export const lastAcked = (r: Round): number => Math.max(-1, ...r.acks.keys());

/** The prefix length p (acked ops included) whose state equals the recovered one, or -1. */
export function matchingPrefix(r: Round): number {
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
export function lostAcked(r: Round): string[] {
  const perKey = new Map<string, Array<[number, string | undefined]>>();
  for (const op of r.ops) for (const [k, v] of effects(op)) (perKey.get(k) ?? perKey.set(k, []).get(k)!).push([op.i, v]);
  const problems: string[] = [];
  for (const [k, writes] of perKey) {
    const acked = writes.filter(([i]) => r.acks.has(i)).pop();
    const from = acked ? writes.indexOf(acked) : -1;
    const allowed = new Set<string | undefined>(writes.slice(Math.max(0, from)).map(([, v]) => v));
    if (!acked) allowed.add(r.before.get(k)?.v);
    const got = r.after.get(k)?.v;
    if (!allowed.has(got)) problems.push(`round ${r.n} [${r.engine}] key ${k}: got ${String(got).slice(0, 40)}, acked op ${acked?.[0] ?? 'none'}`);
  }
  return problems;
}

/** Batches with some but not all of their keys recovered (batch keys are never rewritten). */
export function halfBatches(r: Round): string[] {
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

export function versionProblems(r: Round, prev: Round | undefined): string[] {
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

/** Opens dir, reads every entry, writes one key of its own and closes. */
export async function readAll(dir: string, engine: string): Promise<{ state: State; parentKey: string; parentNext: bigint }> {
  const db = await open({ dir, engine: engine as 'js', durability: 'always', onLog: () => undefined });
  try {
    const state: State = new Map();
    for (const [k] of db.scan()) {
      const e = db.getEntry(k)!;
      state.set(k.toString(), { v: e.value.toString(), ver: e.version, exp: e.expiresAt ?? 0 });
    }
    const parentKey = `p:${state.size}:${Date.now()}`;
    const { version } = await db.put(parentKey, 'written after recovery');
    state.set(parentKey, { v: 'written after recovery', ver: version, exp: 0 });
    return { state, parentKey, parentNext: db.stats().nextLsn };
  } finally {
    await db.close();
  }
}

export interface RoundSpec {
  child: string;
  dir: string;
  engine: string;
  n: number;
  mode: string;
  seed: number;
  before: State;
  /** How long the child writes before SIGKILL. */
  killAfterMs: number;
}

/** Runs one child to its SIGKILL, then recovers the directory and records both sides. */
export async function crashRound(spec: RoundSpec): Promise<Round> {
  const { child: name, dir, engine, n, mode, seed, before } = spec;
  const child = startChild(name, [dir, engine, String(n), mode, String(seed >>> 0)]);
  const ready = JSON.parse(await child.waitFor((l) => l.startsWith('{"t":"ready"'))) as { next: string };
  await sleep(spec.killAfterMs);
  const { signal } = await child.kill();
  const r: Round = {
    n, engine, mode, next: BigInt(ready.next), ops: [], acks: new Map(), errors: [], before, after: new Map(),
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
