/**
 * A linearizability checker for histories of key-value operations, per key (a register),
 * written for the cluster tests (issue 15).
 *
 * Model: each key is a register holding a value (a string, or absent) plus what is known of
 * its version. Operations: get, put, delete, cas (compare-and-swap against the value the
 * client read before; the HTTP call is an If-Match on that value's version), incr (decimal
 * 64-bit integer, absent = 0). Versions are the store's global, increasing write versions:
 * a write that reports its version must come, in the linearization, after every write
 * with a smaller one, and a read that reports a version must see exactly the version of
 * the write it reads. So "a key went back in version" is a violation too.
 *
 * Each operation has its invocation and completion time (one monotonic clock for all
 * clients) and an outcome:
 * - 'ok': it happened, with this result;
 * - 'failed': it definitely did not happen (a coded refusal before anything was written):
 *   it is dropped from the history;
 * - 'unknown': it may or may not have happened (a timeout, a reset connection, a 5xx after
 *   forwarding). It may take effect at any point after its invocation, or never. (Its
 *   completion is taken as +infinity: linearized after everything else it has no effect
 *   anyone could observe, which is "never".)
 *
 * Search: Wing & Gong's algorithm with Lowe's memoisation (as in Knossos' WGL checker and
 * porcupine): walk the time-ordered call/return events, linearize a call whose operation the
 * model accepts from the current state, backtrack at a return whose call was not
 * linearized yet; a (linearized set, state) pair seen before is not explored again.
 * Linearizability is local (P-compositional): a history is linearizable iff its
 * restriction to each key is, so every key is checked on its own. (A batch is checked as its
 * puts/deletes on each key; its atomicity across keys is not what this checks.)
 *
 * A violation comes with an explanation: the fewest reads (and other operations that only
 * observe) found, with the writes around them, that are still not linearizable, and the
 * longest partial linearization reached.
 */

export type Value = string | null;

export type OpKind = 'get' | 'put' | 'delete' | 'cas' | 'incr';

export type OpResult =
  | { kind: 'get'; found: false }
  | { kind: 'get'; found: true; value: string; version?: bigint }
  | { kind: 'put'; version?: bigint }
  /** existed undefined: not reported (a batch's delete); version: a batch's. */
  | { kind: 'delete'; existed?: boolean; version?: bigint }
  | { kind: 'cas'; ok: true; version?: bigint }
  | { kind: 'cas'; ok: false }
  | { kind: 'incr'; value: bigint }
  | { kind: 'incr'; notANumber: true };

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface Op {
  /** Who issued it (a client id): only for reports. */
  process: string | number;
  key: string;
  kind: OpKind;
  /** put, cas: the value written. */
  value?: string;
  /** cas: the value the write is conditional on (null: only if absent). */
  expect?: Value;
  /** incr: the increment (default 1). */
  by?: bigint;
  /** Invocation time, ms on one monotonic clock. */
  invoke: number;
  /** Completion time (ignored for outcome 'unknown'). */
  complete: number;
  outcome: Outcome;
  /** The result, for outcome 'ok'. */
  result?: OpResult;
  /** Free-form context for reports (node, timeline, HTTP status, error). */
  note?: string;
}

export interface Violation {
  key: string;
  /** A short account of why. */
  reason: string;
  /** The (shrunk) sub-history that is not linearizable, in invocation order. */
  ops: Op[];
  /** The longest partial linearization reached (operations in order) and the state after it. */
  longest: { order: Op[]; state: string };
}

export interface CheckResult {
  ok: boolean;
  keys: number;
  ops: number;
  violations: Violation[];
  /** Keys whose search hit the step budget (neither proven nor refuted). */
  inconclusive: string[];
}

export interface CheckOptions {
  /** Most search steps per key before giving up as inconclusive (default 2 000 000). */
  maxSteps?: number;
  /** Shrink violations to a minimal sub-history (default true; skipped above 400 ops on a key). */
  shrink?: boolean;
}

// ------------------------------------------------------------------ the model

interface State {
  v: Value;
  /** The version of the current value when known, else -1n. */
  ver: bigint;
  /** The highest version of any write linearized so far (0n: none known). */
  floor: bigint;
}

const INITIAL: State = { v: null, ver: 0n, floor: 0n };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function asInt(v: Value): bigint | undefined {
  if (v === null) return 0n;
  if (!/^-?\d{1,20}$/.test(v)) return undefined;
  const n = BigInt(v);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function stateKey(s: State): string {
  return `${s.v === null ? '-' : `=${s.v}`}|${s.ver}|${s.floor}`;
}

export function describeState(s: State): string {
  return `${s.v === null ? 'absent' : JSON.stringify(s.v)}${s.ver > 0n ? ` @v${s.ver}` : ''}${s.floor > 0n ? ` (versions so far ≤ ${s.floor})` : ''}`;
}

/** A write with a known version: it must be above every version before it. */
function written(s: State, v: Value, version: bigint | undefined): State | undefined {
  if (version === undefined) return { v, ver: -1n, floor: s.floor };
  if (version <= s.floor) return undefined;
  return { v, ver: version, floor: version };
}

/** The state after op (linearized now), or undefined when the model refuses it from s. */
export function step(s: State, op: Op): State | undefined {
  const unknown = op.outcome === 'unknown';
  const r = op.result;
  switch (op.kind) {
    case 'get': {
      if (unknown) return s;
      if (!r || r.kind !== 'get') return undefined;
      if (!r.found) return s.v === null ? s : undefined;
      if (s.v !== r.value) return undefined;
      if (r.version === undefined) return s;
      if (s.ver > 0n) return s.ver === r.version ? s : undefined;
      // The version of the value was not known (written by an unknown op, an incr, a delete's
      // re-creation...): a read binds it; it must be above every version before it.
      return r.version > s.floor ? { v: s.v, ver: r.version, floor: r.version } : undefined;
    }
    case 'put': {
      if (op.value === undefined) throw new Error('put without a value');
      if (unknown) return { v: op.value, ver: -1n, floor: s.floor };
      if (!r || r.kind !== 'put') return undefined;
      return written(s, op.value, r.version);
    }
    case 'delete': {
      if (unknown) return s.v === null ? s : { v: null, ver: -1n, floor: s.floor };
      if (!r || r.kind !== 'delete') return undefined;
      if (r.existed === true && s.v === null) return undefined;
      if (r.existed === false) return s.v === null ? s : undefined;
      if (r.version !== undefined) return r.version > s.floor ? { v: null, ver: -1n, floor: r.version } : undefined;
      return { v: null, ver: -1n, floor: s.floor };
    }
    case 'cas': {
      if (op.value === undefined || op.expect === undefined) throw new Error('cas without value or expect');
      const holds = s.v === op.expect;
      if (unknown) return holds ? { v: op.value, ver: -1n, floor: s.floor } : s;
      if (!r || r.kind !== 'cas') return undefined;
      if (!r.ok) return holds ? undefined : s;
      return holds ? written(s, op.value, r.version) : undefined;
    }
    case 'incr': {
      const n = asInt(s.v);
      const by = op.by ?? 1n;
      const sum = n === undefined ? undefined : n + by;
      const fits = sum !== undefined && sum >= INT64_MIN && sum <= INT64_MAX;
      if (unknown) return fits ? { v: String(sum), ver: -1n, floor: s.floor } : s;
      if (!r || r.kind !== 'incr') return undefined;
      if ('notANumber' in r) return fits ? undefined : s;
      return fits && sum === r.value ? { v: String(sum), ver: -1n, floor: s.floor } : undefined;
    }
  }
}

// ------------------------------------------------------------------ the search

interface Entry {
  /** Index into the ops array; the call and the return of one op share it. */
  id: number;
  call: boolean;
  time: number;
  /** The call's return entry (call entries only). */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

interface SearchResult {
  ok: boolean;
  exhausted: boolean;
  longest: number[];
  longestState: State;
}

function buildList(ops: Op[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    const ret: Entry = { id, call: false, time: op.outcome === 'unknown' ? Infinity : op.complete, match: undefined, prev: undefined, next: undefined };
    const call: Entry = { id, call: true, time: op.invoke, match: ret, prev: undefined, next: undefined };
    events.push(call, ret);
  });
  // Calls before returns at the same instant: operations that touch in time count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.id - b.id : a.call ? -1 : 1));
  const head: Entry = { id: -1, call: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

function lift(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
  const m = e.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

function unlift(e: Entry): void {
  const m = e.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

/**
 * Wing & Gong with Lowe's memoisation over one key's operations, with one symmetry cut:
 * unknown operations with the same effect (kind, value, expected value, increment) are
 * linearized in invocation order. Both may take effect at any point after their invocation
 * or never, so a linearization that applies the later one at some point and the earlier one
 * later (or never) stays valid with the two swapped: nothing is lost by never trying it. It
 * keeps the search polynomial where a long run leaves a counter with hundreds of unknown
 * increments (which subset took effect, and when, is otherwise exponential: the 500-round
 * torture ran out of budget on every counter without it). The linearized set is
 * memoised by a 64-bit Zobrist hash (two random 32-bit words per operation, XORed in and out
 * as it is linearized and undone): O(1) per step instead of hashing the whole bitset; a
 * collision (odds about 2^-64 per pair) could only prune a branch, never accept a history.
 */
function search(ops: Op[], maxSteps: number): SearchResult {
  const head = buildList(ops);
  const z1 = new Uint32Array(ops.length);
  const z2 = new Uint32Array(ops.length);
  let seed = 0x9e3779b9 ^ ops.length;
  const rnd = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let x = seed;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (x ^ (x >>> 14)) >>> 0;
  };
  for (let i = 0; i < ops.length; i++) {
    z1[i] = rnd();
    z2[i] = rnd();
  }
  // The previous unknown operation with the same effect, by invocation (ops is sorted by it):
  // an unknown operation may be linearized only once that one is.
  const before = new Int32Array(ops.length).fill(-1);
  const lastOf = new Map<string, number>();
  ops.forEach((op, i) => {
    if (op.outcome !== 'unknown') return;
    const sig = `${op.kind}\u0000${op.value ?? ''}\u0000${op.expect === undefined ? 'u' : op.expect === null ? 'n' : `=${op.expect}`}\u0000${op.by ?? 1n}`;
    before[i] = lastOf.get(sig) ?? -1;
    lastOf.set(sig, i);
  });
  const linearized = new Uint8Array(ops.length);
  let h1 = 0;
  let h2 = 0;
  const seen = new Set<string>();
  const calls: Array<{ entry: Entry; state: State }> = [];
  let state = INITIAL;
  let entry = head.next;
  let longest: number[] = [];
  let longestState = INITIAL;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > maxSteps) return { ok: false, exhausted: true, longest, longestState };
    if (entry === undefined) break;
    if (entry.call) {
      const b = before[entry.id]!;
      const next = b >= 0 && linearized[b] === 0 ? undefined : step(state, ops[entry.id]!);
      if (next !== undefined) {
        const n1 = (h1 ^ z1[entry.id]!) >>> 0;
        const n2 = (h2 ^ z2[entry.id]!) >>> 0;
        const memo = `${n1.toString(36)}.${n2.toString(36)}#${stateKey(next)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          calls.push({ entry, state });
          state = next;
          h1 = n1;
          h2 = n2;
          linearized[entry.id] = 1;
          lift(entry);
          if (calls.length > longest.length) {
            longest = calls.map((c) => c.entry.id);
            longestState = state;
          }
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else if (entry.time === Infinity) {
      // The returns of unknown operations sort last: every completed operation is linearized.
      break;
    } else {
      // A return whose call is not linearized: undo the last choice.
      const top = calls.pop();
      if (!top) return { ok: false, exhausted: false, longest, longestState };
      entry = top.entry;
      state = top.state;
      h1 = (h1 ^ z1[entry.id]!) >>> 0;
      h2 = (h2 ^ z2[entry.id]!) >>> 0;
      linearized[entry.id] = 0;
      unlift(entry);
      entry = entry.next;
    }
  }
  return { ok: true, exhausted: false, longest, longestState };
}

// ------------------------------------------------------------------ checking a history

/** Values a read observed that no operation on the key could have written. */
function unwrittenReads(ops: Op[]): Op[] {
  const writes = new Set<string>();
  let incrs = false;
  for (const op of ops) {
    if ((op.kind === 'put' || op.kind === 'cas') && op.value !== undefined) writes.add(op.value);
    if (op.kind === 'incr') incrs = true;
  }
  return ops.filter((op) => op.outcome === 'ok' && op.result?.kind === 'get' && op.result.found && !writes.has(op.result.value) && !(incrs && asInt(op.result.value) !== undefined));
}

/**
 * An operation that only observes from the state it is linearized at (changes nothing):
 * dropping it can only make a history easier to linearize, never harder.
 */
function observesOnly(op: Op): boolean {
  const r = op.result;
  if (op.outcome !== 'ok' || !r) return false;
  return r.kind === 'get' || (r.kind === 'cas' && !r.ok) || (r.kind === 'delete' && r.existed === false) || (r.kind === 'incr' && 'notANumber' in r);
}

/**
 * Greedy shrink: drop observing operations one at a time while the rest stays
 * non-linearizable. Writes are kept: dropping one could make a violation that the full
 * history does not have (a CAS that failed because of it, say), so the result would
 * explain nothing.
 */
function shrink(ops: Op[], maxSteps: number): Op[] {
  let cur = ops;
  for (let i = cur.length - 1; i >= 0; i--) {
    if (!observesOnly(cur[i]!)) continue;
    const cand = cur.filter((_, j) => j !== i);
    const r = search(cand, maxSteps);
    if (!r.ok && !r.exhausted) cur = cand;
  }
  return cur;
}

/** For a report: the observers kept, and the writes near them (at most `writes` before the last observer). */
function excerpt(ops: Op[], writes = 12): Op[] {
  const obs = ops.filter(observesOnly);
  const end = Math.max(...obs.map((o) => o.complete), -Infinity);
  const ws = ops.filter((o) => !observesOnly(o) && o.invoke <= end);
  const keep = new Set<Op>([...obs, ...ws.slice(-writes), ...ops.filter((o) => !observesOnly(o) && o.invoke > end).slice(0, 3)]);
  return ops.filter((o) => keep.has(o));
}

export function formatOp(op: Op): string {
  const t = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '∞');
  let what: string;
  switch (op.kind) {
    case 'get': what = 'get'; break;
    case 'put': what = `put ${JSON.stringify(op.value)}`; break;
    case 'delete': what = 'delete'; break;
    case 'cas': what = `cas ${op.expect === null ? 'absent' : JSON.stringify(op.expect)} → ${JSON.stringify(op.value)}`; break;
    case 'incr': what = `incr ${op.by ?? 1n}`; break;
  }
  let res: string;
  if (op.outcome === 'unknown') res = 'unknown';
  else if (op.outcome === 'failed') res = 'failed';
  else {
    const r = op.result;
    if (!r) res = 'ok';
    else if (r.kind === 'get') res = r.found ? `${JSON.stringify(r.value)}${r.version !== undefined ? ` @v${r.version}` : ''}` : 'absent';
    else if (r.kind === 'put') res = `ok${r.version !== undefined ? ` @v${r.version}` : ''}`;
    else if (r.kind === 'delete') res = `${r.existed === undefined ? 'deleted (batch)' : r.existed ? 'deleted' : 'was absent'}${r.version !== undefined ? ` @v${r.version}` : ''}`;
    else if (r.kind === 'cas') res = r.ok ? `ok${r.version !== undefined ? ` @v${r.version}` : ''}` : 'mismatch';
    else res = 'notANumber' in r ? 'NOT_A_NUMBER' : String(r.value);
  }
  return `[${op.process}] ${what} → ${res} (${t(op.invoke)}..${op.outcome === 'unknown' ? '?' : t(op.complete)} ms)${op.note ? ` ${op.note}` : ''}`;
}

/** Checks one key's operations (already restricted to that key). */
export function checkKey(key: string, allOps: Op[], o: CheckOptions = {}): { violation?: Violation; inconclusive: boolean } {
  const maxSteps = o.maxSteps ?? 2_000_000;
  const ops = allOps.filter((op) => op.outcome !== 'failed').sort((a, b) => a.invoke - b.invoke);
  const bad = unwrittenReads(ops);
  if (bad.length > 0) {
    return { inconclusive: false, violation: { key, reason: `a read returned a value no operation wrote: ${formatOp(bad[0]!)}`, ops: bad, longest: { order: [], state: 'n/a' } } };
  }
  const r = search(ops, maxSteps);
  if (r.ok) return { inconclusive: false };
  if (r.exhausted) return { inconclusive: true };
  const small = o.shrink === false || ops.length > 400 ? ops : shrink(ops, Math.min(maxSteps, 200_000));
  const r2 = search(small, maxSteps);
  const order = r2.longest.map((i) => small[i]!);
  // The operations that could have come next: not linearized, invoked before the first of them completed.
  const rest = small.filter((_, i) => !r2.longest.includes(i));
  const horizon = Math.min(...rest.filter((op) => op.outcome === 'ok').map((op) => op.complete));
  const blocked = rest.filter((op) => op.invoke <= horizon).slice(0, 6);
  const reason = `not linearizable: after ${order.length} of ${small.length} operations linearized (state ${describeState(r2.longestState)}), ` +
    `none of ${blocked.map(formatOp).join('; ')} can come next`;
  return { inconclusive: false, violation: { key, reason, ops: excerpt(small), longest: { order, state: describeState(r2.longestState) } } };
}

/** Checks a whole history, key by key. */
export function checkHistory(history: readonly Op[], o: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let l = byKey.get(op.key);
    if (!l) byKey.set(op.key, (l = []));
    l.push(op);
  }
  const violations: Violation[] = [];
  const inconclusive: string[] = [];
  for (const [key, ops] of byKey) {
    const r = checkKey(key, ops, o);
    if (r.violation) violations.push(r.violation);
    if (r.inconclusive) inconclusive.push(key);
  }
  return { ok: violations.length === 0 && inconclusive.length === 0, keys: byKey.size, ops: history.length, violations, inconclusive };
}

/** A human-readable report of a check (for assertion messages). */
export function formatViolations(r: CheckResult, max = 3): string {
  const parts = r.violations.slice(0, max).map((v) => `key ${JSON.stringify(v.key)}: ${v.reason}\n  history:\n${v.ops.map((op) => `    ${formatOp(op)}`).join('\n')}`);
  if (r.inconclusive.length > 0) parts.push(`inconclusive (search budget exhausted) on ${r.inconclusive.length} key(s): ${r.inconclusive.slice(0, 5).join(', ')}`);
  return parts.join('\n');
}
