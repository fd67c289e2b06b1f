/**
 * The /v1 HTTP API as a fastify plugin, so a Node service can mount it on its own fastify
 * instance over its own store:
 *
 *   app.register(kvstoreRoutes, { prefix: '/v1', store, auth });
 *
 * No business logic: each route checks its input (JSON schemas), authenticates (X-API-Key or
 * Authorization: Bearer), authorizes on the key (the catalog's prefix permissions), calls
 * the store or AuthService, and turns errors into problem+json with stable codes.
 */
import { isAbsolute } from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KvError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { Action, AuthService, Principal } from '../auth/service.js';
import { type BatchOperation, type Store, systemView } from '../store/store.js';
import { authenticate, authorizeOrThrow } from './access.js';
import { RateLimits } from './limiter.js';
import type { Metrics } from './metrics.js';
import type { ReplicationNode } from '../replication/node.js';
import { walSenderRoutes } from '../replication/wal-sender.js';
import type { ClusterControl } from '../cluster/control.js';
import type { Manifest } from '../backup/manifest.js';
import type { ArchiverStatus } from '../backup/archiver.js';
import { sendProblem } from './problem.js';
import type { ReadIndex, ReadSettle } from './routing.js';
import { type MasterKeyReload, masterKeyRoute } from './master-key-route.js';
import { txnRoute } from './txn-route.js';
import { watchRoute } from './watch-route.js';
import { commonPrefix } from './scan-page.js';
import { MAX_SCAN_PAGE, type ScanPageRequest, scanAccess, scanPage } from './scan-page.js';
import * as S from './api-schemas.js';
import { Permission, SHARED_SCHEMAS, Version, empty, json } from './api-schemas.js';

export interface KvstoreRoutesOptions {
  store: Store;
  /** null = no authentication: every request may do everything (development only). */
  auth: AuthService | null;
  metrics?: Metrics | null;
  /** Per-minute login attempts per IP (0 = unlimited). Default 20. */
  loginRateLimit?: number;
  /** Per-minute requests per IP, and per principal (0 = unlimited). Default 0. */
  rateLimit?: number;
  /**
   * This node's replication role (ts/replication/node.ts): serves the WAL stream to standbys
   * (the `replicate` permission), `POST /admin/promote` and `GET /admin/replication`, and
   * stamps reads with the applied LSN. Omitted: none of that.
   */
  replication?: { node: ReplicationNode; closing: Promise<void> } | undefined;
  /** Cluster mode (ts/cluster/): `GET /cluster` and the cluster's admin routes; unset = not in cluster mode. */
  cluster?: ClusterControl | undefined;
  /** The limiters to count against, shared with another entry point (kvstored's gRPC port); overrides the two limits above. */
  limits?: RateLimits;
  /**
   * Consistency of reads (routing.ts): `consistency=linearizable` reads wait for
   * readBarrier before they read and for what it returns after, and `GET /cluster/read-index` answers readIndex(). Omitted: every read is
   * local and the read-index route does not exist.
   */
  routing?: ReadRouting | undefined;
  /**
   * Backups (docs/backup.md): `POST /admin/backup` takes a base backup to `to` (or the
   * default location), `GET /admin/archive` shows the WAL archiver. Omitted: no such routes.
   */
  backup?: BackupRoutesHooks | undefined;
  /** kvstored's master key source, read again by `POST /admin/master-key/rotate` (master-key-route.ts). Omitted: no master key; the route answers MASTER_KEY_REQUIRED. */
  masterKey?: MasterKeyReload | undefined;
}

const SETTLED: ReadSettle = () => Promise.resolve();

/** What the routes need of kvstored's Router (routing.ts). */
export interface ReadRouting {
  /** Waits before a read; resolves with what to await after it (see routing.ts). */
  readBarrier(request: FastifyRequest): Promise<ReadSettle>;
  readIndex(): Promise<ReadIndex>;
}

export interface BackupRoutesHooks {
  create(to: string | undefined): Promise<Manifest>;
  archive(): ArchiverStatus | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    kvPrincipal: Principal | null;
  }
  interface FastifyContextConfig {
    /**
     * The route needs no credentials (login). Set on the route itself, never inferred from
     * the URL: a key route whose key ends like a public route's path is still a key route.
     */
    kvPublic?: boolean;
  }
}

/** KvstoreRoutesOptions plus what fastify's register() passes through (prefix, logLevel, logSerializers). */
const PLUGIN_OPTIONS = ['store', 'auth', 'metrics', 'loginRateLimit', 'rateLimit', 'limits', 'replication', 'routing', 'cluster', 'backup', 'masterKey', 'prefix', 'logLevel', 'logSerializers'];
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;
const MAX_BATCH = 1000;

// ---------------------------------------------------------------- schemas

const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const permission = Permission;
const keyParam = { type: 'object', properties: { '*': { type: 'string' } } } as const;
const consistency = { type: 'string', enum: ['stale', 'linearizable'], description: 'stale (default): what this node has; linearizable: every write acknowledged before the read (docs/http.md, "Routing").' } as const;
const readQuery = { type: 'object', additionalProperties: false, properties: { consistency } } as const;
const ttlQuery = { type: 'object', additionalProperties: false, properties: { ttl: { type: 'number', exclusiveMinimum: 0, maximum: 10 * 365 * 86400, description: 'Seconds until the entry expires.' } } } as const;
/** The OpenAPI part of a route's schema (openapi.ts): operationId, summary, tags. */
const op = (operationId: string, tag: string, summary: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ operationId, summary, tags: [tag], ...extra });
const nameParam = { type: 'object', required: ['name'], properties: { name } } as const;
const versionOk = json('Written', Version);

// ---------------------------------------------------------------- helpers

function decodeKey(request: FastifyRequest, suffix = ''): string {
  const route = request.routeOptions.url ?? '';
  const base = route.slice(0, route.indexOf('*'));
  const path = (request.raw.url ?? '').split('?')[0]!;
  let raw = path.startsWith(base) ? path.slice(base.length) : '';
  if (suffix) {
    if (!raw.endsWith(suffix)) throw new KvError('NOT_FOUND', `no such route: POST ${path}`);
    raw = raw.slice(0, -suffix.length);
  }
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new KvError('INVALID_ARGUMENT', 'the key is not valid percent-encoded UTF-8');
  }
  if (key.length === 0) throw new KvError('INVALID_ARGUMENT', 'the key is empty');
  return key;
}

/** `"123"`, `W/"123"` or `123` → 123n; `*` → '*'. */
function parseVersion(header: string | string[] | undefined, which: string): bigint | '*' | undefined {
  if (header === undefined) return undefined;
  const h = (Array.isArray(header) ? header.join(',') : header).trim();
  if (h === '*') return '*';
  const m = /^(?:W\/)?"?(\d{1,20})"?$/.exec(h);
  if (!m) throw new KvError('INVALID_ARGUMENT', `${which} must be an ETag this server gave out ("<version>") or *`);
  return BigInt(m[1]!);
}

function conditional(request: FastifyRequest): bigint | undefined {
  const ifMatch = parseVersion(request.headers['if-match'], 'If-Match');
  const ifNone = parseVersion(request.headers['if-none-match'], 'If-None-Match');
  if (ifMatch !== undefined && ifNone !== undefined) throw new KvError('INVALID_ARGUMENT', 'send If-Match or If-None-Match, not both');
  if (ifNone !== undefined) {
    if (ifNone !== '*') throw new KvError('INVALID_ARGUMENT', 'If-None-Match on a write takes only *');
    return 0n;
  }
  if (ifMatch === '*') return undefined; // any existing version: checked by the caller
  return ifMatch;
}


// ---------------------------------------------------------------- the plugin

export const kvstoreRoutes: FastifyPluginAsync<KvstoreRoutesOptions> = async (app, opts) => {
  checkOptions('kvstoreRoutes', opts, PLUGIN_OPTIONS);
  // A route that declares no query string takes none: a parameter it would ignore is refused
  // (DELETE /kv/k?ifVersion=3 must not be an unconditional delete).
  app.addHook('onRoute', (route) => void (route.schema?.querystring ?? (route.schema = { ...route.schema, querystring: NO_QUERY })));
  const { store, auth } = opts;
  const replication = opts.replication ?? null;
  const routing = opts.routing ?? null;
  /**
   * Waits as the read's consistency asks, then stamps the LSN this node has applied: the read
   * sees at least that. Resolves with the step to await after reading, before answering.
   */
  const readAt = async (request: FastifyRequest, reply: FastifyReply): Promise<ReadSettle> => {
    const settle = routing ? await routing.readBarrier(request) : SETTLED;
    if (replication) reply.header('x-kvstore-applied-lsn', String(store._replication().positions().appliedLsn));
    return settle;
  };
  const backup = opts.backup ?? null;
  const metrics = opts.metrics ?? null;
  const limits = opts.limits ?? new RateLimits(opts.rateLimit ?? 0, opts.loginRateLimit ?? 20);
  const { login: loginLimiter, ip: ipLimiter, principal: principalLimiter } = limits;

  app.decorateRequest('kvPrincipal', null);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // JSON routes take application/json only; anything else is 415 (the kv routes below take any bytes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(new KvError('INVALID_ARGUMENT', `the body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.setErrorHandler((err, request, reply) => sendProblem(reply, request, err));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, new KvError('NOT_FOUND', `no such route: ${request.method} ${(request.raw.url ?? '').split('?')[0]}`)));

  const limited = (reply: FastifyReply, wait: number, limit: string): KvError => {
    metrics?.rateLimited.inc({ limit });
    reply.header('retry-after', String(wait));
    return new KvError('RATE_LIMITED', `rate limit reached; retry in ${wait} s`);
  };

  // Every request counts against its IP first (floods of bad credentials and logins included).
  // Then authentication, for every route not marked public by its own config (kvPublic): an
  // API key or a session token, never both; then the per-principal limit once it is known.
  app.addHook('onRequest', async (request, reply) => {
    const ipWait = ipLimiter.hit(request.ip);
    if (ipWait > 0) throw limited(reply, ipWait, 'ip');
    if (request.routeOptions.config.kvPublic === true) return;
    if (auth) request.kvPrincipal = await authenticate(auth, request.headers['x-api-key'], request.headers.authorization, request.ip);
    const p = request.kvPrincipal;
    if (p) {
      const wait = principalLimiter.hit(RateLimits.principalKey(p));
      if (wait > 0) throw limited(reply, wait, 'principal');
    }
  });

  // With auth on, a request without a principal (a public route calling this by mistake) is
  // refused as unauthenticated (401) by authorize() itself, not a TypeError answered 500.
  const allow = (request: FastifyRequest, action: Action | 'admin' | 'replicate', key?: string): void => authorizeOrThrow(auth, request.kvPrincipal, action, key);
  const ctx = (request: FastifyRequest): { actor: string; ip: string } => ({ actor: request.kvPrincipal?.user ?? 'anonymous', ip: request.ip });

  // ------------------------------------------------------------ key-value routes (raw bodies)
  await app.register(async (kv: FastifyInstance) => {
    kv.removeAllContentTypeParsers();
    kv.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    const valueOk = { description: 'The value: the bytes as they were written', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
    kv.get('/kv/*', { schema: op('getValue', 'kv', 'Get a value', { params: keyParam, querystring: readQuery, response: { 200: valueOk } }) }, async (request, reply) => {
      const key = decodeKey(request);
      allow(request, 'read', key);
      const settle = await readAt(request, reply);
      metrics?.storageOps.inc({ op: 'get' });
      const e = store.getEntry(key);
      await settle();
      if (!e) throw new KvError('NOT_FOUND', 'no such key');
      reply.header('etag', `"${e.version}"`).type('application/octet-stream');
      if (e.expiresAt !== undefined) reply.header('x-expires-at', new Date(e.expiresAt).toISOString());
      return reply.send(e.value);
    });

    kv.put('/kv/*', { schema: op('putValue', 'kv', 'Put a value (conditionally with If-Match / If-None-Match)', { params: keyParam, querystring: ttlQuery, response: { 200: versionOk, 201: json('Created (If-None-Match: *)', Version) } }) }, async (request, reply) => {
      const key = decodeKey(request);
      allow(request, 'write', key);
      const body = request.body;
      const value = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      const ttl = (request.query as { ttl?: number }).ttl;
      let ifVersion = conditional(request);
      if (ifVersion === undefined && request.headers['if-match'] !== undefined) {
        const cur = store.getEntry(key); // If-Match: * = only if it exists
        if (!cur) throw new KvError('VERSION_MISMATCH', 'If-Match: * and the key does not exist');
        ifVersion = cur.version;
      }
      metrics?.storageOps.inc({ op: 'put' });
      const { version } = await store.put(key, value, { ...(ttl === undefined ? {} : { ttlMs: ttl * 1000 }), ...(ifVersion === undefined ? {} : { ifVersion }) });
      return reply.code(ifVersion === 0n ? 201 : 200).header('etag', `"${version}"`).send({ version: String(version) });
    });

    kv.delete('/kv/*', { schema: op('deleteValue', 'kv', 'Delete a key (conditionally with If-Match)', { params: keyParam, response: { 204: empty('Deleted') } }) }, async (request, reply) => {
      const key = decodeKey(request);
      allow(request, 'delete', key);
      let ifVersion = conditional(request);
      if (ifVersion === 0n) throw new KvError('INVALID_ARGUMENT', 'If-None-Match: * makes no sense on a delete');
      if (ifVersion === undefined && request.headers['if-match'] !== undefined) ifVersion = store.getEntry(key)?.version ?? 0n;
      metrics?.storageOps.inc({ op: 'delete' });
      const { deleted } = await store.delete(key, ifVersion === undefined ? {} : { ifVersion });
      if (!deleted) throw new KvError('NOT_FOUND', 'no such key');
      return reply.code(204).send();
    });

    const byQuery = { type: 'object', additionalProperties: false, properties: { by: { type: 'string', pattern: '^-?\\d{1,19}$', description: 'The increment, a signed decimal (default 1).' } } };
    kv.post('/kv/*', { schema: op('incrValue', 'kv', 'Add to a counter (a decimal 64-bit value; an absent key counts from 0)', { params: keyParam, querystring: byQuery, response: { 200: json('The new value', S.Counter) } }) }, async (request) => {
      const key = decodeKey(request, '/incr');
      allow(request, 'read', key);
      allow(request, 'write', key);
      metrics?.storageOps.inc({ op: 'incr' });
      const by = BigInt((request.query as { by?: string }).by ?? '1');
      return { value: String(await store.incr(key, by)) };
    });
  });

  // ------------------------------------------------------------ JSON routes
  app.get('/kv', {
    schema: {
      ...op('scan', 'kv', 'List keys (and values) in key order, a page at a time'),
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          prefix: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: MAX_SCAN_PAGE },
          cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]*$' }, values: { type: 'boolean' }, reverse: { type: 'boolean' }, consistency,
        },
      },
      response: { 200: json('One page', S.ScanPage) },
    },
  }, async (request, reply) => {
    const q = request.query as { prefix?: string; start?: string; end?: string; limit?: number; cursor?: string; values?: boolean; reverse?: boolean };
    const scope = q.prefix ?? (q.start !== undefined && q.end !== undefined ? commonPrefix(q.start, q.end) : '');
    const scanRequest: ScanPageRequest = {
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(q.start !== undefined ? { start: q.start } : {}), ...(q.end !== undefined ? { end: q.end } : {}),
      limit: q.limit ?? 100, reverse: q.reverse === true, ...(q.cursor ? { after: Buffer.from(q.cursor, 'base64url') } : {}),
    };
    // Refused (401/403) before the read barrier; the page holds only the keys the caller may see.
    const see = scanAccess(auth, request.kvPrincipal, q.values ? ['scan', 'read'] : ['scan'], scope, scanRequest);
    const settle = await readAt(request, reply);
    metrics?.storageOps.inc({ op: 'scan' });
    const page = scanPage(store, scanRequest, see);
    await settle();
    const items = page.items.map(([k, v]) => {
      const item: { key?: string; keyBase64?: string; value?: string } = isUtf8(k) ? { key: k.toString('utf8') } : { keyBase64: k.toString('base64') };
      if (q.values) item.value = v.toString('base64');
      return item;
    });
    return page.last ? { items, cursor: page.last.toString('base64url') } : { items };
  });

  app.post('/batch', {
    schema: {
      ...op('batch', 'kv', 'Write several keys at once: all or nothing'),
      body: {
        type: 'object', required: ['ops'], additionalProperties: false,
        properties: {
          ops: {
            type: 'array', minItems: 1, maxItems: MAX_BATCH,
            items: {
              type: 'object', required: ['op', 'key'], additionalProperties: false,
              properties: { op: { type: 'string', enum: ['put', 'del'] }, key: { type: 'string', minLength: 1 }, value: { type: 'string' }, encoding: { type: 'string', enum: ['utf8', 'base64'] }, ttl: { type: 'number', exclusiveMinimum: 0 } },
            },
          },
        },
      },
      response: { 200: versionOk },
    },
  }, async (request) => {
    const { ops } = request.body as { ops: Array<{ op: 'put' | 'del'; key: string; value?: string; encoding?: 'utf8' | 'base64'; ttl?: number }> };
    const batch: BatchOperation[] = ops.map((o, i) => {
      allow(request, o.op === 'put' ? 'write' : 'delete', o.key);
      if (o.op === 'del') return { type: 'del', key: o.key };
      if (o.value === undefined) throw new KvError('INVALID_ARGUMENT', `ops[${i}]: a put needs a value`);
      const value = o.encoding === 'base64' ? Buffer.from(o.value, 'base64') : o.value;
      return o.ttl === undefined ? { type: 'put', key: o.key, value } : { type: 'put', key: o.key, value, ttlMs: o.ttl * 1000 };
    });
    metrics?.storageOps.inc({ op: 'batch' });
    const { version } = await store.batch(batch);
    return { version: String(version) };
  });

  txnRoute(app, store, allow, metrics);
  watchRoute(app, store, auth, metrics);

  // ------------------------------------------------------------ sessions
  app.post('/auth/login', {
    config: { kvPublic: true },
    schema: op('login', 'auth', 'Log in: a session token', {
      security: [],
      body: { type: 'object', required: ['name', 'password'], additionalProperties: false, properties: { name, password: { type: 'string', minLength: 1, maxLength: 1024 } } },
      response: { 200: json('A session', S.Session) },
    }),
  }, async (request, reply) => {
    const wait = loginLimiter.hit(request.ip);
    if (wait > 0) throw limited(reply, wait, 'login');
    if (!auth) throw authDisabled();
    const { name: user, password } = request.body as { name: string; password: string };
    const { token, expiresAt } = await auth.login(user, password, { ip: request.ip });
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  });

  app.get('/auth/whoami', { schema: op('whoami', 'auth', 'Who the credentials are', { response: { 200: json('The principal', S.WhoAmI) } }) }, async (request) => {
    const p = request.kvPrincipal;
    if (!p || !auth) return { user: null, auth: false };
    return { user: p.user, type: p.type, keyName: p.keyName ?? null, roles: auth.effectiveRoles(p), admin: auth.authorize(p, 'admin').allow };
  });

  // ------------------------------------------------------------ cluster (docs/cluster.md)
  // Any authenticated principal may see the cluster (as /auth/whoami: no data, no secrets);
  // changing it is admin's.
  const cluster = opts.cluster ?? null;
  app.get('/cluster', { schema: op('getCluster', 'cluster', 'The cluster: members, leader, sync set (404 outside cluster mode)', { response: { 200: json('The cluster', S.ClusterStatus) } }) }, async () => {
    if (!cluster) throw new KvError('NOT_FOUND', 'this node is not in cluster mode (kvstored --cluster); see GET /v1/admin/replication');
    return cluster.status();
  });

  // ------------------------------------------------------------ cluster (any authenticated principal)
  if (routing) {
    // A standby's linearizable read asks the primary for this, with its client's credentials.
    app.get('/cluster/read-index', { schema: op('readIndex', 'cluster', "The primary's last LSN once every write up to it is acknowledged, after it has confirmed its leadership (a standby's linearizable read)", { response: { 200: json('The read index', S.ReadIndex) } }) }, async () => {
      const { lsn, timeline } = await routing.readIndex();
      return timeline === null ? { lsn: String(lsn) } : { lsn: String(lsn), timeline };
    });
  }

  // ------------------------------------------------------------ administration (admin role)
  // With auth off every caller may do everything, so the store's admin routes (stats,
  // checkpoint) answer anyone who reaches the port, like the data routes do; the catalog's
  // routes answer AUTH_DISABLED, since there is no catalog to manage.
  await app.register(async (admin: FastifyInstance) => {
    admin.addHook('preHandler', async (request) => allow(request, 'admin'));
    admin.post('/checkpoint', { schema: op('checkpoint', 'admin', 'Take a checkpoint', { response: { 200: json('Done', S.Checkpoint) } }) }, async () => {
      const end = metrics?.checkpointSeconds.startTimer();
      const { redoLsn } = await store.checkpoint();
      end?.();
      return { redoLsn: String(redoLsn) };
    });
    admin.get('/stats', { schema: op('getStats', 'admin', "The store's and the server's counters", { response: { 200: json('Counters', S.Stats) } }) }, async () => {
      // Every 64-bit figure (nextLsn, durableLsn, and whatever LSNs an engine adds) as a decimal
      // string: JSON has no bigint, and one missed field made the whole route a 500.
      const s = Object.fromEntries(Object.entries(store.stats()).map(([k, v]) => [k, typeof v === 'bigint' ? String(v) : v]));
      // keys counts every entry; catalogKeys the _sys. ones among them (as /metrics splits them)
      return { ...s, catalogKeys: systemView(store).count(), memory: process.memoryUsage(), auth: auth ? auth.stats() : null };
    });
    if (backup) {
      const hooks = backup;
      admin.post('/backup', {
        schema: op('createBackup', 'admin', 'Take a base backup (to `to`, or the configured location)', {
          body: { type: ['object', 'null'], additionalProperties: false, properties: { to: { type: 'string', minLength: 1, maxLength: 4096, description: 'An absolute directory or s3://bucket/prefix.' } } },
          response: { 200: json("The backup's manifest", S.BackupManifest) },
        }),
      }, async (request) => {
        const body = (request.body ?? {}) as { to?: string };
        // The server's working directory is nobody's business: a directory target must be absolute.
        if (body.to !== undefined && !body.to.startsWith('s3://') && !isAbsolute(body.to)) {
          throw new KvError('INVALID_ARGUMENT', `"to" must be an absolute directory path or s3://bucket/prefix, got ${JSON.stringify(body.to)}`);
        }
        return hooks.create(body.to);
      });
      admin.get('/archive', { schema: op('getArchive', 'admin', 'The WAL archiver', { response: { 200: json('The archiver', S.ArchiveStatus) } }) }, async () => {
        const st = hooks.archive();
        if (!st) return { enabled: false };
        return { enabled: true, ...Object.fromEntries(Object.entries(st).map(([k, v]) => [k, typeof v === 'bigint' ? String(v) : v])) };
      });
    }
    if (replication) {
      const { node } = replication;
      const status = { 200: json("This node's replication status", S.ReplicationStatus) };
      admin.get('/replication', { schema: op('getReplication', 'admin', "This node's replication role and positions", { response: status }) }, async () => node.status());
      admin.post('/promote', { schema: op('promote', 'admin', 'Promote this standby to primary (single-node mode)', { response: status }) }, async () => {
        if (cluster) throw new KvError('INVALID_ARGUMENT', 'in cluster mode etcd decides the primary: use POST /v1/admin/cluster/switchover (kvctl cluster switchover --to ID)');
        await node.promote();
        return node.status();
      });
    }
    // Registered in every mode (404 outside cluster mode, as GET /cluster), so the API is the same document everywhere.
    const clusterOnly = (): ClusterControl => {
      if (!cluster) throw new KvError('NOT_FOUND', 'this node is not in cluster mode (kvstored --cluster)');
      return cluster;
    };
    const nodeId = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;
    admin.post('/cluster/switchover', {
      schema: op('switchover', 'cluster', 'Hand the primary role to another member (run on the primary)', {
        body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: nodeId } }, response: { 200: json('Switched over', S.Switchover) },
      }),
    }, async (request) => clusterOnly().switchover((request.body as { to: string }).to));
    admin.delete('/cluster/members/:id', {
      schema: op('removeMember', 'cluster', 'Remove a member that is gone for good', { params: { type: 'object', required: ['id'], properties: { id: nodeId } }, response: { 200: json('Removed', S.MemberRemoved) } }),
    }, async (request) => clusterOnly().remove((request.params as { id: string }).id));
    await admin.register(catalogRoutes);
  }, { prefix: '/admin' });

  // ------------------------------------------------------------ replication (replicate permission)
  if (replication) {
    const { node, closing } = replication;
    await app.register(async (repl: FastifyInstance) => {
      walSenderRoutes(repl, {
        port: () => {
          if (node.role !== 'primary') throw new KvError('NOT_FOUND', 'this node is a standby: stream from its primary');
          return store._replication();
        },
        history: () => node.history(),
        registry: node.registry,
        authorize: (request) => allow(request, 'replicate'),
        closing,
      });
    });
  }

  async function catalogRoutes(admin: FastifyInstance): Promise<void> {
    if (!auth) {
      admin.addHook('preHandler', async () => {
        throw authDisabled();
      });
    }
    const a = auth!;
    const list = (prop: string, item: object): Record<string, unknown> => ({ 200: { description: 'The list', type: 'object', required: [prop], additionalProperties: false, properties: { [prop]: { type: 'array', items: item } } } });
    const done = { 204: empty('Done') };
    admin.get('/users', { schema: op('listUsers', 'catalog', 'List users', { response: list('users', S.ref(S.User)) }) }, async () => ({ users: a.listUsers() }));
    admin.get('/users/:name', { schema: op('getUser', 'catalog', 'Get a user', { params: nameParam, response: { 200: json('The user', S.User) } }) }, async (request) => {
      const u = a.getUser((request.params as { name: string }).name);
      if (!u) throw new KvError('NOT_FOUND', 'no such user');
      return u;
    });
    admin.post('/users', {
      schema: op('createUser', 'catalog', 'Create a user', {
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name, password: { type: 'string', maxLength: 1024 }, roles: { type: 'array', items: name } } },
        response: { 201: json('Created', S.User) },
      }),
    }, async (request, reply) => {
      const b = request.body as { name: string; password?: string; roles?: string[] };
      const u = await a.createUser(b.name, { ...(b.password === undefined ? {} : { password: b.password }), ...(b.roles ? { roles: b.roles } : {}) }, ctx(request));
      return reply.code(201).send(u);
    });
    admin.delete('/users/:name', { schema: op('dropUser', 'catalog', 'Drop a user (and its API keys)', { params: nameParam, response: done }) }, async (request, reply) => {
      await a.dropUser((request.params as { name: string }).name, ctx(request));
      return reply.code(204).send();
    });
    admin.post('/users/:name/password', { schema: op('setPassword', 'catalog', "Set a user's password (its sessions end)", { params: nameParam, body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', maxLength: 1024 } } }, response: done }) }, async (request, reply) => {
      await a.setPassword((request.params as { name: string }).name, (request.body as { password: string }).password, ctx(request));
      return reply.code(204).send();
    });
    admin.post('/users/:name/lock', { schema: op('lockUser', 'catalog', 'Lock a user: no login, sessions or API keys until unlocked', { params: nameParam, body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } } }, response: done }) }, async (request, reply) => {
      await a.lockUser((request.params as { name: string }).name, (request.body as { reason: string }).reason, ctx(request));
      return reply.code(204).send();
    });
    admin.post('/users/:name/unlock', { schema: op('unlockUser', 'catalog', 'Unlock a user', { params: nameParam, response: done }) }, async (request, reply) => {
      await a.unlockUser((request.params as { name: string }).name, ctx(request));
      return reply.code(204).send();
    });
    admin.get('/roles', { schema: op('listRoles', 'catalog', 'List roles', { response: list('roles', S.ref(S.Role)) }) }, async () => ({ roles: a.listRoles() }));
    admin.post('/roles', {
      schema: op('createRole', 'catalog', 'Create a role', {
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name, permissions: { type: 'array', items: permission }, memberOf: { type: 'array', items: name } } },
        response: { 201: json('Created', S.Role) },
      }),
    }, async (request, reply) => {
      const b = request.body as { name: string; permissions?: { prefix: string; actions: Action[] }[]; memberOf?: string[] };
      return reply.code(201).send(await a.createRole(b.name, { ...(b.permissions ? { permissions: b.permissions } : {}), ...(b.memberOf ? { memberOf: b.memberOf } : {}) }, ctx(request)));
    });
    admin.delete('/roles/:name', { schema: op('dropRole', 'catalog', 'Drop a role', { params: nameParam, response: done }) }, async (request, reply) => {
      await a.dropRole((request.params as { name: string }).name, ctx(request));
      return reply.code(204).send();
    });
    const grantBody = {
      type: 'object', required: ['role'], additionalProperties: false,
      properties: { role: name, user: name, member: name, prefix: { type: 'string', maxLength: 4096 }, actions: permission.properties.actions },
    } as const;
    const grantSpec = (b: { role: string; user?: string; member?: string; prefix?: string; actions?: Action[] }): Parameters<AuthService['grant']>[0] => {
      const kinds = [b.user, b.member, b.prefix].filter((x) => x !== undefined).length;
      if (kinds !== 1) throw new KvError('INVALID_ARGUMENT', 'give exactly one of user, member or prefix');
      if (b.user !== undefined) return { role: b.role, user: b.user };
      if (b.member !== undefined) return { role: b.role, member: b.member };
      return b.actions ? { role: b.role, prefix: b.prefix!, actions: b.actions } : { role: b.role, prefix: b.prefix! };
    };
    admin.post('/grant', { schema: op('grant', 'catalog', 'Grant a role to a user, a role to a role (member), or a permission on a prefix to a role', { body: grantBody, response: done }) }, async (request, reply) => {
      await a.grant(grantSpec(request.body as never), ctx(request));
      return reply.code(204).send();
    });
    admin.post('/revoke', { schema: op('revoke', 'catalog', 'Revoke what /grant granted', { body: grantBody, response: done }) }, async (request, reply) => {
      await a.revoke(grantSpec(request.body as never), ctx(request));
      return reply.code(204).send();
    });
    admin.get('/apikeys', { schema: op('listApiKeys', 'catalog', 'List API keys (never their secrets)', { querystring: { type: 'object', additionalProperties: false, properties: { owner: name } }, response: list('apiKeys', S.ref(S.ApiKey)) }) }, async (request) => {
      const owner = (request.query as { owner?: string }).owner;
      return { apiKeys: a.listApiKeys(owner === undefined ? {} : { owner }) };
    });
    admin.post('/apikeys', {
      schema: {
        ...op('createApiKey', 'catalog', 'Create an API key: its token is in this answer only'),
        response: { 201: json('Created', S.NewApiKey) },
        body: {
          type: 'object', required: ['owner', 'name'], additionalProperties: false,
          properties: { owner: name, name, roles: { type: 'array', items: name }, expiresAt: { type: 'string', format: 'date-time' }, allowIps: { type: 'array', minItems: 1, items: { type: 'string', maxLength: 64 } } },
        },
      },
    }, async (request, reply) => {
      const b = request.body as { owner: string; name: string; roles?: string[]; expiresAt?: string; allowIps?: string[] };
      const out = await a.createApiKey(b.owner, {
        name: b.name, ...(b.roles ? { roles: b.roles } : {}), ...(b.allowIps ? { allowIps: b.allowIps } : {}),
        ...(b.expiresAt ? { expiresAt: Date.parse(b.expiresAt) } : {}),
      }, ctx(request));
      return reply.code(201).send(out);
    });
    admin.delete('/apikeys/:name', { schema: op('revokeApiKey', 'catalog', 'Revoke an API key', { params: nameParam, response: done }) }, async (request, reply) => {
      await a.revokeApiKey((request.params as { name: string }).name, ctx(request));
      return reply.code(204).send();
    });
    admin.get('/audit', { schema: op('listAudit', 'catalog', 'The audit log, newest first, a page at a time', { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000 }, before: { type: 'string', pattern: '^[0-9.]+$' } } }, response: { 200: json('A page', S.AuditPage) } }) }, async (request) => {
      const q = request.query as { limit?: number; before?: string };
      return a.listAudit({ ...(q.limit ? { limit: q.limit } : {}), ...(q.before ? { before: q.before } : {}) });
    });
    // Oldest first from a time or after an entry id (kvctl audit export / tail --follow).
    admin.get('/audit/export', { schema: op('exportAudit', 'catalog', 'The audit log, oldest first, from a time or after an entry id', { querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'integer', minimum: 0 }, after: { type: 'string', pattern: '^[0-9.]+$' }, limit: { type: 'integer', minimum: 1, maximum: 10_000 } } }, response: list('entries', S.ref(S.AuditEntry)) }) }, async (request) => {
      const q = request.query as { since?: number; after?: string; limit?: number };
      return { entries: [...a.readAudit({ limit: q.limit ?? 1000, ...(q.since === undefined ? {} : { since: q.since }), ...(q.after ? { after: q.after } : {}) })] };
    });
    const settings = { 200: json('The settings', S.Settings) };
    admin.get('/settings', { schema: op('getSettings', 'catalog', 'Authentication settings', { response: settings }) }, async () => a.getSettings());
    admin.patch('/settings', { schema: op('updateSettings', 'catalog', 'Change authentication settings (any subset)', { body: { type: 'object' }, response: settings }) }, async (request) => a.updateSettings(request.body as never, ctx(request)));
    admin.post('/signing-keys/rotate', { schema: op('rotateSigningKey', 'catalog', 'Rotate the session signing key (older tokens verify until they expire)', { response: { 200: json('The new key', S.SigningKey) } }) }, async (request) => a.rotateSigningKey(ctx(request)));
    masterKeyRoute(admin, a, opts.masterKey, ctx);
  }
};

/** What a login or catalog route answers on a server with authentication off. */
function authDisabled(): KvError {
  return new KvError('AUTH_DISABLED', 'authentication is off on this server (kvstored --no-auth / auth = false): there are no users, roles or API keys to log in as or manage. Restart it with authentication on, or stop it and use kvctl --data-dir on its directory');
}
