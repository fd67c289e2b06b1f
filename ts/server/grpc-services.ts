/**
 * The handlers of kvstore.v1's KV, Auth and Admin services: the HTTP routes' semantics
 * (routes.ts) over the generated message types. Each checks what the schema cannot, asks
 * authorizeOrThrow() for exactly the permissions its HTTP twin asks for, counts the storage
 * operation under the same `op` label, and calls the store or AuthService. Absence is not an
 * error here (Get answers an unset entry, Delete deleted = false), as in the embedded API.
 */
import { KvError } from '../errors.js';
import { type BatchOperation, systemView } from '../store/store.js';
import type { KVHandlers } from '../grpc/generated/kvstore/v1/KV.js';
import type { AuthHandlers } from '../grpc/generated/kvstore/v1/Auth.js';
import type { AdminHandlers } from '../grpc/generated/kvstore/v1/Admin.js';
import type { BatchOp__Output } from '../grpc/generated/kvstore/v1/BatchOp.js';
import type { TxnOp__Output } from '../grpc/generated/kvstore/v1/TxnOp.js';
import type { Compare__Output } from '../grpc/generated/kvstore/v1/Compare.js';
import type { TxnResult as WireResult } from '../grpc/generated/kvstore/v1/TxnResult.js';
import type { WatchResponse } from '../grpc/generated/kvstore/v1/WatchResponse.js';
import type { TxnCompare, TxnOp, TxnResult } from '../store/txn.js';
import type { WatchEvent } from '../store/watch.js';
import { authorizeOrThrow } from './access.js';
import type { GrpcDeps, Streaming, Unary } from './grpc-server.js';
import { DEFAULT_SCAN_PAGE, MAX_SCAN_PAGE, type ScanPageRequest, scanAccess, scanPage, scanScope } from './scan-page.js';

/** As POST /v1/batch. */
const MAX_BATCH = 1000;
const EMPTY = Buffer.alloc(0);

/** A uint64 / sint64 field (a decimal string, as the loader gives them) as a bigint. */
const big = (s: string): bigint => BigInt(s);

const TXN_ACTIONS = { put: ['write'], del: ['delete'], get: ['read'], incr: ['read', 'write'] } as const;

function txnCompare(c: Compare__Output, i: number): TxnCompare {
  const op = c.op as TxnCompare['op'];
  if (c.target === 'version') return { key: c.key, op, version: big(c.version!) };
  if (c.target === 'value') return { key: c.key, op, value: c.value! };
  if (c.target === 'exists') return { key: c.key, op: op as '=' | '!=', exists: c.exists! };
  throw new KvError('INVALID_ARGUMENT', `compare[${i}] sets none of version, value or exists`);
}

function txnOp(o: TxnOp__Output, where: string): TxnOp {
  if (o.op === 'put' && o.put) return o.put.ttlMs !== undefined ? { type: 'put', key: o.put.key, value: o.put.value, ttlMs: o.put.ttlMs } : { type: 'put', key: o.put.key, value: o.put.value };
  if (o.op === 'del' && o.del) return { type: 'del', key: o.del.key };
  if (o.op === 'get' && o.get) return { type: 'get', key: o.get.key };
  if (o.op === 'incr' && o.incr) return { type: 'incr', key: o.incr.key, by: o.incr.by !== undefined ? big(o.incr.by) : 1n };
  throw new KvError('INVALID_ARGUMENT', `${where} sets none of put, del, get or incr`);
}

function txnResult(r: TxnResult): WireResult {
  switch (r.type) {
    case 'put': return { put: { version: String(r.version) } };
    case 'del': return { del: { deleted: r.deleted } };
    case 'incr': return { incr: { value: String(r.value) } };
    case 'get': return { get: { entry: r.value === undefined ? null : { value: r.value, version: String(r.version), expiresAtMs: '0' } } };
  }
}

function watchMessage(events: WatchEvent[]): WatchResponse {
  return {
    version: String(events[0]!.version),
    events: events.map((e) => ({ type: e.type, key: e.key, value: e.value ?? EMPTY, expiresAtMs: String(e.expiresAt ?? 0) })),
  };
}

export function grpcServices(unary: Unary, deps: GrpcDeps, streaming: Streaming): { kv: KVHandlers; auth: AuthHandlers; admin: AdminHandlers } {
  const { store, auth, metrics } = deps;
  const op = (name: string): void => void metrics?.storageOps.inc({ op: name });

  const kv: KVHandlers = {
    Get: unary('kvstore.v1.KV', 'Get', (req, { principal }) => {
      authorizeOrThrow(auth, principal, 'read', req.key);
      op('get');
      const e = store.getEntry(req.key);
      return { entry: e ? { value: e.value, version: String(e.version), expiresAtMs: String(e.expiresAt ?? 0) } : null };
    }),

    Put: unary('kvstore.v1.KV', 'Put', async (req, { principal }) => {
      authorizeOrThrow(auth, principal, 'write', req.key);
      op('put');
      const { version } = await store.put(req.key, req.value, {
        ...(req.ttlMs !== undefined ? { ttlMs: req.ttlMs } : {}),
        ...(req.ifVersion !== undefined ? { ifVersion: big(req.ifVersion) } : {}),
      });
      return { version: String(version) };
    }, { write: true }),

    Delete: unary('kvstore.v1.KV', 'Delete', async (req, { principal }) => {
      authorizeOrThrow(auth, principal, 'delete', req.key);
      op('delete');
      return store.delete(req.key, req.ifVersion !== undefined ? { ifVersion: big(req.ifVersion) } : {});
    }, { write: true }),

    Incr: unary('kvstore.v1.KV', 'Incr', async (req, { principal }) => {
      authorizeOrThrow(auth, principal, 'read', req.key);
      authorizeOrThrow(auth, principal, 'write', req.key);
      op('incr');
      return { value: String(await store.incr(req.key, req.by !== undefined ? big(req.by) : 1n)) };
    }, { write: true }),

    Batch: unary('kvstore.v1.KV', 'Batch', async (req, { principal }) => {
      if (req.ops.length > MAX_BATCH) throw new KvError('INVALID_ARGUMENT', `a batch holds at most ${MAX_BATCH} operations, got ${req.ops.length}`);
      // Every op is authorized before anything is written.
      const ops = req.ops.map((o: BatchOp__Output, i): BatchOperation => {
        if (o.op === 'put' && o.put) {
          authorizeOrThrow(auth, principal, 'write', o.put.key);
          return o.put.ttlMs !== undefined ? { type: 'put', key: o.put.key, value: o.put.value, ttlMs: o.put.ttlMs } : { type: 'put', key: o.put.key, value: o.put.value };
        }
        if (o.op === 'del' && o.del) {
          authorizeOrThrow(auth, principal, 'delete', o.del.key);
          return { type: 'del', key: o.del.key };
        }
        throw new KvError('INVALID_ARGUMENT', `ops[${i}] sets neither put nor del`);
      });
      op('batch');
      const { version } = await store.batch(ops);
      return { version: String(version) };
    }, { write: true }),

    Txn: unary('kvstore.v1.KV', 'Txn', async (req, { principal }) => {
      const compare = req.compare.map(txnCompare);
      const success = req.success.map((o, i) => txnOp(o, `success[${i}]`));
      const failure = req.failure.map((o, i) => txnOp(o, `failure[${i}]`));
      // Every key is authorized before anything runs, both branches (as POST /v1/txn).
      for (const c of compare) authorizeOrThrow(auth, principal, 'read', c.key as Buffer);
      for (const o of [...success, ...failure]) for (const a of TXN_ACTIONS[o.type]) authorizeOrThrow(auth, principal, a, o.key as Buffer);
      op('txn');
      const r = await store.txn({ compare, success, failure });
      return { succeeded: r.succeeded, version: String(r.version), results: r.results.map(txnResult) };
    }),

    Watch: streaming('kvstore.v1.KV', 'Watch', async (req, { principal }, write, signal) => {
      const filter = auth === null ? null : (key: Buffer): boolean => auth.authorize(principal, 'read', key).allow;
      // As GET /v1/watch: a principal that may read no key of the range is refused at once
      // (decided from its grants, the scan rule's first step), the rest filtered key by key.
      const scope = scanScope(req.prefix, req.start, req.end);
      if (auth !== null && !auth.mayAnyUnder(principal, 'read', scope)) {
        const d = auth.authorize(principal, 'read', 'x'); // a principal that no longer stands is AUTH_FAILED
        if (d.invalid) throw new KvError('AUTH_FAILED', undefined, { cause: d.reason });
        throw new KvError('PERMISSION_DENIED', `no role of ${principal?.user ?? 'this principal'} grants read on any key in this range`);
      }
      const w = store._watch(
        { ...(req.prefix.length > 0 ? { prefix: req.prefix } : {}), ...(req.start !== undefined ? { start: req.start } : {}), ...(req.end !== undefined ? { end: req.end } : {}) },
        { ...(req.fromVersion !== undefined ? { fromVersion: big(req.fromVersion) } : {}), ...(req.maxQueue > 0 ? { maxQueue: req.maxQueue } : {}) },
        filter,
      );
      op('watch');
      const stop = (): void => w.close();
      signal.addEventListener('abort', stop);
      try {
        await write({ fromVersion: String(w.fromVersion), version: '0', events: [] });
        for (;;) {
          const r = await w.nextRecord();
          if (r === null) return;
          await write(watchMessage(r));
        }
      } finally {
        signal.removeEventListener('abort', stop);
        w.close();
      }
    }),

    Scan: unary('kvstore.v1.KV', 'Scan', (req, { principal }) => {
      const limit = req.limit === 0 ? DEFAULT_SCAN_PAGE : req.limit;
      if (limit > MAX_SCAN_PAGE) throw new KvError('INVALID_ARGUMENT', `limit must be 1..${MAX_SCAN_PAGE} (0 = ${DEFAULT_SCAN_PAGE}), got ${limit}`);
      const scope = scanScope(req.prefix, req.start, req.end);
      const q: ScanPageRequest = {
        ...(req.prefix.length > 0 ? { prefix: req.prefix } : {}), ...(req.start !== undefined ? { start: req.start } : {}), ...(req.end !== undefined ? { end: req.end } : {}),
        limit, reverse: req.reverse, ...(req.cursor.length > 0 ? { after: req.cursor } : {}),
      };
      // As GET /v1/kv: only the keys the caller may see (scan; and read, with values).
      const see = scanAccess(auth, principal, req.keysOnly ? ['scan'] : ['scan', 'read'], scope, q);
      op('scan');
      const page = scanPage(store, q, see);
      return { items: page.items.map(([key, value]) => ({ key, value: req.keysOnly ? EMPTY : value })), cursor: page.last ?? EMPTY };
    }),
  };

  const authService: AuthHandlers = {
    Login: unary('kvstore.v1.Auth', 'Login', async (req, { ip }) => {
      if (!auth) throw new KvError('AUTH_DISABLED', 'authentication is off on this server (kvstored --no-auth / auth = false): there are no users to log in as');
      const { token, expiresAt } = await auth.login(req.name, req.password, { ip });
      return { token, expiresAtMs: String(expiresAt) };
    }, { public: true, write: true }),

    WhoAmI: unary('kvstore.v1.Auth', 'WhoAmI', (_req, { principal: p }) => {
      if (!p || !auth) return { auth: false };
      return { auth: true, user: p.user, type: p.type, keyName: p.keyName ?? '', roles: [...auth.effectiveRoles(p)], admin: auth.authorize(p, 'admin').allow };
    }),
  };

  const admin: AdminHandlers = {
    Stats: unary('kvstore.v1.Admin', 'Stats', (_req, { principal }) => {
      authorizeOrThrow(auth, principal, 'admin');
      const s = store.stats();
      const n = (v: number | bigint): string => String(v);
      return {
        engine: s.engine, durability: s.durability, keys: n(s.keys), catalogKeys: n(systemView(store).count()), nextLsn: n(s.nextLsn), durableLsn: n(s.durableLsn),
        walBytes: n(s.walBytes), walSegments: n(s.walSegments), lastCheckpointLsn: n(s.lastCheckpointLsn), lastCheckpointTimeMs: n(s.lastCheckpointTimeMs), checkpoints: n(s.checkpoints), fsyncs: n(s.fsyncs),
        maxGroupCommit: n(s.maxGroupCommit), fsyncBuckets: s.fsyncBuckets.map(n), fsyncMicros: n(s.fsyncMicros), groupBuckets: s.groupBuckets.map(n),
        groupRecords: n(s.groupRecords), expired: n(s.expired), flushedLsn: n(s.flushedLsn), appliedLsn: n(s.appliedLsn), role: s.role,
      };
    }),

    Checkpoint: unary('kvstore.v1.Admin', 'Checkpoint', async (_req, { principal }) => {
      authorizeOrThrow(auth, principal, 'admin');
      const end = metrics?.checkpointSeconds.startTimer();
      const { redoLsn } = await store.checkpoint();
      end?.();
      return { redoLsn: String(redoLsn) };
    }),
  };

  return { kv, auth: authService, admin };
}
