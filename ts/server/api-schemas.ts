/**
 * The JSON schemas of what the /v1 routes answer: one place for the contract's shapes.
 * kvstoreRoutes adds SHARED_SCHEMAS to its fastify context (addSchema) and the routes point
 * at them with `{ $ref: 'Name#' }`, so each does two jobs:
 * - fastify serializes the answer with them (fast-json-stringify), which DROPS any property a
 *   schema does not declare and coerces a value to the declared type: every field a route
 *   sends must be here, with its exact type (null included where it can be null);
 * - @fastify/swagger emits each as `#/components/schemas/<Name>` of docs/openapi.json.
 * The operational reports (stats, replication, cluster, backups) declare the fields clients
 * read and keep `additionalProperties: true`: they grow with the server, and an undeclared
 * new field must still be sent. The catalog and data shapes are closed.
 */
import { ERRORS } from '../errors.js';

const decimal = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;
const signedDecimal = { type: 'string', pattern: '^-?[0-9]{1,20}$' } as const;
const ms = { type: 'integer', description: 'Milliseconds since the Unix epoch.' } as const;
const msOrNull = { type: ['integer', 'null'], description: 'Milliseconds since the Unix epoch, or null.' } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

/** RFC 9457 problem document: every error the API answers (ts/server/problem.ts builds it). */
export const Problem = {
  $id: 'Problem',
  description: 'An error (RFC 9457), sent as application/problem+json. `code` is stable: branch on it, not on `detail` (docs/errors.md).',
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail', 'instance'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', description: '`urn:kvstore:error:<code>`.', pattern: '^urn:kvstore:error:[A-Z_]+$' },
    title: { type: 'string', description: "The code's fixed message." },
    status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status, as in the status line.' },
    code: { type: 'string', enum: Object.keys(ERRORS), description: 'The stable error code (docs/errors.md).' },
    detail: { type: 'string', description: 'What went wrong in this request, for people.' },
    instance: { type: 'string', description: 'The request id (also the X-Request-Id header): quote it when reporting a problem.' },
  },
} as const;

export const Version = {
  $id: 'Version',
  description: 'The version (LSN) the write got, as a decimal string (64-bit).',
  type: 'object', required: ['version'], additionalProperties: false,
  properties: { version: decimal },
} as const;

export const Counter = {
  $id: 'Counter',
  description: "The counter's new value, as a decimal string (signed 64-bit).",
  type: 'object', required: ['value'], additionalProperties: false,
  properties: { value: signedDecimal },
} as const;

export const ScanItem = {
  $id: 'ScanItem',
  description: 'One entry: `key` when the key is valid UTF-8, else `keyBase64`; `value` (base64) only with values=true.',
  type: 'object', additionalProperties: false,
  properties: { key: { type: 'string' }, keyBase64: { type: 'string', contentEncoding: 'base64' }, value: { type: 'string', contentEncoding: 'base64' } },
} as const;

export const ScanPage = {
  $id: 'ScanPage',
  description: 'One page of a scan; `cursor` is present when more entries may follow: pass it back as `cursor`.',
  type: 'object', required: ['items'], additionalProperties: false,
  properties: { items: { type: 'array', items: { $ref: 'ScanItem#' } }, cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]*$' } },
} as const;

export const TxnResult = {
  $id: 'TxnResult',
  description: 'The result of one operation of the branch that ran: put → version; del → deleted; incr → value; get → found (and value in base64, version when found).',
  type: 'object', required: ['op'], additionalProperties: false,
  properties: {
    op: { type: 'string', enum: ['put', 'del', 'get', 'incr'] },
    version: decimal, deleted: { type: 'boolean' }, found: { type: 'boolean' },
    value: { type: 'string', description: 'incr: the new value (decimal); get: the value, base64.' },
  },
} as const;

export const TxnOutcome = {
  $id: 'TxnOutcome',
  type: 'object', required: ['succeeded', 'version', 'results'], additionalProperties: false,
  properties: { succeeded: { type: 'boolean', description: 'Every compare held: the success branch ran (else the failure branch).' }, version: decimal, results: { type: 'array', items: { $ref: 'TxnResult#' } } },
} as const;

export const Session = {
  $id: 'Session',
  type: 'object', required: ['token', 'expiresAt'], additionalProperties: false,
  properties: { token: { type: 'string', description: 'Send as `Authorization: Bearer <token>`.' }, expiresAt: { type: 'string', format: 'date-time' } },
} as const;

export const WhoAmI = {
  $id: 'WhoAmI',
  description: 'With authentication off: `{ user: null, auth: false }`. Otherwise the principal that made the request.',
  type: 'object', required: ['user'], additionalProperties: false,
  properties: {
    user: { type: ['string', 'null'] }, auth: { type: 'boolean' }, type: { type: 'string', enum: ['session', 'apikey'] },
    keyName: { type: ['string', 'null'] }, roles: stringList, admin: { type: 'boolean' },
  },
} as const;

export const Permission = {
  $id: 'Permission',
  type: 'object', required: ['prefix', 'actions'], additionalProperties: false,
  properties: { prefix: { type: 'string', maxLength: 4096 }, actions: { type: 'array', minItems: 1, items: { type: 'string', enum: ['read', 'write', 'delete', 'scan'] } } },
} as const;

export const User = {
  $id: 'User',
  type: 'object', additionalProperties: false,
  required: ['name', 'oid', 'roles', 'locked', 'failedLogins', 'hasPassword', 'hasMetadata', 'createdAt', 'passwordChangedAt'],
  properties: {
    name: { type: 'string' }, oid: { type: 'integer' }, roles: stringList, locked: { type: 'boolean' },
    lockedReason: { type: 'string' }, lockedAt: ms, lockedBy: { type: 'string' },
    lockedOutUntil: { ...ms, description: 'Failed-login throttling: no login before this time (ms since the epoch).' },
    failedLogins: { type: 'integer' }, hasPassword: { type: 'boolean' }, hasMetadata: { type: 'boolean' }, createdAt: ms, passwordChangedAt: msOrNull,
  },
} as const;

export const Role = {
  $id: 'Role',
  type: 'object', additionalProperties: false,
  required: ['name', 'oid', 'builtin', 'superuser', 'permissions', 'memberOf', 'createdAt'],
  properties: {
    name: { type: 'string' }, oid: { type: 'integer' }, builtin: { type: 'boolean' }, superuser: { type: 'boolean' },
    permissions: { type: 'array', items: { $ref: 'Permission#' } }, memberOf: stringList, createdAt: ms,
  },
} as const;

export const ApiKey = {
  $id: 'ApiKey',
  type: 'object', additionalProperties: false,
  required: ['id', 'name', 'owner', 'roles', 'expiresAt', 'allowIps', 'createdAt', 'lastUsedAt', 'revoked', 'revokedAt'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, owner: { type: 'string' },
    roles: { type: ['array', 'null'], items: { type: 'string' }, description: "A subset of the owner's roles; null: all of them." },
    expiresAt: msOrNull, allowIps: { type: ['array', 'null'], items: { type: 'string' }, description: 'CIDRs the key may be used from; null: anywhere.' },
    createdAt: ms, lastUsedAt: msOrNull, revoked: { type: 'boolean' }, revokedAt: msOrNull,
  },
} as const;

export const NewApiKey = {
  $id: 'NewApiKey',
  description: 'The key and its secret token: the token is shown this once and never stored. Send it as `X-API-Key: <token>`.',
  type: 'object', required: ['record', 'token'], additionalProperties: false,
  properties: { record: { $ref: 'ApiKey#' }, token: { type: 'string' } },
} as const;

export const AuditEntry = {
  $id: 'AuditEntry',
  type: 'object', required: ['id', 'at', 'actor', 'action', 'target', 'ip', 'ok'], additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[0-9.]+$' }, at: ms, actor: { type: 'string' }, action: { type: 'string' }, target: { type: 'string' },
    ip: { type: ['string', 'null'] }, ok: { type: 'boolean' }, detail: { type: 'string' },
  },
} as const;

export const AuditPage = {
  $id: 'AuditPage',
  type: 'object', required: ['entries'], additionalProperties: false,
  properties: { entries: { type: 'array', items: { $ref: 'AuditEntry#' } }, next: { type: 'string', description: 'Pass as `before` for the next (older) page; absent on the last page.' } },
} as const;

export const Settings = {
  $id: 'Settings',
  description: 'Authentication settings (docs/security.md). PATCH takes any subset of them.',
  type: 'object', additionalProperties: false,
  properties: {
    minPasswordLength: { type: 'integer' }, sessionTimeoutSec: { type: 'integer' }, lockoutThreshold: { type: 'integer' },
    lockoutMinutes: { type: 'number' }, lockoutBaseSeconds: { type: 'number' },
    argon2: { type: 'object', additionalProperties: false, properties: { memoryKiB: { type: 'integer' }, iterations: { type: 'integer' }, parallelism: { type: 'integer' } } },
    auditMaxRecords: { type: 'integer' }, auditMaxAgeDays: { type: 'number' }, auditMaxBytes: { type: 'integer' },
  },
} as const;

export const Health = {
  $id: 'Health',
  type: 'object', required: ['status'], additionalProperties: false,
  properties: { status: { type: 'string' }, engine: { type: 'string', enum: ['native', 'js'] }, auth: { type: 'boolean' } },
} as const;

const open = (id: string, description: string, properties: Record<string, object>, required: string[] = []): Record<string, unknown> => ({
  $id: id, description, type: 'object', additionalProperties: true, ...(required.length ? { required } : {}), properties,
});

export const Stats = open('Stats', "The store's counters (every 64-bit figure a decimal string), the process's memory, and authentication's counters (null with auth off). More fields may appear.", {
  engine: { type: 'string', enum: ['native', 'js'] }, keys: { type: 'integer' }, catalogKeys: { type: 'integer' }, nextLsn: decimal, durableLsn: decimal,
  walBytes: { type: 'integer', description: 'Bytes of WAL on disk.' }, walSegments: { type: 'integer' }, lastCheckpointLsn: decimal,
  lastCheckpointTimeMs: { type: 'integer', description: 'When the last checkpoint was taken (its control file), ms since the epoch; 0 before the first.' },
  memory: { type: 'object', additionalProperties: true }, auth: { type: ['object', 'null'], additionalProperties: true },
}, ['engine', 'keys', 'catalogKeys', 'memory', 'auth']);

export const ReplicationStatus = open('ReplicationStatus', "This node's replication role and positions (docs/replication.md); LSNs as decimal strings.", {
  role: { type: 'string', enum: ['primary', 'standby'] }, systemId: { type: ['string', 'null'] }, timeline: { type: ['string', 'null'] },
  history: { type: 'array', items: { type: 'object', additionalProperties: true } },
  nextLsn: decimal, flushedLsn: decimal, appliedLsn: decimal, synchronousStandbys: { type: 'integer' }, syncSet: stringList,
  standbys: { type: 'array', items: { type: 'object', additionalProperties: true } }, receiver: { type: ['object', 'null'], additionalProperties: true },
}, ['role', 'nextLsn', 'flushedLsn', 'appliedLsn']);

export const ClusterStatus = open('ClusterStatus', 'The cluster as etcd has it (docs/cluster.md).', {
  cluster: { type: 'string' }, self: { type: 'string' }, leader: { type: ['object', 'null'], additionalProperties: true },
  members: { type: 'array', items: { type: 'object', additionalProperties: true } }, syncSet: stringList, leaseTtlMs: { type: 'integer' },
}, ['cluster', 'self', 'leader', 'members']);

export const Switchover = {
  $id: 'Switchover', type: 'object', required: ['from', 'to', 'lsn'], additionalProperties: false,
  properties: { from: { type: 'string' }, to: { type: 'string' }, lsn: decimal },
} as const;

export const MemberRemoved = {
  $id: 'MemberRemoved', type: 'object', required: ['removed'], additionalProperties: false,
  properties: { removed: { type: 'string' } },
} as const;

export const BackupManifest = open('BackupManifest', "The base backup's manifest (docs/backup.md).", {
  id: { type: 'string' }, createdAt: { type: 'string' }, finishedAt: { type: 'string' }, startLsn: decimal, endLsn: decimal,
  totalBytes: { type: 'integer' }, files: { type: 'array', items: { type: 'object', additionalProperties: true } },
}, ['id', 'startLsn', 'endLsn']);

export const ArchiveStatus = open('ArchiveStatus', 'The WAL archiver (docs/backup.md): `enabled: false` when none is configured; LSNs as decimal strings.', {
  enabled: { type: 'boolean' }, lastArchivedLsn: decimal, lagLsn: decimal, lagBytes: { type: 'number' }, chunks: { type: 'integer' }, bytes: { type: 'integer' },
  failures: { type: 'integer' }, lastError: { type: ['string', 'null'] }, lastSuccessMs: { type: 'integer' },
}, ['enabled']);

export const Checkpoint = {
  $id: 'Checkpoint', type: 'object', required: ['redoLsn'], additionalProperties: false,
  properties: { redoLsn: decimal },
} as const;

export const ReadIndex = {
  $id: 'ReadIndex', type: 'object', required: ['lsn'], additionalProperties: false,
  properties: {
    lsn: { ...decimal, description: 'Every write up to this LSN is acknowledged (durable on the primary and confirmed by its synchronous standbys).' },
    timeline: { type: 'string', description: "The primary's timeline: a standby serves the read only on the same one." },
  },
} as const;

export const SigningKey = {
  $id: 'SigningKey', type: 'object', required: ['kid'], additionalProperties: false,
  properties: { kid: { type: 'string', description: 'The id of the new signing key.' } },
} as const;

export const MasterKeyRotation = {
  $id: 'MasterKeyRotation', type: 'object', required: ['rotated', 'from', 'to'], additionalProperties: false,
  properties: {
    rotated: { type: 'boolean', description: 'false: the source still gives the key the catalog is sealed under; nothing changed.' },
    from: { type: 'string', description: 'The key id the secrets were sealed under.' },
    to: { type: 'string', description: 'The key id they are sealed under now.' },
  },
} as const;

/** Every shared schema of kvstoreRoutes (Health is the root server's: /health, /ready), in the order they are added (a schema's $refs before it). */
export const SHARED_SCHEMAS: readonly object[] = [
  Problem, Version, Counter, ScanItem, ScanPage, TxnResult, TxnOutcome, Session, WhoAmI, Permission, User, Role, ApiKey, NewApiKey,
  AuditEntry, AuditPage, Settings, Stats, ReplicationStatus, ClusterStatus, Switchover, MemberRemoved, BackupManifest, ArchiveStatus,
  Checkpoint, ReadIndex, SigningKey, MasterKeyRotation,
];

/** `{ $ref: 'Name#' }`: a shared schema by its $id. */
export const ref = (schema: { $id: string } | Record<string, unknown>): { $ref: string } => ({ $ref: `${String((schema as { $id: string }).$id)}#` });

/** A JSON success response: `{ description, ...$ref }` (swagger takes the description, fastify the schema). */
export const json = (description: string, schema: { $id: string } | Record<string, unknown>): Record<string, unknown> => ({ description, ...ref(schema) });

/** A response without a body (204). */
export const empty = (description: string): Record<string, unknown> => ({ description, type: 'null' });
