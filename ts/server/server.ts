/**
 * buildServer(): the fastify instance kvstored runs: logging (pino, JSON, request ids; no
 * bodies, tokens or keys' values), TLS / mutual TLS, limits and timeouts, the OpenAPI
 * document, /health, /ready, /metrics, and the /v1 routes (routes.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import { Health, json } from './api-schemas.js';
import { SWAGGER_OPTIONS } from './openapi.js';
import { KvError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { AuthService } from '../auth/service.js';
import type { Store } from '../store/store.js';
import { FIELDS, type ServerConfig } from './config.js';
import { RateLimits } from './limiter.js';
import { Metrics } from './metrics.js';
import { sendProblem } from './problem.js';
import { parseTrustProxy } from './trust-proxy.js';
import { metricsGuard } from './metrics-auth.js';
import { problemClientErrorHandler, problemFrameworkErrors } from './client-errors.js';
import { type BackupRoutesHooks, kvstoreRoutes } from './routes.js';
import { masterKeyReload } from './master-key-source.js';
import type { ReplicationNode } from '../replication/node.js';
import type { ClusterControl } from '../cluster/control.js';
import type { ClusterView } from './cluster-view.js';
import { replicationView } from './replication-view.js';
import { Router } from './routing.js';

/** Replication's routes: not counted as requests in flight, and feedback is taken while shutting down. */
const STREAM_ROUTE = '/v1/replication/stream';
/** Watch streams (SSE) end when the server closes, like replication streams: not requests in flight. */
const WATCH_ROUTE = '/v1/watch';
const FEEDBACK_ROUTE = '/v1/replication/feedback';

/** One route as registered (HEAD routes fastify adds for GET included). */
export interface RouteInfo {
  method: string;
  /** The full path with its prefix, as fastify matches it: `/v1/kv/*`, `/v1/admin/users/:name`. */
  url: string;
}

export interface BuiltServer {
  app: FastifyInstance;
  /** Every route the server answers, collected as fastify registers them (onRoute), for tests and audits. */
  routes: readonly RouteInfo[];
  metrics: Metrics | null;
  /** The rate limiters the routes count against; kvstored's gRPC port counts against the same. */
  limits: RateLimits;
  /**
   * false once shutdown begins: /ready answers 503 (load balancers drain) and /v1 refuses new
   * requests with NOT_READY. Replication streams go on until app.close() (see kvstored's
   * shutdown order in main.ts).
   */
  setReady(ready: boolean): void;
  /** Where this node sends what it cannot serve itself (routing.ts). */
  router: Router;
  /**
   * Resolves true once no request is in flight but replication streams, false if some still
   * are after timeoutMs. kvstored waits for it before its last catalog writes.
   */
  drained(timeoutMs: number): Promise<boolean>;
}

export function readPem(field: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new KvError('INVALID_ARGUMENT', `config: ${field}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Cluster mode's parts of the server (ts/cluster/): its routes' control and its metrics. */
export interface ClusterParts {
  control: ClusterControl;
  registerMetrics(registry: Metrics['registry']): void;
}

/**
 * `clusterView` says who the primary is (cluster mode passes its own, ts/cluster/view.ts); by
 * default it follows the replication role: a primary (or a node without replication) is the
 * primary, a standby's primary is its replica_of URL (replication-view.ts). `cluster`: cluster
 * mode's routes and metrics. `backup`: the backup routes' hooks (ts/backup/, docs/backup.md).
 */
export async function buildServer(config: ServerConfig, store: Store, auth: AuthService | null, replication?: ReplicationNode, clusterView?: ClusterView, cluster?: ClusterParts, backup?: BackupRoutesHooks): Promise<BuiltServer> {
  // Resolved when the server closes (preClose): replication streams send what is flushed and end.
  let endStreams: () => void = () => {};
  const closing = new Promise<void>((resolve) => (endStreams = resolve));
  checkOptions('buildServer config', config, FIELDS.map((f) => f.name));
  const cert = readPem('tls_cert', config.tlsCert);
  const key = readPem('tls_key', config.tlsKey);
  const ca = readPem('tls_ca', config.tlsCa);
  const https = cert && key ? { cert, key, ...(ca ? { ca } : {}), requestCert: config.tlsRequireClientCert, rejectUnauthorized: config.tlsRequireClientCert } : null;
  const trustProxy = parseTrustProxy(config.trustProxy);
  const app = Fastify({
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'] },
    logController: new LogController({ disableRequestLogging: !config.accessLog }),
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: 'x-request-id',
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 16_384 },
    // A URL the router cannot decode (%FF in a key) is the client's mistake: a problem document, not fastify's default.
    frameworkErrors: problemFrameworkErrors,
    // A request Node's parser refuses (broken request line, unknown method, headers too large) too.
    clientErrorHandler: problemClientErrorHandler,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    return503OnClosing: true,
    // Unknown query parameters and body fields are refused, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: 'idle',
    // X-Forwarded-For is believed only from the listed proxies (trust-proxy.ts); request.ip is the client's.
    ...(trustProxy ? { trustProxy } : {}),
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  let ready = true;
  // Requests in flight, replication streams aside (they end only when the server closes).
  let inFlight = 0;
  let onIdle: (() => void) | null = null;
  const metrics = config.metrics ? new Metrics(store, auth, replication ?? null) : null;
  const limits = new RateLimits(config.rateLimit, config.loginRateLimit);
  if (metrics && cluster) cluster.registerMetrics(metrics.registry);
  const router = new Router({
    view: clusterView ?? replicationView(replication ?? null, config.replicaOf),
    standbyWrites: config.standbyWrites,
    forwardTimeoutMs: config.forwardTimeoutMs,
    linearizableReadTimeoutMs: config.linearizableReadTimeoutMs,
    tls: { ca: readPem('replication_ca', config.replicationCa), cert: readPem('replication_cert', config.replicationCert), key: readPem('replication_key', config.replicationKey) },
    appliedLsn: () => store._replication().positions().appliedLsn,
    lastLsn: () => store._replication().positions().nextLsn - 1n,
    acknowledged: () => store._acknowledgedThrough(),
    timeline: () => replication?.timeline() ?? null,
    ...(replication ? { onProgress: (fn: () => void) => replication.onProgress(fn) } : {}),
    ipLimit: (ip) => limits.ip.hit(ip),
    metrics,
  });

  app.setErrorHandler((err, request, reply) => sendProblem(reply, request, err));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, new KvError('NOT_FOUND', `no such route: ${request.method} ${(request.raw.url ?? '').split('?')[0]}`)));
  // Every response carries its request id. (A callback hook: cheaper than an async one.)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (request.routeOptions.url !== STREAM_ROUTE && request.routeOptions.url !== FEEDBACK_ROUTE && request.routeOptions.url !== WATCH_ROUTE) {
      inFlight++;
      reply.raw.once('close', () => {
        if (--inFlight === 0) onIdle?.();
      });
    }
    done();
  });
  // Streams end when the server closes, after sending every record flushed by then (wal-sender.ts),
  // so a standby connected at a clean shutdown has all the primary wrote, its last writes included.
  app.addHook('preClose', (done) => {
    endStreams();
    done();
  });
  app.addHook('onClose', async () => router.close());
  if (metrics) {
    app.addHook('onResponse', (request, reply, done) => {
      metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  await app.register(swagger, SWAGGER_OPTIONS);
  app.addSchema(Health);

  const AUTHENTICATED: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
  const server = (operationId: string, summary: string, response: Record<string, unknown>): Record<string, unknown> => ({ operationId, summary, tags: ['server'], security: [], response });
  app.get('/health', { schema: server('health', 'The process is up', { 200: json('Up', Health) }) }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: server('ready', 'The server takes requests (load balancers: 503 while it shuts down)', { 200: json('Ready', Health), 503: json('Shutting down', Health) }) }, async (_request, reply) => {
    if (!ready) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready', engine: store.stats().engine, auth: auth !== null };
  });
  if (metrics) {
    const guard = metricsGuard(config.metricsAuth, auth);
    const text = { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } };
    const schema = { ...server('metrics', 'Prometheus metrics (credentials as metrics_auth says: docs/security.md)', { 200: text }), ...(guard ? { security: AUTHENTICATED } : {}) };
    app.get('/metrics', { schema, ...(guard ? { preHandler: guard } : {}) }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.text();
    });
  }
  const doc = { description: 'This document', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } };
  app.get('/openapi.json', { schema: server('openapi', 'This OpenAPI 3.1 document', { 200: doc }) }, async () => app.swagger());
  // The API in its own context, whose hook answers NOT_READY once shutdown begins: decided by
  // where a route is registered, not by matching the URL text.
  await app.register(async (v1) => {
    v1.addHook('onRequest', (request, _reply, done) => {
      // A standby's feedback still counts while shutting down: it confirms the last writes.
      if (ready || request.routeOptions.url === FEEDBACK_ROUTE) done();
      else done(new KvError('NOT_READY', 'the server is shutting down; retry on another instance or after restart'));
    });
    // A write this node cannot take goes to the primary (or is redirected or refused) before
    // any local authentication: the primary decides (routing.ts).
    v1.addHook('onRequest', async (request, reply) => {
      if (await router.routeWrite(request, reply)) return reply;
      return undefined;
    });
    await v1.register(kvstoreRoutes, { store, auth, metrics, limits, replication: replication ? { node: replication, closing } : undefined, routing: router, cluster: cluster?.control, backup, masterKey: masterKeyReload(config) });
  }, { prefix: '/v1' });
  return {
    app, routes, metrics, limits, router,
    setReady: (r) => void (ready = r),
    drained: (timeoutMs) => new Promise<boolean>((resolve) => {
      if (inFlight === 0) return resolve(true);
      const timer = setTimeout(() => {
        onIdle = null;
        resolve(false);
      }, timeoutMs);
      onIdle = () => {
        clearTimeout(timer);
        onIdle = null;
        resolve(true);
      };
    }),
  };
}
