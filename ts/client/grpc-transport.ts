/**
 * The client over kvstored's gRPC port (proto/kvstore/v1, docs/grpc.md) with @grpc/grpc-js:
 * one channel for the three services, credentials as call metadata, a deadline per call, and
 * failed calls turned back into KvErrors from the ErrorInfo in their status details
 * (ts/grpc/status.ts). Keys and values travel as bytes, so binary keys work here.
 */
import * as grpc from '@grpc/grpc-js';
import { KvError } from '../errors.js';
import { loadKvstoreProto } from '../grpc/proto.js';
import { fromServiceError } from '../grpc/status.js';
import type { KVClient } from '../grpc/generated/kvstore/v1/KV.js';
import type { AuthClient } from '../grpc/generated/kvstore/v1/Auth.js';
import type { AdminClient } from '../grpc/generated/kvstore/v1/Admin.js';
import { REFUSED_BEFORE_ACTING, parseRetryAfter, retryable } from './retry.js';
import type { ConnectOptions, Entry, RemoteStats, Transport, TxnResponse, TxnResult, WatchEvent, WatchFrame, WhoAmI, WireBatchOp, WireScan, WireTxn, WireTxnOp, WireWatch } from './types.js';

function wireOp(op: WireTxnOp): Record<string, unknown> {
  if (op.type === 'put') return { put: { key: op.key, value: op.value, ...(op.ttlMs !== undefined ? { ttlMs: op.ttlMs } : {}) } };
  if (op.type === 'incr') return { incr: { key: op.key, by: String(op.by) } };
  return { [op.type]: { key: op.key } };
}

type WireResult = { result?: 'put' | 'del' | 'get' | 'incr' | undefined; put?: { version: string } | null; del?: { deleted: boolean } | null; get?: { entry: { value: Buffer; version: string } | null } | null; incr?: { value: string } | null };

function result(r: WireResult): TxnResult {
  switch (r.result) {
    case 'put': return { type: 'put', version: BigInt(r.put!.version) };
    case 'del': return { type: 'del', deleted: r.del!.deleted };
    case 'incr': return { type: 'incr', value: BigInt(r.incr!.value) };
    default: return r.get!.entry ? { type: 'get', value: r.get!.entry.value, version: BigInt(r.get!.entry.version) } : { type: 'get', value: undefined, version: 0n };
  }
}

/** Room for the largest value (16 MiB) and a page of scan results. */
const MAX_MESSAGE = 64 * 1024 * 1024;

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;

export class GrpcTransport implements Transport {
  readonly #kv: KVClient;
  readonly #auth: AuthClient;
  readonly #admin: AdminClient;
  readonly #credential: [string, string] | null;
  readonly #timeoutMs: number;

  constructor(o: ConnectOptions) {
    const u = new URL(o.url);
    const target = `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port || (u.protocol === 'grpcs:' ? '443' : '80')}`;
    const tls = o.tls ?? {};
    const toBuf = (v: string | Buffer | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
    const creds = u.protocol === 'grpcs:'
      ? grpc.credentials.createSsl(toBuf(tls.ca), toBuf(tls.key), toBuf(tls.cert))
      : grpc.credentials.createInsecure();
    const channel = { 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE };
    const { proto } = loadKvstoreProto();
    this.#kv = new proto.kvstore.v1.KV(target, creds, channel);
    // The other two share the first one's channel (one connection).
    const shared = { ...channel, channelOverride: this.#kv.getChannel() };
    this.#auth = new proto.kvstore.v1.Auth(target, creds, shared);
    this.#admin = new proto.kvstore.v1.Admin(target, creds, shared);
    this.#credential = o.apiKey !== undefined ? ['x-api-key', o.apiKey] : o.token !== undefined ? ['authorization', `Bearer ${o.token}`] : null;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** Calls one unary method with the credentials and a deadline; its failure as a KvError. */
  #call<Res>(invoke: (md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => unknown): Promise<Res> {
    const md = new grpc.Metadata();
    if (this.#credential) md.set(this.#credential[0], this.#credential[1]);
    return new Promise<Res>((resolve, reject) => {
      invoke(md, { deadline: Date.now() + this.#timeoutMs }, (err, res) => {
        if (err) reject(this.#error(err));
        else resolve(res as Res);
      });
    });
  }

  #error(err: grpc.ServiceError): KvError {
    const kv = fromServiceError(err);
    // Refused before anything was done (the HTTP transport's rule, retry.ts).
    if (REFUSED_BEFORE_ACTING.has(kv.code)) {
      const after = err.metadata?.get('retry-after')[0];
      retryable(kv, parseRetryAfter(typeof after === 'string' ? after : undefined));
    }
    return kv;
  }

  async getEntry(key: Buffer): Promise<Entry | undefined> {
    const r = await this.#call<{ entry: { value: Buffer; version: string; expiresAtMs: string } | null }>((md, o, cb) => this.#kv.Get({ key }, md, o, cb));
    if (!r.entry) return undefined;
    const e = r.entry;
    return e.expiresAtMs === '0' ? { value: e.value, version: BigInt(e.version) } : { value: e.value, version: BigInt(e.version), expiresAt: Number(e.expiresAtMs) };
  }

  async put(key: Buffer, value: Buffer, ttlMs: number | undefined, ifVersion: bigint | undefined): Promise<bigint> {
    const req = { key, value, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(ifVersion !== undefined ? { ifVersion: String(ifVersion) } : {}) };
    return BigInt((await this.#call<{ version: string }>((md, o, cb) => this.#kv.Put(req, md, o, cb))).version);
  }

  async delete(key: Buffer, ifVersion: bigint | undefined): Promise<boolean> {
    const req = { key, ...(ifVersion !== undefined ? { ifVersion: String(ifVersion) } : {}) };
    return (await this.#call<{ deleted: boolean }>((md, o, cb) => this.#kv.Delete(req, md, o, cb))).deleted;
  }

  async incr(key: Buffer, by: bigint): Promise<bigint> {
    return BigInt((await this.#call<{ value: string }>((md, o, cb) => this.#kv.Incr({ key, by: String(by) }, md, o, cb))).value);
  }

  async batch(ops: WireBatchOp[]): Promise<bigint> {
    const req = { ops: ops.map((op) => (op.type === 'put' ? { put: { key: op.key, value: op.value, ...(op.ttlMs !== undefined ? { ttlMs: op.ttlMs } : {}) } } : { del: { key: op.key } })) };
    return BigInt((await this.#call<{ version: string }>((md, o, cb) => this.#kv.Batch(req, md, o, cb))).version);
  }

  async scan(q: WireScan): Promise<{ items: Array<[Buffer, Buffer]>; cursor?: Buffer }> {
    const req = {
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(q.start !== undefined ? { start: q.start } : {}), ...(q.end !== undefined ? { end: q.end } : {}),
      limit: q.limit, reverse: q.reverse, ...(q.cursor !== undefined ? { cursor: Buffer.from(q.cursor) } : {}),
    };
    const r = await this.#call<{ items: Array<{ key: Buffer; value: Buffer }>; cursor: Buffer }>((md, o, cb) => this.#kv.Scan(req, md, o, cb));
    const items = r.items.map((i): [Buffer, Buffer] => [i.key, i.value]);
    return r.cursor.length > 0 ? { items, cursor: r.cursor } : { items };
  }

  async txn(t: WireTxn): Promise<TxnResponse> {
    const req = {
      compare: t.compare.map((c) => ({ key: c.key, op: c.op, ...('version' in c ? { version: String(c.version) } : 'value' in c ? { value: c.value } : { exists: c.exists }) })),
      success: t.success.map(wireOp),
      failure: t.failure.map(wireOp),
    };
    const r = await this.#call<{ succeeded: boolean; version: string; results: WireResult[] }>((md, o, cb) => this.#kv.Txn(req, md, o, cb));
    return { succeeded: r.succeeded, version: BigInt(r.version), results: r.results.map(result) };
  }

  async *watch(q: WireWatch, signal: AbortSignal): AsyncGenerator<WatchFrame> {
    const md = new grpc.Metadata();
    if (this.#credential) md.set(this.#credential[0], this.#credential[1]);
    const req = {
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(q.start !== undefined ? { start: q.start } : {}), ...(q.end !== undefined ? { end: q.end } : {}),
      ...(q.fromVersion !== undefined ? { fromVersion: String(q.fromVersion) } : {}), ...(q.maxQueue !== undefined ? { maxQueue: q.maxQueue } : {}),
    };
    const call = this.#kv.Watch(req, md);
    const cancel = (): void => call.cancel();
    signal.addEventListener('abort', cancel);
    type Msg = { fromVersion: string; version: string; events: Array<{ type: string; key: Buffer; value: Buffer; expiresAtMs: string }> };
    try {
      for await (const m of call as AsyncIterable<Msg>) {
        if (m.events.length === 0) {
          yield { fromVersion: BigInt(m.fromVersion) };
          continue;
        }
        const version = BigInt(m.version);
        yield m.events.map((e): WatchEvent => {
          const out: WatchEvent = { type: e.type as WatchEvent['type'], key: e.key, version };
          if (e.type === 'put') out.value = e.value;
          if (e.expiresAtMs !== '0') out.expiresAt = Number(e.expiresAtMs);
          return out;
        });
      }
    } catch (err) {
      if (signal.aborted) return;
      const kv = this.#error(err as grpc.ServiceError) as KvError & { resumeFrom?: bigint };
      const m = /fromVersion (\d+)/.exec(kv.message);
      if (kv.code === 'WATCH_LAGGED' && m) kv.resumeFrom = BigInt(m[1]!);
      throw kv;
    } finally {
      signal.removeEventListener('abort', cancel);
      call.cancel();
    }
    if (!signal.aborted) throw new KvError('UNAVAILABLE', 'the watch stream ended');
  }

  async checkpoint(): Promise<bigint> {
    return BigInt((await this.#call<{ redoLsn: string }>((md, o, cb) => this.#admin.Checkpoint({}, md, o, cb))).redoLsn);
  }

  async stats(): Promise<RemoteStats> {
    type S = Record<'keys' | 'catalogKeys' | 'nextLsn' | 'durableLsn' | 'flushedLsn' | 'appliedLsn' | 'walBytes' | 'walSegments' | 'lastCheckpointLsn' | 'lastCheckpointTimeMs' | 'checkpoints' | 'fsyncs' | 'maxGroupCommit' | 'fsyncMicros' | 'groupRecords' | 'expired', string>
      & { engine: string; durability: string; role: string; fsyncBuckets: string[]; groupBuckets: string[] };
    const s = await this.#call<S>((md, o, cb) => this.#admin.Stats({}, md, o, cb));
    return {
      engine: s.engine as RemoteStats['engine'], durability: s.durability as RemoteStats['durability'], keys: Number(s.keys), catalogKeys: Number(s.catalogKeys),
      nextLsn: BigInt(s.nextLsn), durableLsn: BigInt(s.durableLsn), flushedLsn: BigInt(s.flushedLsn), appliedLsn: BigInt(s.appliedLsn),
      role: s.role === 'standby' ? 'standby' : 'primary', walBytes: Number(s.walBytes), walSegments: Number(s.walSegments),
      lastCheckpointLsn: BigInt(s.lastCheckpointLsn), lastCheckpointTimeMs: Number(s.lastCheckpointTimeMs), checkpoints: Number(s.checkpoints), fsyncs: Number(s.fsyncs), maxGroupCommit: Number(s.maxGroupCommit),
      fsyncBuckets: s.fsyncBuckets.map(Number), fsyncMicros: Number(s.fsyncMicros), groupBuckets: s.groupBuckets.map(Number), groupRecords: Number(s.groupRecords),
      expired: Number(s.expired),
    };
  }

  async whoami(): Promise<WhoAmI> {
    const w = await this.#call<{ auth: boolean; user: string; type: string; keyName: string; roles: string[]; admin: boolean }>((md, o, cb) => this.#auth.WhoAmI({}, md, o, cb));
    if (!w.auth) return { auth: false };
    return { auth: true, user: w.user, type: w.type as 'session' | 'apikey', ...(w.keyName ? { keyName: w.keyName } : {}), roles: w.roles, admin: w.admin };
  }

  async login(name: string, password: string): Promise<{ token: string; expiresAt: number }> {
    const r = await this.#call<{ token: string; expiresAtMs: string }>((md, o, cb) => this.#auth.Login({ name, password }, md, o, cb));
    return { token: r.token, expiresAt: Number(r.expiresAtMs) };
  }

  async close(): Promise<void> {
    this.#auth.close();
    this.#admin.close();
    this.#kv.close();
  }
}
