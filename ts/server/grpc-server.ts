/**
 * kvstored's gRPC port (@grpc/grpc-js): the KV, Auth and Admin services of proto/kvstore/v1
 * (grpc-services.ts) plus server reflection, on the HTTP server's host, with its TLS / mutual
 * TLS settings, its credentials and RBAC (access.ts), its rate limiters (one RateLimits
 * object for both ports), its metrics registry and its logger.
 *
 * Every call goes through unary(): ready? → per-IP limit → credentials (unless the method is
 * public) → per-principal limit → handler → answer, or a status built from the KvError by
 * ts/grpc/status.ts. Only a bug is INTERNAL, logged with the call's request id; the port
 * keeps serving.
 */
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { FastifyBaseLogger } from 'fastify';
import { KvError } from '../errors.js';
import type { AuthService, Principal } from '../auth/service.js';
import type { Store } from '../store/store.js';
import { loadKvstoreProto } from '../grpc/proto.js';
import { toServiceError } from '../grpc/status.js';
import { authenticate } from './access.js';
import type { ServerConfig } from './config.js';
import { grpcServices } from './grpc-services.js';
import { RateLimits } from './limiter.js';
import type { Metrics } from './metrics.js';
import { readPem } from './server.js';
import type { ClusterView } from './cluster-view.js';
import { PRIMARY_HEADER } from './forward.js';
import { ROUTING_CODES } from './problem.js';
import { primaryOrigin } from './routing.js';

/** What a handler knows of its caller. */
export interface CallContext {
  /** null with authentication off, and on public methods (Login). */
  principal: Principal | null;
  ip: string;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;

/** Wraps a handler with the checks every call gets; see the file comment. */
export type Unary = <Req, Res>(service: string, method: string, handler: UnaryHandler<Req, Res>, opts?: { public?: boolean; write?: boolean }) => grpc.handleUnaryCall<Req, Res>;

/**
 * A server-streaming handler: after the same checks as unary(), writes messages (await the
 * returned promise of write() for backpressure) until it returns; `signal` aborts when the
 * caller cancels or the server closes.
 */
export type StreamHandler<Req, Res> = (request: Req, ctx: CallContext, write: (m: Res) => Promise<void>, signal: AbortSignal) => Promise<void>;
export type Streaming = <Req, Res>(service: string, method: string, handler: StreamHandler<Req, Res>) => grpc.handleServerStreamingCall<Req, Res>;

export interface GrpcDeps {
  store: Store;
  auth: AuthService | null;
  metrics: Metrics | null;
  limits: RateLimits;
  log: FastifyBaseLogger;
  /**
   * Who the primary is. A write (a method marked `write`) on a node that is not the writable
   * primary is not forwarded over gRPC: it fails with NOT_PRIMARY, the primary's URL in the
   * message and in the `x-kvstore-primary` trailer. Omitted: every node takes writes (the
   * store refuses them on a standby with READ_ONLY).
   */
  view?: ClusterView;
}

export interface RunningGrpc {
  /** `grpc://host:port`, or `grpcs://host:port` with TLS: what the client's connect() takes. */
  url: string;
  port: number;
  /** false once shutdown begins: calls are answered UNAVAILABLE / NOT_READY. */
  setReady(ready: boolean): void;
  /** Stops accepting, lets calls in flight finish for up to graceMs, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/** The peer's address without its port: `127.0.0.1:5000` → `127.0.0.1`, `::1:5000` → `::1`. */
export function peerIp(peer: string): string {
  const i = peer.lastIndexOf(':');
  const host = i > 0 ? peer.slice(0, i) : peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** One metadata value, or undefined; a key sent more than once is as bad as two credentials. */
function single(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key);
  if (v.length > 1) throw new KvError('INVALID_ARGUMENT', `send ${key} once`);
  return typeof v[0] === 'string' ? v[0] : undefined;
}

function credentials(config: ServerConfig): grpc.ServerCredentials {
  const cert = readPem('tls_cert', config.tlsCert);
  const key = readPem('tls_key', config.tlsKey);
  const ca = readPem('tls_ca', config.tlsCa);
  if (!cert || !key) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], config.tlsRequireClientCert);
}

export async function startGrpcServer(config: ServerConfig, port: number, deps: GrpcDeps): Promise<RunningGrpc> {
  const { auth, metrics, limits, log } = deps;
  let ready = true;
  const creds = credentials(config);
  const server = new grpc.Server({
    // A put of the largest value fits, as bodyLimit lets it through HTTP.
    'grpc.max_receive_message_length': config.bodyLimit,
    'grpc.keepalive_permit_without_calls': 1,
  });

  /** ready? → per-IP limit → credentials (unless public) → per-principal limit. */
  const admit = async (call: { getPeer(): string; metadata: grpc.Metadata }, method: string, opts: { public?: boolean }, onLimit: (wait: number) => void): Promise<CallContext> => {
    const ip = peerIp(call.getPeer());
    const limited = (wait: number, limit: string): KvError => {
      metrics?.rateLimited.inc({ limit });
      onLimit(wait);
      return new KvError('RATE_LIMITED', `rate limit reached; retry in ${wait} s`);
    };
    if (!ready) throw new KvError('NOT_READY', 'the server is shutting down; retry on another instance or after restart');
    const ipWait = limits.ip.hit(ip);
    if (ipWait > 0) throw limited(ipWait, 'ip');
    let principal: Principal | null = null;
    if (opts.public) {
      if (method === 'Login') {
        const wait = limits.login.hit(ip);
        if (wait > 0) throw limited(wait, 'login');
      }
    } else if (auth) {
      principal = await authenticate(auth, single(call.metadata, 'x-api-key'), single(call.metadata, 'authorization'), ip);
      const wait = limits.principal.hit(RateLimits.principalKey(principal));
      if (wait > 0) throw limited(wait, 'principal');
    }
    return { principal, ip };
  };

  /** The status a failed call ends with (logged as unary() logs it). */
  const failure = (err: unknown, service: string, method: string, retryAfter: number | undefined, primaryUrl: string | null = null): grpc.ServiceError => {
    const requestId = crypto.randomUUID();
    const kv = err instanceof KvError ? err : new KvError('INTERNAL', undefined, { cause: err });
    if (ROUTING_CODES.has(kv.code)) log.warn({ code: kv.code, grpc: `${service}/${method}`, requestId }, 'request not served here');
    else if (kv.status >= 500) log.error({ err, code: kv.code, grpc: `${service}/${method}`, requestId }, 'request failed');
    else if (kv.code === 'AUTH_FAILED' || kv.code === 'PERMISSION_DENIED') log.info({ code: kv.code, reason: typeof kv.cause === 'string' ? kv.cause : undefined, grpc: `${service}/${method}`, requestId }, 'request refused');
    const e = toServiceError(kv, retryAfter ?? (ROUTING_CODES.has(kv.code) ? 1 : undefined));
    e.metadata.set('x-request-id', requestId);
    if (primaryUrl !== null) e.metadata.set(PRIMARY_HEADER, primaryUrl);
    return e as grpc.ServiceError;
  };

  const unary: Unary = (service, method, handler, opts = {}) => (call, callback) => {
    const t0 = process.hrtime.bigint();
    let retryAfter: number | undefined;
    let primaryUrl: string | null = null;
    const finish = (code: grpc.status): void => {
      metrics?.observeGrpc(service, method, grpc.status[code] ?? String(code), Number(process.hrtime.bigint() - t0) / 1e9);
      if (config.accessLog) log.info({ grpc: `${service}/${method}`, code: grpc.status[code], ip: peerIp(call.getPeer()), ms: Number(process.hrtime.bigint() - t0) / 1e6 }, 'grpc call');
    };
    const run = async (): Promise<unknown> => {
      const ctx = await admit(call, method, opts, (w) => (retryAfter = w));
      const view = deps.view;
      if (opts.write && view && !view.isWritablePrimary()) {
        primaryUrl = primaryOrigin(view.primaryUrl());
        throw new KvError('NOT_PRIMARY', primaryUrl === null
          ? 'this node is not the primary and no primary is known right now; retry'
          : `this node is not the primary: send writes to ${primaryUrl} (its HTTP API; gRPC writes are not forwarded)`);
      }
      return handler(call.request, ctx);
    };
    run().then(
      (response) => {
        finish(grpc.status.OK);
        callback(null, response as never);
      },
      (err: unknown) => {
        const e = failure(err, service, method, retryAfter, primaryUrl);
        finish(e.code);
        callback(e);
      },
    );
  };

  /** Streams open now: closing the port aborts them, so a watch does not hold shutdown for graceMs. */
  const streams = new Set<AbortController>();
  const streaming: Streaming = (service, method, handler) => (call) => {
    const t0 = process.hrtime.bigint();
    let retryAfter: number | undefined;
    const stop = new AbortController();
    streams.add(stop);
    call.on('cancelled', () => stop.abort());
    const write = (m: unknown): Promise<void> => new Promise((resolve) => {
      if (stop.signal.aborted) return resolve();
      if (call.write(m as never)) resolve();
      else call.once('drain', () => resolve());
    });
    const finish = (code: grpc.status): void => {
      streams.delete(stop);
      metrics?.observeGrpc(service, method, grpc.status[code] ?? String(code), Number(process.hrtime.bigint() - t0) / 1e9);
    };
    (async () => handler(call.request, await admit(call, method, {}, (w) => (retryAfter = w)), write as never, stop.signal))().then(
      () => {
        finish(grpc.status.OK);
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        const e = failure(err, service, method, retryAfter);
        finish(e.code);
        if (!call.cancelled) call.emit('error', e);
      },
    );
  };

  const { definition, proto } = loadKvstoreProto();
  const services = grpcServices(unary, deps, streaming);
  server.addService(proto.kvstore.v1.KV.service, services.kv);
  server.addService(proto.kvstore.v1.Auth.service, services.auth);
  server.addService(proto.kvstore.v1.Admin.service, services.admin);
  new ReflectionService(definition as ConstructorParameters<typeof ReflectionService>[0]).addToServer(server);

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, creds, (err, p) => (err ? reject(new KvError('INVALID_ARGUMENT', `grpc_port: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })) : resolve(p)));
  });
  const scheme = config.tlsCert ? 'grpcs' : 'grpc';
  return {
    url: `${scheme}://${host}:${bound}`,
    port: bound,
    setReady: (r) => void (ready = r),
    close: (graceMs = 10_000) => new Promise<void>((resolve) => {
      for (const s of streams) s.abort();
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
  };
}
