/**
 * The concurrent workload of the cluster torture and partition tests: workers bound to
 * nodes (so through every node) doing puts, deletes, batches, CAS (read, then If-Match) and
 * incr on a small set of keys, every operation recorded (history.ts) for the
 * linearizability checker. Values are unique per write ("w<worker>-<n>"), as the checker's
 * model wants. Bounded: stop() or `maxMs`, whichever comes first.
 */
import { Recorder, type Target } from './history.js';
import type { Op } from './linearizability.js';

export interface WorkloadOptions {
  /** Register keys (default 16) and counter keys (default 4). */
  registers?: number;
  counters?: number;
  /** Pause between one worker's operations, ms (default 5). */
  pauseMs?: number;
  /** Hard bound on the run, ms (default 10 min). */
  maxMs?: number;
  /** Key prefix (default "t:"). */
  prefix?: string;
}

export interface Worker {
  id: number;
  /** The node this worker talks to now (may change between operations). */
  target: () => Target | undefined;
  /**
   * Record reads in the history (default true). A cluster without linearizable reads on
   * standbys (no routing) cannot promise a read anywhere but on a primary that is sure of
   * its lease, so its reads are made (CAS still reads first) but not checked; the writes'
   * results and the final reads still are.
   */
  recordReads?: boolean;
}

export class Workload {
  readonly registers: string[];
  readonly counters: string[];
  #stop = false;
  #loops: Promise<void>[] = [];
  #seq = 0;
  readonly #o: Required<WorkloadOptions>;

  constructor(readonly rec: Recorder, o: WorkloadOptions = {}) {
    this.#o = { registers: o.registers ?? 16, counters: o.counters ?? 4, pauseMs: o.pauseMs ?? 5, maxMs: o.maxMs ?? 600_000, prefix: o.prefix ?? 't:' };
    this.registers = Array.from({ length: this.#o.registers }, (_, i) => `${this.#o.prefix}r${i}`);
    this.counters = Array.from({ length: this.#o.counters }, (_, i) => `${this.#o.prefix}c${i}`);
  }

  start(workers: Worker[]): void {
    const t0 = Date.now();
    for (const w of workers) {
      this.#loops.push((async () => {
        let rnd = w.id * 7919 + 1;
        const next = (n: number): number => {
          // An LCG's low bits cycle with a short period: use the high ones.
          rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
          return (rnd >>> 16) % n;
        };
        while (!this.#stop && Date.now() - t0 < this.#o.maxMs) {
          const t = w.target();
          if (!t) {
            await sleep(20);
            continue;
          }
          await this.#one(w, t, next);
          await sleep(this.#o.pauseMs);
        }
      })());
    }
  }

  async #one(w: Worker, t: Target, next: (n: number) => number): Promise<void> {
    const rec = this.rec;
    const key = this.registers[next(this.registers.length)]!;
    const value = (): string => `w${w.id}-${this.#seq++}`;
    const roll = next(100);
    const rt = t;
    const rr = w.recordReads ?? true;
    if (roll < 30) await rec.put(t, w.id, key, value());
    else if (roll < 50) await rec.get(rt, w.id, key, rr);
    else if (roll < 65) {
      const g = await rec.get(rt, w.id, key, rr);
      const r = g.result;
      if (g.outcome === 'ok' && r?.kind === 'get' && (!r.found || r.version !== undefined)) {
        await rec.cas(t, w.id, key, r.found ? { value: r.value, version: r.version! } : null, value());
      }
    } else if (roll < 73) await rec.del(t, w.id, key);
    else if (roll < 80) {
      const other = this.registers[next(this.registers.length)]!;
      const ops: Parameters<Recorder['batch']>[2] = [{ op: 'put', key, value: value() }];
      if (other !== key) ops.push(next(2) === 0 ? { op: 'put', key: other, value: value() } : { op: 'del', key: other });
      await rec.batch(t, w.id, ops);
    } else if (roll < 92) await rec.incr(t, w.id, this.counters[next(this.counters.length)]!, BigInt(1 + next(5)));
    else await rec.get(rt, w.id, this.counters[next(this.counters.length)]!, rr);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
  }

  /** Reads every key once through `t` (recorded): the history ends with what the cluster holds. */
  async finalReads(t: Target): Promise<Op[]> {
    const out: Op[] = [];
    for (const k of [...this.registers, ...this.counters]) out.push(await this.rec.get(t, 'final', k));
    return out;
  }
}

/**
 * Explicit durability checks beside the checker, from the final reads:
 * - a register's final version is at least the highest version any acknowledged write to
 *   it reported (no key goes back in version; a final absence must be a delete's doing);
 * - a counter's final value is at least the sum of its acknowledged increments and at most
 *   that plus its unknown ones.
 * Returns the problems found (empty: none).
 */
export function durabilityProblems(ops: readonly Op[], finals: readonly Op[]): string[] {
  const problems: string[] = [];
  for (const f of finals) {
    if (f.outcome !== 'ok' || f.result?.kind !== 'get') {
      problems.push(`final read of ${f.key} failed: ${f.note}`);
      continue;
    }
    const mine = ops.filter((o) => o.key === f.key && o !== f);
    const incrs = mine.filter((o) => o.kind === 'incr');
    if (incrs.length > 0 && mine.every((o) => o.kind === 'incr' || o.kind === 'get')) {
      let acked = 0n;
      let maybe = 0n;
      for (const o of incrs) {
        if (o.outcome === 'ok' && o.result?.kind === 'incr' && 'value' in o.result) acked += o.by ?? 1n;
        else if (o.outcome === 'unknown') maybe += o.by ?? 1n;
      }
      const final = f.result.found ? BigInt(f.result.value) : 0n;
      if (final < acked || final > acked + maybe) problems.push(`counter ${f.key}: final ${final}, acknowledged increments ${acked}, unknown ${maybe}`);
      continue;
    }
    let maxAcked = 0n;
    let by: Op | undefined;
    for (const o of mine) {
      const r = o.result;
      if (o.outcome !== 'ok' || !r) continue;
      const v = r.kind === 'put' || (r.kind === 'cas' && r.ok) ? r.version : r.kind === 'delete' ? r.version : undefined;
      if (v !== undefined && v > maxAcked) {
        maxAcked = v;
        by = o;
      }
    }
    if (f.result.found) {
      if (f.result.version !== undefined && f.result.version < maxAcked) problems.push(`${f.key} went back in version: final v${f.result.version} < v${maxAcked} acknowledged by ${by?.note}`);
    } else if (by && by.kind !== 'delete' && !mine.some((o) => o.kind === 'delete' && (o.outcome === 'unknown' || (o.outcome === 'ok' && o.complete >= by.invoke)))) {
      problems.push(`${f.key} is absent but v${maxAcked} was acknowledged (${by.note}) and no delete could come after it`);
    }
  }
  return problems;
}

/** p-th percentile (0..100) of values (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
