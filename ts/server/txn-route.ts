/**
 * POST /v1/txn: store.txn over JSON (docs/http.md, "Transactions"). Authorization is per key
 * and decided before anything runs: read on every compared key and every get, write on every
 * put, delete on every del, read and write on every incr — for both branches, since which
 * one runs is known only inside the transaction.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isUtf8 } from 'node:buffer';
import type { Action } from '../auth/service.js';
import { KvError } from '../errors.js';
import type { Store } from '../store/store.js';
import { MAX_TXN_OPS, type TxnCompare, type TxnOp, type TxnResult } from '../store/txn.js';
import type { Metrics } from './metrics.js';

type Allow = (request: FastifyRequest, action: Action, key: string) => void;

const key = { type: 'string', minLength: 1 } as const;
const encoding = { type: 'string', enum: ['utf8', 'base64'] } as const;
const compareSchema = {
  type: 'object', required: ['key', 'op'], additionalProperties: false,
  properties: { key, op: { type: 'string', enum: ['=', '!=', '<', '>'] }, version: { type: 'string', pattern: '^(0|[1-9][0-9]{0,19})$' }, value: { type: 'string' }, encoding, exists: { type: 'boolean' } },
} as const;
const opSchema = {
  type: 'object', required: ['op', 'key'], additionalProperties: false,
  properties: { op: { type: 'string', enum: ['put', 'del', 'get', 'incr'] }, key, value: { type: 'string' }, encoding, ttl: { type: 'number', exclusiveMinimum: 0 }, by: { type: 'string', pattern: '^-?\\d{1,19}$' } },
} as const;
const list = (items: object) => ({ type: 'array', maxItems: MAX_TXN_OPS, items }) as const;

interface JsonCompare { key: string; op: '=' | '!=' | '<' | '>'; version?: string; value?: string; encoding?: 'utf8' | 'base64'; exists?: boolean }
interface JsonOp { op: 'put' | 'del' | 'get' | 'incr'; key: string; value?: string; encoding?: 'utf8' | 'base64'; ttl?: number; by?: string }

const bytes = (value: string, enc: 'utf8' | 'base64' | undefined): Buffer => Buffer.from(value, enc === 'base64' ? 'base64' : 'utf8');

function toCompare(c: JsonCompare, i: number): TxnCompare {
  const given = [c.version, c.value, c.exists].filter((x) => x !== undefined).length;
  if (given !== 1) throw new KvError('INVALID_ARGUMENT', `compare[${i}] needs exactly one of version, value or exists`);
  if (c.version !== undefined) return { key: c.key, op: c.op, version: BigInt(c.version) };
  if (c.value !== undefined) return { key: c.key, op: c.op, value: bytes(c.value, c.encoding) };
  if (c.op !== '=' && c.op !== '!=') throw new KvError('INVALID_ARGUMENT', `compare[${i}]: exists takes only '=' or '!='`);
  return { key: c.key, op: c.op, exists: c.exists! };
}

function toOp(o: JsonOp, where: string): TxnOp {
  if (o.op === 'put') {
    if (o.value === undefined) throw new KvError('INVALID_ARGUMENT', `${where}: a put needs a value`);
    const value = bytes(o.value, o.encoding);
    return o.ttl === undefined ? { type: 'put', key: o.key, value } : { type: 'put', key: o.key, value, ttlMs: o.ttl * 1000 };
  }
  if (o.value !== undefined || o.ttl !== undefined || o.encoding !== undefined) throw new KvError('INVALID_ARGUMENT', `${where}: only a put takes value, encoding or ttl`);
  if (o.op === 'incr') return { type: 'incr', key: o.key, by: BigInt(o.by ?? '1') };
  if (o.by !== undefined) throw new KvError('INVALID_ARGUMENT', `${where}: only an incr takes by`);
  return { type: o.op, key: o.key };
}

const ACTIONS: Record<JsonOp['op'], Action[]> = { put: ['write'], del: ['delete'], get: ['read'], incr: ['read', 'write'] };

/** A result as JSON: versions and numbers as strings, values base64 (they are bytes). */
export function resultJson(r: TxnResult): Record<string, unknown> {
  switch (r.type) {
    case 'put': return { op: 'put', version: String(r.version) };
    case 'del': return { op: 'del', deleted: r.deleted };
    case 'incr': return { op: 'incr', value: String(r.value) };
    case 'get': return r.value === undefined ? { op: 'get', found: false } : { op: 'get', found: true, value: r.value.toString('base64'), version: String(r.version) };
  }
}

export function txnRoute(app: FastifyInstance, store: Store, allow: Allow, metrics: Metrics | null): void {
  app.post('/txn', {
    schema: {
      operationId: 'txn', tags: ['kv'], summary: 'A transaction: compare, then the success or the failure branch, atomically',
      response: { 200: { description: 'Which branch ran, and its results', $ref: 'TxnOutcome#' } },
      body: {
        type: 'object', additionalProperties: false,
        properties: { compare: list(compareSchema), success: list(opSchema), failure: list(opSchema) },
      },
    },
  }, async (request) => {
    const b = request.body as { compare?: JsonCompare[]; success?: JsonOp[]; failure?: JsonOp[] };
    for (const c of b.compare ?? []) allow(request, 'read', c.key);
    for (const o of [...(b.success ?? []), ...(b.failure ?? [])]) for (const a of ACTIONS[o.op]) allow(request, a, o.key);
    const req = {
      compare: (b.compare ?? []).map(toCompare),
      success: (b.success ?? []).map((o, i) => toOp(o, `success[${i}]`)),
      failure: (b.failure ?? []).map((o, i) => toOp(o, `failure[${i}]`)),
    };
    metrics?.storageOps.inc({ op: 'txn' });
    const r = await store.txn(req);
    return { succeeded: r.succeeded, version: String(r.version), results: r.results.map(resultJson) };
  });
}

/** A key as the JSON routes show it: `key` when UTF-8, else `keyBase64`. */
export function keyJson(k: Buffer): { key: string } | { keyBase64: string } {
  return isUtf8(k) ? { key: k.toString('utf8') } : { keyBase64: k.toString('base64') };
}
