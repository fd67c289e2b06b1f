/**
 * Transactions, etcd-style: `store.txn({ compare, success, failure })` evaluates every
 * compare, runs the success branch if all hold and the failure branch otherwise, and writes
 * the chosen branch's changes as ONE WAL record (a BATCH): after a crash, all or none.
 *
 * How it stays atomic with several threads sharing one native engine: the compares and the
 * branch are evaluated here against the applied state, and everything that evaluation read
 * (each compared key, each key a get, del or incr touched) is handed to the engine with the
 * version it had (Engine.batchIf). The engine checks those versions under its write lock,
 * against the newest submitted state, and writes the batch only if none changed; otherwise
 * the whole evaluation runs again (optimistic concurrency, bounded in time: TXN_CONFLICT).
 * So a transaction commits exactly as if it ran alone at the instant of its WAL record:
 * serializable, in LSN order, with every other write (docs/api.md, "Transactions").
 */
import { KvError, toKvError } from '../errors.js';
import { type BatchOp, encodeBatchBody, encodeChecks } from '../engine/format.js';
import type { Engine } from '../engine/types.js';
import { checkOptions, optionNames } from '../options.js';
import type { Value } from './keys.js';
import { toValue } from './keys.js';
import type { KeyInput, ValueInput } from './encoding.js';

export type TxnCompareOp = '=' | '!=' | '<' | '>';

/** One condition: exactly one of version, value or exists. An absent key has version 0n. */
export type TxnCompare<V = Buffer, K = Buffer> =
  | { key: KeyInput<K>; op: TxnCompareOp; version: bigint }
  | { key: KeyInput<K>; op: TxnCompareOp; value: ValueInput<V> }
  | { key: KeyInput<K>; op: '=' | '!='; exists: boolean };

export type TxnOp<V = Buffer, K = Buffer> =
  | { type: 'put'; key: KeyInput<K>; value: ValueInput<V>; ttlMs?: number }
  | { type: 'del'; key: KeyInput<K> }
  | { type: 'get'; key: KeyInput<K> }
  | { type: 'incr'; key: KeyInput<K>; by?: bigint };

export interface TxnRequest<V = Buffer, K = Buffer> {
  compare?: readonly TxnCompare<V, K>[];
  success?: readonly TxnOp<V, K>[];
  failure?: readonly TxnOp<V, K>[];
}

/** One result per op of the branch that ran, in order. */
export type TxnResult<V = Buffer> =
  | { type: 'put'; version: bigint }
  | { type: 'del'; deleted: boolean }
  | { type: 'get'; value: V | undefined; version: bigint }
  | { type: 'incr'; value: bigint };

export interface TxnResponse<V = Buffer> {
  /** Every compare held (the success branch ran). */
  succeeded: boolean;
  /** The LSN of the transaction's WAL record; 0n when the branch that ran wrote nothing. */
  version: bigint;
  results: TxnResult<V>[];
}

/** Compares and ops per branch, at most (etcd's --max-txn-ops default is 128). */
export const MAX_TXN_OPS = 1000;
/** A transaction whose read keys keep changing under it gives up after this long. */
export const TXN_RETRY_MS = 5000;

const REQUEST_FIELDS = optionNames<TxnRequest>({ compare: true, success: true, failure: true });
const OP_FIELDS: Record<TxnOp['type'], Set<string>> = {
  put: new Set(['type', 'key', 'value', 'ttlMs']),
  del: new Set(['type', 'key']),
  get: new Set(['type', 'key']),
  incr: new Set(['type', 'key', 'by']),
};
const OPS = new Set<string>(['=', '!=', '<', '>']);

/** A checked compare, keys and values as stored bytes. */
type Cmp = { key: Buffer; op: TxnCompareOp } & ({ kind: 'version'; version: bigint } | { kind: 'value'; value: Buffer } | { kind: 'exists'; exists: boolean });
/** A checked op. */
type Op =
  | { type: 'put'; key: Buffer; value: Buffer; ttlMs: number | undefined }
  | { type: 'del'; key: Buffer }
  | { type: 'get'; key: Buffer }
  | { type: 'incr'; key: Buffer; by: bigint };

/** What txn needs of its store (passed in, so the Store's private state stays private). */
export interface TxnHost<V> {
  engine(): Engine;
  now(): number;
  /** A data key: encoded with the keyEncoding and checked (not empty, not `_sys.`). */
  key(k: unknown): Buffer;
  /** A value encoded with the valueEncoding. */
  value(v: unknown): Value;
  /** The absolute expiry for ttlMs (checked), 0 for none. */
  expiry(ttlMs: number | undefined): number;
  decode(v: Buffer): V;
  /** Resolves once lsn is durable (as the store's writes do). */
  durable<T>(lsn: bigint, result: T): Promise<T>;
}

/** The state of one key as the evaluation sees it: the engine's, then this txn's own writes. */
interface Seen {
  value: Buffer;
  version: bigint;
  expiresAt: number;
}

function parseRequest<V>(host: TxnHost<V>, req: TxnRequest<unknown, unknown>): { cmp: Cmp[]; success: Op[]; failure: Op[] } {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new KvError('INVALID_ARGUMENT', 'txn needs an object { compare, success, failure }');
  checkOptions('txn', req, REQUEST_FIELDS);
  const list = <T>(v: readonly T[] | undefined, what: string): readonly T[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new KvError('INVALID_ARGUMENT', `txn ${what} must be an array`);
    if (v.length > MAX_TXN_OPS) throw new KvError('INVALID_ARGUMENT', `txn ${what} has ${v.length} entries; at most ${MAX_TXN_OPS}`);
    return v;
  };
  const cmp = list(req.compare, 'compare').map((c, i): Cmp => {
    if (c === null || typeof c !== 'object') throw new KvError('INVALID_ARGUMENT', `compare ${i} must be an object`);
    const o = c as Record<string, unknown>;
    const kinds = (['version', 'value', 'exists'] as const).filter((k) => o[k] !== undefined);
    if (kinds.length !== 1) throw new KvError('INVALID_ARGUMENT', `compare ${i} needs exactly one of version, value or exists`);
    for (const f of Object.keys(o)) if (f !== 'key' && f !== 'op' && f !== kinds[0]) throw new KvError('UNKNOWN_OPTION', `compare ${i}: unknown field ${f}`);
    if (typeof o.op !== 'string' || !OPS.has(o.op)) throw new KvError('INVALID_ARGUMENT', `compare ${i}: op must be '=', '!=', '<' or '>'`);
    const op = o.op as TxnCompareOp;
    const key = host.key(o.key);
    if (kinds[0] === 'version') {
      if (typeof o.version !== 'bigint' || o.version < 0n) throw new KvError('INVALID_ARGUMENT', `compare ${i}: version must be a non-negative bigint`);
      return { key, op, kind: 'version', version: o.version };
    }
    if (kinds[0] === 'value') return { key, op, kind: 'value', value: toValue(host.value(o.value)) };
    if (typeof o.exists !== 'boolean') throw new KvError('INVALID_ARGUMENT', `compare ${i}: exists must be a boolean`);
    if (op !== '=' && op !== '!=') throw new KvError('INVALID_ARGUMENT', `compare ${i}: exists takes only '=' or '!='`);
    return { key, op, kind: 'exists', exists: o.exists };
  });
  const ops = (v: readonly TxnOp<unknown, unknown>[] | undefined, what: string): Op[] =>
    list(v, what).map((raw, i): Op => {
      const t = (raw as { type?: unknown } | null)?.type;
      if (t !== 'put' && t !== 'del' && t !== 'get' && t !== 'incr') throw new KvError('INVALID_ARGUMENT', `${what} op ${i} needs type 'put', 'del', 'get' or 'incr'`);
      for (const f of Object.keys(raw)) if (!OP_FIELDS[t].has(f)) throw new KvError('UNKNOWN_OPTION', `${what} op ${i}: unknown field ${f}`);
      const key = host.key(raw.key);
      if (raw.type === 'put') {
        if (raw.ttlMs !== undefined) host.expiry(raw.ttlMs); // checked now; computed at each attempt
        return { type: 'put', key, value: toValue(host.value(raw.value)), ttlMs: raw.ttlMs };
      }
      if (raw.type === 'incr') {
        const by = raw.by ?? 1n;
        if (typeof by !== 'bigint') throw new KvError('INVALID_ARGUMENT', `${what} op ${i}: by must be a bigint`);
        return { type: 'incr', key, by };
      }
      return { type: raw.type, key };
    });
  const success = ops(req.success, 'success');
  const failure = ops(req.failure, 'failure');
  // An empty transaction would do nothing and need no permission: a mistake, not a request.
  if (cmp.length === 0 && success.length === 0 && failure.length === 0) throw new KvError('INVALID_ARGUMENT', 'txn needs at least one compare or operation');
  return { cmp, success, failure };
}

function holds(c: Cmp, cur: Seen | undefined): boolean {
  let d: number;
  if (c.kind === 'exists') d = (cur !== undefined) === c.exists ? 0 : 1;
  else if (c.kind === 'version') {
    const v = cur?.version ?? 0n;
    d = v < c.version ? -1 : v > c.version ? 1 : 0;
  } else {
    if (cur === undefined) return false; // etcd: a value compare on an absent key is false
    d = Buffer.compare(cur.value, c.value);
  }
  switch (c.op) {
    case '=': return d === 0;
    case '!=': return d !== 0;
    case '<': return d < 0;
    case '>': return d > 0;
  }
}

const INT_RE = /^-?\d{1,19}$/;

/** One evaluation against the engine's applied state at `now`: the batch it would write and the read set to check. */
function evaluate<V>(host: TxnHost<V>, engine: Engine, now: number, p: { cmp: Cmp[]; success: Op[]; failure: Op[] }) {
  const reads = new Map<string, bigint>();
  const overlay = new Map<string, Seen | undefined>();
  const read = (key: Buffer): Seen | undefined => {
    const s = key.toString('latin1');
    if (overlay.has(s)) return overlay.get(s);
    const e = engine.getEntry(key, now);
    const seen = e === undefined ? undefined : { value: e[0], version: e[1], expiresAt: e[2] };
    if (!reads.has(s)) reads.set(s, seen?.version ?? 0n);
    return seen;
  };
  const succeeded = p.cmp.every((c) => holds(c, read(c.key)));
  const writes: BatchOp[] = [];
  const results: Array<TxnResult<V> | { type: 'put' }> = [];
  for (const op of succeeded ? p.success : p.failure) {
    const s = op.key.toString('latin1');
    if (op.type === 'get') {
      const cur = read(op.key);
      results.push({ type: 'get', value: cur === undefined ? undefined : host.decode(cur.value), version: cur?.version ?? 0n });
    } else if (op.type === 'put') {
      const expiresAt = host.expiry(op.ttlMs);
      writes.push({ type: 'put', key: op.key, value: op.value, expiresAt });
      overlay.set(s, { value: op.value, version: -1n, expiresAt });
      results.push({ type: 'put' });
    } else if (op.type === 'del') {
      const cur = read(op.key);
      if (cur !== undefined) writes.push({ type: 'del', key: op.key });
      overlay.set(s, undefined);
      results.push({ type: 'del', deleted: cur !== undefined });
    } else {
      const cur = read(op.key);
      let n = 0n;
      if (cur !== undefined) {
        const text = cur.value.toString('latin1');
        if (!INT_RE.test(text)) throw new KvError('NOT_A_NUMBER', `incr on a value that is not a decimal integer`);
        n = BigInt(text);
      }
      const r = n + op.by;
      if (r > 0x7fffffffffffffffn || r < -0x8000000000000000n) throw new KvError('NOT_A_NUMBER', 'the result overflows 64 bits');
      const value = Buffer.from(r.toString(), 'latin1');
      const expiresAt = cur?.expiresAt ?? 0;
      writes.push({ type: 'put', key: op.key, value, expiresAt });
      overlay.set(s, { value, version: -1n, expiresAt });
      results.push({ type: 'incr', value: r });
    }
  }
  return { succeeded, writes, results, reads };
}

/** Runs a transaction (see the file comment). */
export async function runTxn<V>(host: TxnHost<V>, req: TxnRequest<unknown, unknown>): Promise<TxnResponse<V>> {
  let p: ReturnType<typeof parseRequest>;
  try {
    p = parseRequest(host, req);
  } catch (err) {
    throw toKvError(err);
  }
  const deadline = Date.now() + TXN_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    const engine = host.engine();
    const now = host.now();
    let lsn: bigint;
    let ev: ReturnType<typeof evaluate<V>>;
    try {
      ev = evaluate(host, engine, now, p);
      const checks = encodeChecks([...ev.reads].map(([k, version]) => ({ key: Buffer.from(k, 'latin1'), version })));
      lsn = engine.batchIf(ev.writes.length === 0 ? Buffer.alloc(0) : encodeBatchBody(ev.writes), checks, now);
    } catch (err) {
      const e = toKvError(err);
      if (e.code !== 'VERSION_MISMATCH') throw e;
      if (Date.now() > deadline) throw new KvError('TXN_CONFLICT', `the keys this transaction reads kept changing for ${TXN_RETRY_MS} ms (${attempt + 1} attempts); retry`);
      // Another write got in between (or is not yet durable, under `always`): let it land.
      await new Promise((r) => (attempt < 4 ? setImmediate(r) : setTimeout(r, Math.min(attempt - 3, 10))));
      continue;
    }
    // A put's version, and a get's of a key this transaction wrote (-1n so far), is the record's LSN.
    const results = ev.results.map((r) => (r.type === 'put' ? { type: 'put' as const, version: lsn } : r.type === 'get' && r.version === -1n ? { ...r, version: lsn } : r)) as TxnResult<V>[];
    const res: TxnResponse<V> = { succeeded: ev.succeeded, version: lsn, results };
    return lsn === 0n ? res : host.durable(lsn, res);
  }
}
