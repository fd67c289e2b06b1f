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
import { authorizeOrThrow } from './access.js';
import type { GrpcDeps, Unary } from './grpc-server.js';
import { DEFAULT_SCAN_PAGE, MAX_SCAN_PAGE, scanPage, scanScope } from './scan-page.js';

/** As POST /v1/batch. */
const MAX_BATCH = 1000;
const EMPTY = Buffer.alloc(0);

/** A uint64 / sint64 field (a decimal string, as the loader gives them) as a bigint. */
const big = (s: string): bigint => BigInt(s);

export function grpcServices(unary: Unary, deps: GrpcDeps): { kv: KVHandlers; auth: AuthHandlers; admin: AdminHandlers } {
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

    Scan: unary('kvstore.v1.KV', 'Scan', (req, { principal }) => {
      const limit = req.limit === 0 ? DEFAULT_SCAN_PAGE : req.limit;
      if (limit > MAX_SCAN_PAGE) throw new KvError('INVALID_ARGUMENT', `limit must be 1..${MAX_SCAN_PAGE} (0 = ${DEFAULT_SCAN_PAGE}), got ${limit}`);
      const scope = scanScope(req.prefix, req.start, req.end);
      authorizeOrThrow(auth, principal, 'scan', scope);
      if (!req.keysOnly) authorizeOrThrow(auth, principal, 'read', scope);
      op('scan');
      const page = scanPage(store, {
        ...(req.prefix.length > 0 ? { prefix: req.prefix } : {}), ...(req.start !== undefined ? { start: req.start } : {}), ...(req.end !== undefined ? { end: req.end } : {}),
        limit, reverse: req.reverse, ...(req.cursor.length > 0 ? { after: req.cursor } : {}),
      });
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
        walBytes: n(s.walBytes), walSegments: n(s.walSegments), lastCheckpointLsn: n(s.lastCheckpointLsn), checkpoints: n(s.checkpoints), fsyncs: n(s.fsyncs),
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
