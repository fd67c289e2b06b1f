/**
 * The checker behind every process-kill test (test/crash.test.ts, test/crash-policies.test.ts,
 * the torture run in test/torture/torture.ts): a child writes and prints what it submits
 * and what was acknowledged, and when (protocol in test/children/crash-writer.ts), is
 * SIGKILLed, and the recovered directory is compared with that record.
 *
 * Submission order is LSN order, so op i of a round carries version `next + i`. An op's
 * effect on its keys: a put sets the value (and its expiry), a delete or a put whose TTL
 * has run out by the time of the check removes the key.
 */
import fs from 'node:fs';
import { type Durability, open } from '../ts/index.js';
import { monoMs } from './children/emit.js';
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
  /** When the child saw the promise resolve: monotonic ms (children/emit.ts, monoMs). */
  ts: number;
}
export interface Round {
  n: number;
  engine: string;
  mode: string;
  durability: Durability;
  intervalMs: number;
  /** The child's lanes yielded to the event loop after every write (children/lanes.ts). */
  paced: boolean;
  /** Monotonic ms just after SIGKILL was sent. */
  killAt: number;
  /** Longest fdatasync seen during the round, ms: the child's stats and a probe of the parent's. */
  syncMs: number;
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

/**
 * The largest p such that the recovered state equals `before` plus the first p submitted
 * writes, or -1 if no prefix gives it. A prefix of the submission order (= LSN order) is a
 * prefix of every lane's own order too, so this is also the per-lane check. Keeps the set
 * of keys where the two states differ, so it costs O(state + writes), not their product.
 */
export function recoveredPrefix(r: Round): number {
  const s: State = new Map(r.before);
  const differs = new Set<string>();
  const check = (k: string): void => {
    const a = s.get(k);
    const b = r.after.get(k);
    if (a?.v === b?.v && a?.ver === b?.ver && a?.exp === b?.exp) differs.delete(k);
    else differs.add(k);
  };
  for (const k of s.keys()) check(k);
  for (const k of r.after.keys()) check(k);
  let best = -1;
  for (let p = 0; ; p++) {
    if (differs.size === 0) best = p;
    if (p >= r.ops.length) return best;
    const op = r.ops[p]!;
    apply(s, op, r.next + BigInt(p));
    for (const [k] of effects(op)) check(k);
  }
}

/** Under `always`: the recovered prefix, if it holds every acknowledged write; else -1. */
export function matchingPrefix(r: Round): number {
  const p = recoveredPrefix(r);
  return p > lastAcked(r) ? p : -1;
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

/**
 * Batches with some but not all of their keys recovered (batch keys are never rewritten),
 * and, under `always`, acknowledged batches with none.
 */
export function halfBatches(r: Round): string[] {
  const out: string[] = [];
  for (const op of r.ops) {
    if (op.op !== 'batch') continue;
    const present = op.kv!.filter(([k, v]) => r.after.get(k)?.v === v).length;
    const lostAckedBatch = r.durability === 'always' && r.acks.has(op.i) && present === 0;
    if ((present !== 0 && present !== op.kv!.length) || lostAckedBatch) {
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

/**
 * What a process kill may lose under `interval` and `none` (README, "Durability"). A kill
 * leaves the page cache alone, so a write is lost only if the store still held it in its
 * own memory; these bounds are about that, not about power loss, which no process-kill test
 * can show. The native flusher thread hands records to the kernel every
 * NATIVE_WRITE_PERIOD_MS and syncs every intervalMs; the js engine writes and syncs
 * intervalMs after a write under `interval`, and at once under `none`, but from the JS
 * thread, so only when the event loop turns.
 */
/** native/core/engine.cc, kWritePeriod. */
export const NATIVE_WRITE_PERIOD_MS = 10;
/** ts/store/store.ts, MAX_UNFLUSHED: a write resolves at once only this close to the WAL writer. */
export const MAX_UNFLUSHED = 8192;
/**
 * Added to every allowance: scheduling on a loaded 2-core machine (a child thread not run
 * for tens of ms), the event-loop turn before a timer or a write callback runs, and the
 * write() itself. Generous on purpose: the check is meant to catch writes held for many
 * intervals, not a few ms of jitter.
 */
export const LOSS_SLACK_MS = 50;

/** How long the store may hold an acknowledged write before the kernel has it, sync aside. */
export function lossWindowMs(r: Round): number {
  return r.durability === 'interval' ? r.intervalMs : NATIVE_WRITE_PERIOD_MS;
}

/**
 * A time bound applies: not `always` (nothing acked may be lost); a plain write mix (back
 * to back checkpoints or 64–384 KiB values switch WAL segments on nearly every writer
 * pass, two syncs each, so the writer falls behind by design and only the count bound
 * holds); and the JS thread was free or not needed.
 */
export const timeBoundApplies = (r: Round): boolean =>
  r.durability !== 'always' && r.mode === 'mixed' && (r.engine === 'native' || r.paced);

export interface Loss {
  /** Acknowledged writes not recovered (the round's recovered prefix is -1: none computed). */
  lost: Array<{ i: number; ageMs: number }>;
  /** window + longest sync + slack, ms. */
  allowanceMs: number;
  /** Acknowledged writes older than the allowance when the child stopped: what the bound was tested on. */
  checked: number;
}

/**
 * Ages are taken at the child's last acknowledgement, not at the kill: a child the machine
 * did not schedule in its last moments could not write then either, and the stall is
 * not the store's. Without acks the round tests nothing.
 */
export function losses(r: Round): Loss {
  const p = recoveredPrefix(r);
  let end = -Infinity;
  for (const a of r.acks.values()) end = Math.max(end, a.ts);
  end = Math.min(end, r.killAt);
  const allowanceMs = lossWindowMs(r) + r.syncMs + LOSS_SLACK_MS;
  const lost: Loss['lost'] = [];
  let checked = 0;
  for (const [i, a] of r.acks) {
    if (p >= 0 && i >= p) lost.push({ i, ageMs: end - a.ts });
    if (end - a.ts > allowanceMs) checked++;
  }
  return { lost, allowanceMs, checked };
}

/** Lost acknowledged writes older than the allowance, or more of them than MAX_UNFLUSHED. */
export function lossBoundProblems(r: Round): string[] {
  const { lost, allowanceMs } = losses(r);
  const out: string[] = [];
  const tag = `round ${r.n} [${r.engine}/${r.durability}/${r.mode}/${r.paced ? 'paced' : 'busy'}]`;
  if (lost.length > MAX_UNFLUSHED) out.push(`${tag}: ${lost.length} acknowledged writes lost, more than ${MAX_UNFLUSHED}`);
  if (timeBoundApplies(r)) {
    for (const l of lost) {
      if (l.ageMs > allowanceMs) out.push(`${tag} op ${l.i}: lost, acknowledged ${l.ageMs.toFixed(1)} ms before the end > ${allowanceMs.toFixed(1)} ms allowed`);
    }
  }
  return out;
}

/**
 * The longest fdatasync on the data directory's file system while it runs, ms: appends
 * 16 KiB and syncs, back to back, for `forMs` (at most 1000 times), then removes the file.
 * The child's own stats cannot see a sync still running when it is killed; this can.
 */
export async function probeSyncs(file: string, forMs: number): Promise<number> {
  const end = monoMs() + forMs;
  const block = Buffer.alloc(16384, 0x5a);
  let longest = 0;
  const fh = await fs.promises.open(file, 'a');
  try {
    for (let k = 0; k < 1000 && monoMs() < end; k++) {
      await fh.write(block);
      const t0 = monoMs();
      await fh.datasync();
      longest = Math.max(longest, monoMs() - t0);
    }
  } finally {
    await fh.close();
    await fs.promises.rm(file, { force: true });
  }
  return longest;
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
  /** Default 'always'. */
  durability?: Durability;
  /** Default 100 (the store's). */
  intervalMs?: number;
  /** Lanes yield to the event loop after each write (children/lanes.ts). Default false. */
  paced?: boolean;
}

/** Runs one child to its SIGKILL, then recovers the directory and records both sides. */
export async function crashRound(spec: RoundSpec): Promise<Round> {
  const { child: name, dir, engine, n, mode, seed, before } = spec;
  const durability = spec.durability ?? 'always';
  const intervalMs = spec.intervalMs ?? 100;
  const paced = spec.paced ?? false;
  const child = startChild(name, [dir, engine, String(n), mode, String(seed >>> 0), durability, String(intervalMs), paced ? 'paced' : 'busy']);
  const ready = JSON.parse(await child.waitFor((l) => l.startsWith('{"t":"ready"'))) as { next: string };
  const start = monoMs();
  const probed = durability === 'always' ? 0 : await probeSyncs(`${dir}.sync-probe`, spec.killAfterMs);
  await sleep(start + spec.killAfterMs - monoMs());
  const killed = child.kill();
  const killAt = monoMs();
  const { signal } = await killed;
  const r: Round = {
    n, engine, mode, durability, intervalMs, paced, killAt, syncMs: probed,
    next: BigInt(ready.next), ops: [], acks: new Map(), errors: [], before, after: new Map(), midCheckpoint: false, killedBy: signal,
  };
  for (const line of child.lines()) {
    const ev = JSON.parse(line) as { t: string; i: number; code?: string; ms?: number };
    if (ev.t === 's') r.ops.push(ev as unknown as Op);
    else if (ev.t === 'f') r.syncMs = Math.max(r.syncMs, ev.ms!);
    else if (ev.t === 'a') r.acks.set(ev.i, ev as unknown as Ack);
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
