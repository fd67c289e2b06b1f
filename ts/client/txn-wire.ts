/**
 * A TxnRequest as both transports send it: keys and values as bytes, the shape checks that
 * need no server (the server decides limits, permissions and reserved keys, and answers with
 * the codes the embedded store throws).
 */
import { KvError } from '../errors.js';
import { optionNames } from '../options.js';
import { bytes } from './bytes.js';
import type { TxnRequest, WireCompare, WireTxn, WireTxnOp } from './types.js';

const REQUEST = optionNames<TxnRequest>({ compare: true, success: true, failure: true });
const OPS = new Set(['=', '!=', '<', '>']);

function list<T>(v: unknown, what: string): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new KvError('INVALID_ARGUMENT', `txn ${what} must be an array`);
  return v as T[];
}

function compare(c: Record<string, unknown>, i: number): WireCompare {
  if (c === null || typeof c !== 'object') throw new KvError('INVALID_ARGUMENT', `compare ${i} must be an object`);
  const op = c.op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new KvError('INVALID_ARGUMENT', `compare ${i}: op must be '=', '!=', '<' or '>'`);
  const key = bytes(c.key, 'key');
  const o = op as WireCompare['op'];
  const kinds = ['version', 'value', 'exists'].filter((k) => c[k] !== undefined);
  if (kinds.length !== 1) throw new KvError('INVALID_ARGUMENT', `compare ${i} needs exactly one of version, value or exists`);
  for (const f of Object.keys(c)) if (f !== 'key' && f !== 'op' && f !== kinds[0]) throw new KvError('UNKNOWN_OPTION', `compare ${i}: unknown field ${f}`);
  if (c.version !== undefined) {
    if (typeof c.version !== 'bigint' || c.version < 0n) throw new KvError('INVALID_ARGUMENT', `compare ${i}: version must be a non-negative bigint`);
    return { key, op: o, version: c.version };
  }
  if (c.value !== undefined) return { key, op: o, value: bytes(c.value, 'value') };
  if (typeof c.exists !== 'boolean') throw new KvError('INVALID_ARGUMENT', `compare ${i}: exists must be a boolean`);
  return { key, op: o, exists: c.exists };
}

const FIELDS: Record<string, Set<string>> = {
  put: new Set(['type', 'key', 'value', 'ttlMs']), del: new Set(['type', 'key']), get: new Set(['type', 'key']), incr: new Set(['type', 'key', 'by']),
};

function op(o: Record<string, unknown>, where: string): WireTxnOp {
  const t = (o as { type?: unknown } | null)?.type;
  if (typeof t !== 'string' || !(t in FIELDS)) throw new KvError('INVALID_ARGUMENT', `${where} needs type 'put', 'del', 'get' or 'incr'`);
  for (const f of Object.keys(o)) if (!FIELDS[t]!.has(f)) throw new KvError('UNKNOWN_OPTION', `${where}: unknown field ${f}`);
  const key = bytes(o.key, 'key');
  if (t === 'put') {
    if (o.ttlMs !== undefined && typeof o.ttlMs !== 'number') throw new KvError('INVALID_ARGUMENT', `ttlMs must be a positive number of milliseconds, got ${String(o.ttlMs)}`);
    return o.ttlMs === undefined ? { type: 'put', key, value: bytes(o.value, 'value') } : { type: 'put', key, value: bytes(o.value, 'value'), ttlMs: o.ttlMs };
  }
  if (t === 'incr') {
    const by = o.by ?? 1n;
    if (typeof by !== 'bigint') throw new KvError('INVALID_ARGUMENT', `${where}: by must be a bigint`);
    return { type: 'incr', key, by };
  }
  return { type: t as 'del' | 'get', key };
}

export function toWireTxn(req: TxnRequest): WireTxn {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new KvError('INVALID_ARGUMENT', 'txn needs an object { compare, success, failure }');
  for (const k of Object.keys(req)) if (!REQUEST.includes(k)) throw new KvError('UNKNOWN_OPTION', `txn: unknown option ${k}`);
  return {
    compare: list<Record<string, unknown>>(req.compare, 'compare').map(compare),
    success: list<Record<string, unknown>>(req.success, 'success').map((o, i) => op(o, `success op ${i}`)),
    failure: list<Record<string, unknown>>(req.failure, 'failure').map((o, i) => op(o, `failure op ${i}`)),
  };
}
