/**
 * `kvstore-plus-plus/client`: the embedded store's API against a kvstored server.
 *
 *   import { connect } from 'kvstore-plus-plus/client';
 *   const kv = connect({ url: 'http://127.0.0.1:8080', apiKey: process.env.KVSTORE_API_KEY });
 *   await kv.put('user:1', 'ada');
 *   (await kv.get('user:1'))?.toString(); // 'ada'
 *
 * The URL's scheme picks the wire: http(s):// the HTTP API, grpc(s):// the gRPC port. Both
 * give the same results and the same KvError codes (test/client-behaviour.test.ts runs one
 * table of cases against the embedded store and both). docs/client.md. The gRPC libraries are
 * optional peers, loaded on a grpc(s):// client's first call (lazy-grpc-transport.ts).
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import { Client } from './client.js';
import { HttpTransport } from './http-transport.js';
import { LazyGrpcTransport } from './lazy-grpc-transport.js';
import { retryPolicy, withRetry } from './retry.js';
import type { ClientTls, ConnectOptions, KvClient, RetryOptions, Transport } from './types.js';

export { KvError, ERRORS } from '../errors.js';
export type { ErrorCode } from '../errors.js';
export type { EngineRole } from '../engine/types.js';
export type {
  BatchOperation, ClientTls, ConnectOptions, DeleteOptions, Entry, Key, KvClient, PutOptions, RemoteStats, RemoteWatcher, RetryOptions, ScanOptions, Value, WhoAmI,
  TxnCompare, TxnOp, TxnRequest, TxnResponse, TxnResult, WatchEvent, WatchOptions, WatchRange,
} from './types.js';

const CONNECT_OPTIONS = optionNames<ConnectOptions>({ url: true, apiKey: true, token: true, tls: true, timeoutMs: true, retry: true, maxRedirects: true, scanPageSize: true, connections: true, consistency: true });
const RETRY_OPTIONS = optionNames<RetryOptions>({ retries: true, baseDelayMs: true, maxDelayMs: true });
const TLS_OPTIONS = optionNames<ClientTls>({ ca: true, cert: true, key: true });

function transport(o: ConnectOptions): Transport {
  checkOptions('connect', o, CONNECT_OPTIONS);
  checkOptions('connect retry', o.retry, RETRY_OPTIONS);
  checkOptions('connect tls', o.tls, TLS_OPTIONS);
  if (typeof o?.url !== 'string') throw new KvError('INVALID_ARGUMENT', 'connect: url is required (http://, https://, grpc:// or grpcs://)');
  if (o.apiKey !== undefined && o.token !== undefined) throw new KvError('INVALID_ARGUMENT', 'connect: give apiKey or token, not both');
  const posInt = (name: string, v: number | undefined, min: number, max: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new KvError('INVALID_ARGUMENT', `connect: ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  };
  posInt('timeoutMs', o.timeoutMs, 1, 3_600_000);
  posInt('maxRedirects', o.maxRedirects, 0, 20);
  posInt('scanPageSize', o.scanPageSize, 1, 1000);
  posInt('connections', o.connections, 1, 1024);
  posInt('retry.retries', o.retry?.retries, 0, 20);
  if (o.consistency !== undefined && o.consistency !== 'stale' && o.consistency !== 'linearizable') {
    throw new KvError('INVALID_ARGUMENT', `connect: consistency must be 'stale' or 'linearizable', got ${JSON.stringify(o.consistency)}`);
  }
  let scheme: string;
  try {
    scheme = new URL(o.url).protocol;
  } catch {
    throw new KvError('INVALID_ARGUMENT', `connect: ${JSON.stringify(o.url)} is not a URL`);
  }
  if (scheme === 'http:' || scheme === 'https:') return new HttpTransport(o);
  if (scheme === 'grpc:' || scheme === 'grpcs:') {
    if (o.consistency === 'linearizable') throw new KvError('INVALID_ARGUMENT', 'connect: consistency \'linearizable\' is served over the HTTP API only; use http(s):// or read on the primary');
    return new LazyGrpcTransport(o);
  }
  throw new KvError('INVALID_ARGUMENT', `connect: ${scheme} URLs are not served; use http://, https://, grpc:// or grpcs://`);
}

/**
 * A client for the server at `url`. Nothing is sent until the first call (connections are
 * made as needed and kept alive); close() releases them.
 */
export function connect(options: ConnectOptions): KvClient {
  return new Client(transport(options), retryPolicy(options.retry), options.scanPageSize ?? 1000);
}

export interface LoginOptions extends Omit<ConnectOptions, 'apiKey' | 'token'> {
  name: string;
  password: string;
}

/** A session token for `name` (connect({ url, token }) then uses it) and when it expires, ms since the epoch. */
export async function login(options: LoginOptions): Promise<{ token: string; expiresAt: number }> {
  const { name, password, ...rest } = options;
  if (typeof name !== 'string' || typeof password !== 'string') throw new KvError('INVALID_ARGUMENT', 'login: name and password are required');
  const t = transport(rest);
  try {
    return await withRetry(retryPolicy(rest.retry), () => t.login(name, password));
  } finally {
    await t.close();
  }
}

