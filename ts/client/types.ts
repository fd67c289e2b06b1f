/**
 * The remote client's public shapes. KvClient has the embedded Store's method names,
 * arguments and results (ts/store/store.ts), every method async: moving code from embedded
 * to remote is the one line that opens or connects. Transport is the internal seam between
 * that surface and a wire protocol (HTTP in http-transport.ts, gRPC in grpc-transport.ts).
 */
import type { BatchOperation, DeleteOptions, Entry, PutOptions, ScanOptions, StoreStats } from '../store/store.js';
import type { Key, Value } from '../store/keys.js';
import type { TxnCompare, TxnOp, TxnRequest, TxnResponse, TxnResult } from '../store/txn.js';
import type { WatchEvent, WatchOptions, WatchRange } from '../store/watch.js';

export type { BatchOperation, DeleteOptions, Entry, PutOptions, ScanOptions, Key, Value, TxnCompare, TxnOp, TxnRequest, TxnResponse, TxnResult, WatchEvent, WatchOptions, WatchRange };

/**
 * store.watch(), remote: the same events, over SSE (HTTP) or a server stream (gRPC). A
 * connection that drops is reopened from the version after the last event received (up to
 * the client's retry count), so the events stay gapless across a server restart.
 */
export interface RemoteWatcher extends AsyncIterable<WatchEvent> {
  /** Ends the iteration and the stream. */
  close(): void;
}

/** Certificates for https:// and grpcs:// (PEM, as file contents). */
export interface ClientTls {
  /** CA bundle the server's certificate must chain to (default: the platform's roots). */
  ca?: string | Buffer;
  /** Client certificate and key, for a server with mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface RetryOptions {
  /** Tries after the first, for a request the server refused before doing anything (RATE_LIMITED, NOT_READY). Default 3; 0 = never retry. */
  retries?: number;
  /** First back-off, ms, doubled each try, with full jitter. Default 50. */
  baseDelayMs?: number;
  /** Longest wait before a try, ms. A server's Retry-After longer than this is not waited for: the error is thrown at once. Default 5000. */
  maxDelayMs?: number;
}

export interface ConnectOptions {
  /** `http://`, `https://` (the HTTP API) or `grpc://`, `grpcs://` (the gRPC port), e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** An API key (`kvs_…`); sent as `x-api-key`. */
  apiKey?: string;
  /** A session token from login(); sent as `authorization: Bearer …`. */
  token?: string;
  tls?: ClientTls;
  /** Per request (each try), ms. Default 30000. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** HTTP: 307/308 redirects followed per request (a cluster's standby points at its primary). Default 5; 0 = none. */
  maxRedirects?: number;
  /**
   * HTTP: the consistency of every read (get, getEntry, scan). 'stale' (the server's
   * default): the node's own data, possibly behind the primary; 'linearizable': every write
   * acknowledged before the read was sent is seen, on any node, and no write that is not
   * acknowledged yet (docs/replication.md, "Routing on a standby"). gRPC serves stale reads only: 'linearizable' is INVALID_ARGUMENT there.
   */
  consistency?: 'stale' | 'linearizable';
  /** Entries fetched per scan request, 1..1000. Default 1000. */
  scanPageSize?: number;
  /** HTTP: keep-alive connections per origin. Default 16. */
  connections?: number;
}

/** store.stats() as the server reports it, plus the catalog's share of `keys`. */
export interface RemoteStats extends StoreStats {
  /** Entries under `_sys.` (the system catalog) among `keys`. */
  catalogKeys: number;
}

export interface WhoAmI {
  /** false: the server runs without authentication; the other fields are then absent. */
  auth: boolean;
  user?: string;
  type?: 'session' | 'apikey';
  keyName?: string;
  roles?: string[];
  admin?: boolean;
}

/** The embedded Store's API, remote: same names, same arguments, same results, async. */
export interface KvClient {
  /** The value, or undefined when absent or expired. */
  get(key: Key): Promise<Buffer | undefined>;
  getEntry(key: Key): Promise<Entry | undefined>;
  put(key: Key, value: Value, options?: PutOptions): Promise<{ version: bigint }>;
  delete(key: Key, options?: DeleteOptions): Promise<{ deleted: boolean }>;
  incr(key: Key, by?: bigint): Promise<bigint>;
  batch(ops: readonly BatchOperation[]): Promise<{ version: bigint }>;
  /** store.txn(), remote: one request, the same semantics (docs/api.md, "Transactions"). */
  txn(request: TxnRequest): Promise<TxnResponse>;
  /** store.watch(), remote (see RemoteWatcher). The stream opens at the first next(). */
  watch(range: WatchRange & WatchOptions, options?: WatchOptions): RemoteWatcher;
  /** Entries in key order, fetched a page (scanPageSize) at a time as the loop asks for them. */
  scan(options?: ScanOptions): AsyncGenerator<[Buffer, Buffer]>;
  /** Admin role. */
  checkpoint(): Promise<{ redoLsn: bigint }>;
  /** Admin role. */
  stats(): Promise<RemoteStats>;
  whoami(): Promise<WhoAmI>;
  /** Closes the connections. Every later call fails with CLOSED. */
  close(): Promise<void>;
}

/** A batch operation with its key and value as bytes. */
export type WireBatchOp = { type: 'put'; key: Buffer; value: Buffer; ttlMs?: number } | { type: 'del'; key: Buffer };

export type WireTxnOp = { type: 'put'; key: Buffer; value: Buffer; ttlMs?: number } | { type: 'del' | 'get'; key: Buffer } | { type: 'incr'; key: Buffer; by: bigint };
export type WireCompare = { key: Buffer; op: '=' | '!=' | '<' | '>' } & ({ version: bigint } | { value: Buffer } | { exists: boolean });
export interface WireTxn {
  compare: WireCompare[];
  success: WireTxnOp[];
  failure: WireTxnOp[];
}

export interface WireWatch {
  prefix?: Buffer;
  start?: Buffer;
  end?: Buffer;
  fromVersion?: bigint;
  maxQueue?: number;
}

/** What a watch stream yields: first where it starts, then one record's events at a time. */
export type WatchFrame = { fromVersion: bigint } | WatchEvent[];

export interface WireScan {
  prefix?: Buffer;
  start?: Buffer;
  end?: Buffer;
  limit: number;
  reverse: boolean;
  /** From the previous page. */
  cursor?: string | Buffer;
}

/** @internal One wire protocol. Keys and values arrive as bytes; errors leave as KvError. */
export interface Transport {
  getEntry(key: Buffer): Promise<Entry | undefined>;
  put(key: Buffer, value: Buffer, ttlMs: number | undefined, ifVersion: bigint | undefined): Promise<bigint>;
  delete(key: Buffer, ifVersion: bigint | undefined): Promise<boolean>;
  incr(key: Buffer, by: bigint): Promise<bigint>;
  batch(ops: WireBatchOp[]): Promise<bigint>;
  /** One page; `cursor` unset when it is the last. */
  scan(q: WireScan): Promise<{ items: Array<[Buffer, Buffer]>; cursor?: string | Buffer }>;
  txn(t: WireTxn): Promise<TxnResponse>;
  /** Opens a watch stream; ends when `signal` aborts; throws the server's error event as a KvError. */
  watch(q: WireWatch, signal: AbortSignal): AsyncGenerator<WatchFrame>;
  checkpoint(): Promise<bigint>;
  stats(): Promise<RemoteStats>;
  whoami(): Promise<WhoAmI>;
  login(name: string, password: string): Promise<{ token: string; expiresAt: number }>;
  close(): Promise<void>;
}
