/**
 * A history recorder for the cluster tests: clients issue real HTTP operations against any
 * node and every operation is recorded with its invocation and completion time (one
 * monotonic clock, performance.now()), its outcome and its result, in the form the
 * linearizability checker (test/linearizability.ts) takes.
 *
 * Outcomes, by what the client can know (classify()):
 * - ok: a 2xx, or an answer that is itself a result (404 on get/delete, 412
 *   VERSION_MISMATCH on a cas, 409 NOT_A_NUMBER on an incr).
 * - failed (definitely not applied): any other 4xx (the request was refused before anything
 *   was written: validation, auth, READ_ONLY...), and the 503s kvstored documents as
 *   "refused before acting" — NOT_PRIMARY, FORWARD_FAILED, NOT_READY, RATE_LIMITED,
 *   READ_INDEX_TIMEOUT (docs/errors.md).
 *   A connection refused (ECONNREFUSED: no connection, nothing was sent) is failed too.
 * - unknown (may or may not have been applied): no answer (timeout, a connection reset or
 *   closed after the request could have been sent), OUTCOME_UNKNOWN, SYNC_TIMEOUT (durable
 *   on the primary, which a new primary may or may not have), 500 and any other 5xx.
 * A read that does not come back ok is recorded as failed: it had no effect either way.
 *
 * Which node answered is kept per operation (`note`): the node the request was sent to
 * and, when a standby forwarded it, the primary that answered (x-kvstore-primary).
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { Op, OpResult, Outcome } from './linearizability.js';

/** 503 codes kvstored answers only for requests it refused before doing anything. */
export const REFUSED_BEFORE_ACTING: ReadonlySet<string> = new Set(['NOT_PRIMARY', 'FORWARD_FAILED', 'NOT_READY', 'RATE_LIMITED', 'READ_INDEX_TIMEOUT']);

export interface Answer {
  /** HTTP status; 0 when no answer came (network error or timeout). */
  status: number;
  /** The problem document's code, when the answer is an error with one. */
  code: string | undefined;
  /** The network error's code or name when status is 0. */
  error: string | undefined;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** What a write's answer means: ok (status carries the result), failed, or unknown. */
export function classify(a: Answer, resultStatuses: readonly number[] = []): Outcome {
  if (a.status >= 200 && a.status < 300) return 'ok';
  if (resultStatuses.includes(a.status)) return 'ok';
  if (a.status === 0) return a.error === 'ECONNREFUSED' ? 'failed' : 'unknown';
  if (a.status >= 400 && a.status < 500 && a.status !== 408) return 'failed';
  if (a.code !== undefined && REFUSED_BEFORE_ACTING.has(a.code)) return 'failed';
  return 'unknown';
}

export interface Target {
  /** A name for reports (e.g. "n1"). */
  name: string;
  /** The node's base URL. */
  url: string;
}

export interface RecorderOptions {
  /** The API key every request carries (X-API-Key). */
  apiKey: string;
  /** Give up on one request after this long: the outcome is then unknown (default 5 s). */
  timeoutMs?: number;
  /** Read with consistency=linearizable (default true; stale reads are not linearizable by design). */
  linearizableReads?: boolean;
  /**
   * Record a refused condition (412 VERSION_MISMATCH on a cas, 404 on a delete, 409
   * NOT_A_NUMBER on an incr) as a result the checker holds the store to (default true).
   * false records them as failed (dropped: they changed nothing), for a store whose
   * conditions see writes that are not visible to reads yet: under durability=always the
   * engine checks a condition against every submitted write, but shows a write to readers
   * only once it is durable (ts/engine/types.ts), so a refused CAS can reveal a write that a
   * later read does not see yet — not linearizable (found by test/history.test.ts).
   */
  conditionFailuresAreResults?: boolean;
}

export interface Counts {
  ok: number;
  failed: number;
  unknown: number;
  /** Per error code (or network error), how many. */
  byCode: Record<string, number>;
}

function etagVersion(h: string | string[] | undefined): bigint | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  const m = v ? /^"?(\d+)"?$/.exec(v.trim()) : null;
  return m ? BigInt(m[1]!) : undefined;
}

function jsonVersion(body: Buffer): bigint | undefined {
  try {
    const j = JSON.parse(body.toString('utf8')) as { version?: unknown };
    return typeof j.version === 'string' || typeof j.version === 'number' ? BigInt(j.version) : undefined;
  } catch {
    return undefined;
  }
}

export class Recorder {
  readonly ops: Op[] = [];
  readonly counts: Counts = { ok: 0, failed: 0, unknown: 0, byCode: {} };
  readonly #agent: Agent;
  readonly #o: Required<RecorderOptions>;
  #closed = false;

  constructor(o: RecorderOptions) {
    this.#o = { timeoutMs: o.timeoutMs ?? 5_000, linearizableReads: o.linearizableReads ?? true, apiKey: o.apiKey, conditionFailuresAreResults: o.conditionFailuresAreResults ?? true };
    this.#agent = new Agent({ connections: 512, keepAliveTimeout: 4_000, connect: { timeout: Math.min(this.#o.timeoutMs, 2_000) } });
  }

  /** The clock operations are stamped with (ms). */
  now(): number {
    return performance.now();
  }

  /** One HTTP request; never rejects (a network failure is status 0). */
  async call(t: Target, method: string, route: string, o: { body?: string | Buffer; json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'x-api-key': this.#o.apiKey, ...o.headers };
    let body: string | Buffer | undefined = o.body;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (body !== undefined) headers['content-type'] = 'application/octet-stream';
    try {
      const r = await request(t.url + route, {
        method: method as 'GET', headers, body, dispatcher: this.#agent,
        headersTimeout: this.#o.timeoutMs, bodyTimeout: this.#o.timeoutMs, signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      const buf = Buffer.from(await r.body.arrayBuffer());
      let code: string | undefined;
      if (r.statusCode >= 400 && /json/.test(String(r.headers['content-type'] ?? ''))) {
        try {
          const p = JSON.parse(buf.toString('utf8')) as { code?: unknown };
          if (typeof p.code === 'string') code = p.code;
        } catch {
          // not a problem document
        }
      }
      return { status: r.statusCode, code, error: undefined, body: buf, headers: r.headers };
    } catch (err) {
      const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
      return { status: 0, code: undefined, error: String(e.code ?? e.cause?.code ?? e.name ?? 'error'), body: Buffer.alloc(0), headers: {} };
    }
  }

  #record(base: Omit<Op, 'outcome' | 'complete' | 'note'>, t: Target, a: Answer, outcome: Outcome, result: OpResult | undefined): Op {
    const primary = a.headers['x-kvstore-primary'];
    const why = a.status === 0 ? a.error : a.code ?? String(a.status);
    const op: Op = {
      ...base, complete: this.now(), outcome, ...(outcome === 'ok' && result ? { result } : {}),
      note: `via ${t.name}${primary ? ` (primary ${String(primary)})` : ''}${outcome === 'ok' ? '' : ` ${why}`}`,
    };
    this.ops.push(op);
    this.counts[outcome]++;
    if (outcome !== 'ok') this.counts.byCode[why ?? '?'] = (this.counts.byCode[why ?? '?'] ?? 0) + 1;
    return op;
  }

  #key(key: string): string {
    return `/v1/kv/${encodeURIComponent(key)}`;
  }

  /**
   * A read; linearizable unless the recorder was made for stale reads. With `record`
   * false the operation is returned but not added to the history (a read whose node cannot
   * promise linearizability, e.g. the value a CAS is conditional on).
   */
  async get(t: Target, process: string | number, key: string, record = true): Promise<Op> {
    if (!record) {
      const a = await this.call(t, 'GET', this.#key(key), this.#o.linearizableReads ? { headers: { 'x-kvstore-consistency': 'linearizable' } } : {});
      const base = { process, key, kind: 'get' as const, invoke: 0, complete: 0 };
      if (a.status === 200) return { ...base, outcome: 'ok', result: { kind: 'get', found: true, value: a.body.toString('utf8'), version: etagVersion(a.headers.etag) } };
      if (a.status === 404 && a.code === 'NOT_FOUND') return { ...base, outcome: 'ok', result: { kind: 'get', found: false } };
      return { ...base, outcome: 'failed' };
    }
    const invoke = this.now();
    const a = await this.call(t, 'GET', this.#key(key), this.#o.linearizableReads ? { headers: { 'x-kvstore-consistency': 'linearizable' } } : {});
    const base = { process, key, kind: 'get' as const, invoke };
    if (a.status === 200) return this.#record(base, t, a, 'ok', { kind: 'get', found: true, value: a.body.toString('utf8'), version: etagVersion(a.headers.etag) });
    if (a.status === 404 && a.code === 'NOT_FOUND') return this.#record(base, t, a, 'ok', { kind: 'get', found: false });
    return this.#record(base, t, a, 'failed', undefined);
  }

  async put(t: Target, process: string | number, key: string, value: string): Promise<Op> {
    const invoke = this.now();
    const a = await this.call(t, 'PUT', this.#key(key), { body: value });
    const outcome = classify(a);
    return this.#record({ process, key, kind: 'put', value, invoke }, t, a, outcome, { kind: 'put', version: jsonVersion(a.body) ?? etagVersion(a.headers.etag) });
  }

  async del(t: Target, process: string | number, key: string): Promise<Op> {
    const invoke = this.now();
    const a = await this.call(t, 'DELETE', this.#key(key));
    const notFound = a.status === 404 && a.code === 'NOT_FOUND';
    const outcome = notFound ? (this.#o.conditionFailuresAreResults ? 'ok' : 'failed') : classify(a);
    return this.#record({ process, key, kind: 'delete', invoke }, t, a, outcome, { kind: 'delete', existed: !notFound });
  }

  /**
   * Compare-and-swap: writes `value` only if the key holds `expect` (read before, at
   * `expectVersion`: If-Match on that version), or only if absent (expect null: If-None-Match).
   */
  async cas(t: Target, process: string | number, key: string, expect: { value: string; version: bigint } | null, value: string): Promise<Op> {
    const invoke = this.now();
    const headers: Record<string, string> = expect === null ? { 'if-none-match': '*' } : { 'if-match': `"${expect.version}"` };
    const a = await this.call(t, 'PUT', this.#key(key), { body: value, headers });
    const mismatch = a.status === 412 || (a.code === 'VERSION_MISMATCH');
    const outcome = mismatch ? (this.#o.conditionFailuresAreResults ? 'ok' : 'failed') : classify(a);
    const result: OpResult = mismatch ? { kind: 'cas', ok: false } : { kind: 'cas', ok: true, version: jsonVersion(a.body) ?? etagVersion(a.headers.etag) };
    const op = this.#record({ process, key, kind: 'cas', value, expect: expect === null ? null : expect.value, invoke }, t, a, outcome, result);
    op.note = `${op.note ?? ''} ${expect === null ? 'if-none-match *' : `if-match v${expect.version}`}${mismatch ? ` ${a.status} ${a.body.toString('utf8').slice(0, 200)}` : ''}`;
    return op;
  }

  async incr(t: Target, process: string | number, key: string, by = 1n): Promise<Op> {
    const invoke = this.now();
    const a = await this.call(t, 'POST', `${this.#key(key)}/incr${by === 1n ? '' : `?by=${by}`}`);
    const nan = a.code === 'NOT_A_NUMBER';
    const outcome = nan ? (this.#o.conditionFailuresAreResults ? 'ok' : 'failed') : classify(a);
    let result: OpResult = { kind: 'incr', notANumber: true };
    if (!nan && outcome === 'ok') {
      try {
        result = { kind: 'incr', value: BigInt((JSON.parse(a.body.toString('utf8')) as { value: string }).value) };
      } catch {
        return this.#record({ process, key, kind: 'incr', by, invoke }, t, a, 'unknown', undefined);
      }
    }
    return this.#record({ process, key, kind: 'incr', by, invoke }, t, a, outcome, result);
  }

  /**
   * A batch of puts and deletes (one WAL record, one version): recorded as one operation per
   * key with the same times, outcome and version (the checker works per key).
   */
  async batch(t: Target, process: string | number, ops: Array<{ op: 'put'; key: string; value: string } | { op: 'del'; key: string }>): Promise<Op[]> {
    const invoke = this.now();
    const a = await this.call(t, 'POST', '/v1/batch', { json: { ops } });
    const outcome = classify(a);
    const version = jsonVersion(a.body);
    const complete = this.now();
    const out: Op[] = [];
    for (const o of ops) {
      const op = this.#record(
        o.op === 'put' ? { process, key: o.key, kind: 'put', value: o.value, invoke } : { process, key: o.key, kind: 'delete', invoke },
        t, a, outcome, o.op === 'put' ? { kind: 'put', version } : { kind: 'delete', version },
      );
      op.complete = complete;
      op.note = `${op.note ?? ''} (batch of ${ops.length})`;
      out.push(op);
    }
    return out;
  }

  /** Acknowledged writes (ok puts, cas successes, deletes, incrs), for "every acked write is there" checks. */
  acknowledged(): Op[] {
    return this.ops.filter((o) => o.outcome === 'ok' && o.kind !== 'get' && !(o.result?.kind === 'cas' && !o.result.ok) && !(o.result?.kind === 'incr' && 'notANumber' in o.result));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.destroy();
  }
}
