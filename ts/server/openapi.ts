/**
 * The OpenAPI 3.1 document kvstored serves at /openapi.json (and docs/openapi.json holds, by
 * `npm run gen:openapi`): @fastify/swagger's options.
 *
 * The route schemas carry what fastify also uses at run time: operationId, summary, tags,
 * query, path parameters, JSON bodies and success responses (api-schemas.ts). What fastify
 * must NOT validate or serialize is added here, to the document only:
 * - the key routes' path templates: fastify matches `/v1/kv/*` (a key may hold `/`), the
 *   document says `/v1/kv/{key}` and, for the POST, `/v1/kv/{key}/incr`;
 * - the raw value body of PUT (any bytes: a body schema would make fastify validate a Buffer);
 * - request headers the handlers read themselves (If-Match, If-None-Match, the consistency
 *   header, Last-Event-ID) and the response headers (ETag, the applied LSN, Retry-After, …);
 * - the error responses: every one an application/problem+json Problem (problem.ts).
 * OPERATIONS lists, per operationId, which of those apply; a route without an entry makes
 * the document fail to build (and the tests with it), so a new route cannot go undocumented.
 *
 * Hidden (not in the document, on purpose): GET /v1/replication/stream and POST
 * /v1/replication/feedback, the node-to-node WAL protocol (docs/replication.md).
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { ERRORS } from '../errors.js';

type Json = Record<string, unknown>;

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const problem = (description: string, headers?: Json): Json => ({
  description, ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: PROBLEM_REF } },
});
const headerRef = (name: string): Json => ({ $ref: `#/components/headers/${name}` });

/** Which codes answer with a status, from the error catalogue: the error responses' descriptions list them. */
function codesOf(status: number): string {
  return Object.entries(ERRORS).filter(([, e]) => e.status === status).map(([c]) => `\`${c}\``).join(', ');
}

const HEADERS: Json = {
  ETag: { description: 'The entry\'s version, `"<version>"`: send it back in If-Match for a compare-and-swap.', schema: { type: 'string', pattern: '^"[0-9]+"$' } },
  ExpiresAt: { description: 'When the entry expires (it was written with a ttl).', schema: { type: 'string', format: 'date-time' } },
  AppliedLsn: { description: 'The LSN this node had applied when it served the read: the read sees at least every write up to it.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  WWWAuthenticate: { description: 'The credentials the server takes.', schema: { type: 'string' } },
  Location: { description: 'The same URL on the primary.', schema: { type: 'string', format: 'uri' } },
  Primary: { description: 'The primary this node sent the request to (or redirects to).', schema: { type: 'string', format: 'uri' } },
};

const PARAMETERS: Json = {
  IfMatch: {
    name: 'If-Match', in: 'header', required: false, schema: { type: 'string', pattern: '^(\\*|(W/)?"?[0-9]{1,20}"?)$' },
    description: 'Write only if the entry has this version (its ETag, `"<version>"`), or only if it exists (`*`). Otherwise 412 `VERSION_MISMATCH`. Not with If-None-Match.',
  },
  IfNoneMatch: {
    name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string', const: '*' },
    description: '`*`: create only; the write answers 201, or 412 `VERSION_MISMATCH` when the key exists.',
  },
  ConsistencyHeader: {
    name: 'X-Kvstore-Consistency', in: 'header', required: false, schema: { type: 'string', enum: ['stale', 'linearizable'] },
    description: 'As the `consistency` query parameter (both given: they must agree). docs/http.md, "Routing".',
  },
  LastEventId: {
    name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[0-9]{1,20}$' },
    description: 'Resume after this version (the `id` of the last `change` event received); what an EventSource sends when it reconnects.',
  },
};

const RESPONSES: Json = {
  BadRequest: problem(`The request is not valid: ${codesOf(400)}.`),
  Unauthorized: problem('No credentials, or bad ones: `AUTH_FAILED` (always the same message).', { 'WWW-Authenticate': headerRef('WWWAuthenticate') }),
  Forbidden: problem('The principal may not do this (`PERMISSION_DENIED`), or the key is reserved (`RESERVED_KEY`).'),
  NotFound: problem('`NOT_FOUND`: no such key, catalog object, or route.'),
  Conflict: problem(`The request conflicts with the server's state: ${codesOf(409)}.`),
  PreconditionFailed: problem('`VERSION_MISMATCH`: the If-Match / If-None-Match condition does not hold. Nothing was written.'),
  Gone: problem('`COMPACTED`: the WAL no longer holds that version (a checkpoint dropped it): watch from a newer one.'),
  TooLarge: problem('`KEY_TOO_LARGE` or `VALUE_TOO_LARGE` (the body is over `body_limit`).'),
  UnsupportedMediaType: problem('`UNSUPPORTED_MEDIA_TYPE`: this route takes application/json only.'),
  TooManyRequests: problem('`RATE_LIMITED`: the per-IP, per-principal or login limit.', { 'Retry-After': headerRef('RetryAfter') }),
  Unavailable: problem(`Not now, not here: ${codesOf(503)}. \`NOT_PRIMARY\`, \`FORWARD_FAILED\`, \`OUTCOME_UNKNOWN\` and \`READ_INDEX_TIMEOUT\` come with Retry-After.`, { 'Retry-After': headerRef('RetryAfter') }),
  Error: problem('Any other error, with its code (docs/errors.md); a 500 is `INTERNAL`, a bug.'),
  Redirect: {
    description: 'This node is a standby with `standby_writes = redirect`: send the same request to the primary.',
    headers: { Location: headerRef('Location'), 'X-Kvstore-Primary': headerRef('Primary') },
  },
};

const STATUS_RESPONSE: Record<number, string> = {
  307: 'Redirect', 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 410: 'Gone', 412: 'PreconditionFailed',
  413: 'TooLarge', 415: 'UnsupportedMediaType', 429: 'TooManyRequests', 503: 'Unavailable',
};

/** What the document adds to one operation (see the file comment). */
interface OperationDoc {
  /** Error statuses beside the ones every /v1 route may answer (COMMON). */
  errors: number[];
  /** Header parameters, by name in #/components/parameters. */
  parameters?: string[];
  /** Response headers per success status, by name in #/components/headers. */
  headers?: Record<string, Record<string, string>>;
  requestBody?: Json;
  /** Not a /v1 route: no rate limits, no credentials, no NOT_READY. */
  outside?: boolean;
}

/** Every /v1 route may answer these: bad query, credentials, permissions, rate limit, shutting down / routing. */
const COMMON = [400, 401, 403, 429, 503];
/** A write reaching a standby may be redirected, refused (READ_ONLY) or forwarded (then anything the primary answers). */
const WRITE = [307, 409];
const JSON_BODY = [413, 415];
const READ_HEADERS = { 'X-Kvstore-Applied-LSN': 'AppliedLsn' };

const VALUE_BODY = {
  required: false,
  description: 'The value: the raw request body, any content type, binary-safe (up to `body_limit`, 16 MiB by default). No body stores an empty value.',
  content: {
    'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
    'text/plain': { schema: { type: 'string' } },
    '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
  },
};

export const OPERATIONS: Record<string, OperationDoc> = {
  health: { errors: [], outside: true },
  ready: { errors: [], outside: true },
  metrics: { errors: [401], outside: true },
  openapi: { errors: [], outside: true },
  getValue: { errors: [404, 413], parameters: ['ConsistencyHeader'], headers: { 200: { ETag: 'ETag', 'X-Expires-At': 'ExpiresAt', ...READ_HEADERS } } },
  putValue: { errors: [...WRITE, 412, 413], parameters: ['IfMatch', 'IfNoneMatch'], headers: { 200: { ETag: 'ETag' }, 201: { ETag: 'ETag' } }, requestBody: VALUE_BODY },
  deleteValue: { errors: [...WRITE, 404, 412, 413], parameters: ['IfMatch'] },
  incrValue: { errors: [...WRITE, 404, 413] },
  scan: { errors: [], parameters: ['ConsistencyHeader'], headers: { 200: READ_HEADERS } },
  batch: { errors: [...WRITE, ...JSON_BODY] },
  txn: { errors: [...WRITE, ...JSON_BODY, 412] },
  watch: { errors: [410], parameters: ['LastEventId'] },
  login: { errors: [...WRITE, ...JSON_BODY] },
  whoami: { errors: [] },
  getCluster: { errors: [404] },
  readIndex: { errors: [] },
  checkpoint: { errors: [] },
  getStats: { errors: [] },
  createBackup: { errors: [...WRITE, ...JSON_BODY] },
  getArchive: { errors: [] },
  getReplication: { errors: [] },
  promote: { errors: [409] },
  switchover: { errors: [...WRITE, ...JSON_BODY, 404] },
  removeMember: { errors: [...WRITE, 404] },
  listUsers: { errors: [409] },
  getUser: { errors: [404, 409] },
  createUser: { errors: [...WRITE, ...JSON_BODY] },
  dropUser: { errors: [...WRITE, 404] },
  setPassword: { errors: [...WRITE, ...JSON_BODY, 404] },
  lockUser: { errors: [...WRITE, ...JSON_BODY, 404] },
  unlockUser: { errors: [...WRITE, 404] },
  listRoles: { errors: [409] },
  createRole: { errors: [...WRITE, ...JSON_BODY] },
  dropRole: { errors: [...WRITE, 404] },
  grant: { errors: [...WRITE, ...JSON_BODY, 404] },
  revoke: { errors: [...WRITE, ...JSON_BODY, 404] },
  listApiKeys: { errors: [409] },
  createApiKey: { errors: [...WRITE, ...JSON_BODY, 404] },
  revokeApiKey: { errors: [...WRITE, 404] },
  listAudit: { errors: [409] },
  exportAudit: { errors: [409] },
  getSettings: { errors: [409] },
  // The route takes any object and AuthService checks it (UNKNOWN_OPTION for a name it does not know): the document says which.
  updateSettings: { errors: [...WRITE, ...JSON_BODY], requestBody: { required: true, description: 'Any subset of the settings.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Settings' } } } } },
  rotateSigningKey: { errors: [...WRITE] },
  // 400: a key from the environment cannot be read again; 503: no master key (MASTER_KEY_REQUIRED) or its source failed.
  rotateMasterKey: { errors: [...WRITE] },
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Adds OPERATIONS' parts to every operation; throws on an operation without an operationId or an entry. */
function complete(doc: Json): Json {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const id = op.operationId as string | undefined;
      const extra = id === undefined ? undefined : OPERATIONS[id];
      if (id === undefined || extra === undefined) throw new Error(`openapi: ${method.toUpperCase()} ${path} has ${id === undefined ? 'no operationId' : `operationId ${id} without an entry in OPERATIONS (ts/server/openapi.ts)`}`);
      if (seen.has(id)) throw new Error(`openapi: operationId ${id} is used twice`);
      seen.add(id);
      if (extra.parameters) op.parameters = [...((op.parameters as Json[] | undefined) ?? []), ...extra.parameters.map((p) => ({ $ref: `#/components/parameters/${p}` }))];
      if (extra.requestBody) op.requestBody = extra.requestBody;
      const responses = op.responses as Record<string, Json>;
      for (const [status, headers] of Object.entries(extra.headers ?? {})) {
        const r = responses[status];
        if (!r) throw new Error(`openapi: ${id} documents headers for ${status}, which it does not answer`);
        r.headers = { ...((r.headers as Json | undefined) ?? {}), ...Object.fromEntries(Object.entries(headers).map(([h, c]) => [h, headerRef(c)])) };
      }
      const statuses = [...new Set([...(extra.outside ? [] : COMMON), ...extra.errors])].sort((a, b) => a - b);
      for (const s of statuses) responses[String(s)] = { $ref: `#/components/responses/${STATUS_RESPONSE[s]!}` };
      if (!extra.outside) responses.default = { $ref: '#/components/responses/Error' };
    }
  }
  return doc;
}

/** The key routes' wildcard as path templates (see the file comment). */
function transform({ schema, url, route }: { schema: Json; url: string; route: { method: string | string[] } }): { schema: Json; url: string } {
  if (!url.endsWith('/kv/*')) return { schema, url };
  const incr = route.method === 'POST';
  const params = {
    type: 'object', required: ['key'],
    properties: {
      key: {
        type: 'string', minLength: 1,
        description: 'The key, percent-encoded UTF-8 (encodeURIComponent). A `/` may also be sent as it is' + (incr ? ', except that the key then must not end in `/incr`.' : '.'),
      },
    },
  };
  return { schema: { ...schema, params }, url: url.slice(0, -1) + (incr ? ':key/incr' : ':key') };
}

export const TAGS = [
  { name: 'kv', description: 'Keys and values: get, put, delete, incr, scan, batch, transactions, watch.' },
  { name: 'auth', description: 'Sessions and who the caller is.' },
  { name: 'cluster', description: 'The cluster and read-index (docs/cluster.md, docs/replication.md).' },
  { name: 'admin', description: 'The store: stats, checkpoints, backups, replication (admin role).' },
  { name: 'catalog', description: 'Users, roles, grants, API keys, audit log, settings (admin role; 409 AUTH_DISABLED with authentication off).' },
  { name: 'server', description: 'Health, readiness, metrics and this document: no /v1 prefix.' },
];

export const SWAGGER_OPTIONS = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'KVStore++ HTTP API',
      version: '1',
      description: 'kvstored\'s HTTP API (docs/http.md). Every response carries `X-Request-Id`; every error is an `application/problem+json` Problem with a stable `code` (docs/errors.md). Credentials: an API key in `X-API-Key`, or a session token from `POST /v1/auth/login` as `Authorization: Bearer`, never both.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'kvstored on its default port' }],
    tags: TAGS,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`kvs_…`) from POST /v1/admin/apikeys or `kvctl apikey create`.' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A session token from POST /v1/auth/login.' },
      },
      parameters: PARAMETERS,
      headers: HEADERS,
      responses: RESPONSES,
    },
    security: [{ apiKey: [] }, { bearer: [] }],
  },
  // Components named by their $id (Problem, User, …) instead of def-0, def-1, …
  refResolver: { buildLocalReference: (json: Json, _baseUri: unknown, _fragment: unknown, i: number) => String(json.$id ?? `def-${i}`) },
  transform,
  transformObject: ({ openapiObject }: { openapiObject: Json }) => complete(openapiObject),
} as unknown as FastifyDynamicSwaggerOptions;
