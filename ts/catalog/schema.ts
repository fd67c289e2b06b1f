/**
 * The system catalog's tables: their keys under `_sys.`, their records (JSON values) and the
 * checks a record passes when it is read back. Like pg_authid / pg_roles / pg_auth_members,
 * but as entries in the same WAL-backed store as the data. No crypto here (ts/auth does it).
 *
 *   _sys.catalog:version       { version, createdAt }         written once, at bootstrap
 *   _sys.catalog:epoch         any bytes; rewritten by every change that affects access
 *   _sys.catalog:lock          LockRecord: the commit point of every change (commit.ts)
 *   _sys.catalog:keyring       KeyringRecord: which master key seals the secrets; absent = none
 *   _sys.catalog:audit_stats   AuditStats: records, bytes and last id of the audit log
 *   _sys.settings:auth         AuthSettings
 *   _sys.users:<name>          UserRecord
 *   _sys.users_by_oid:<oid>    <name>                         index, kept by Catalog.write
 *   _sys.roles:<name>          RoleRecord (grants: permissions and memberOf)
 *   _sys.apikeys:<id>          ApiKeyRecord
 *   _sys.apikey_names:<name>   <id>                           index, kept by Catalog.write
 *   _sys.signing_keys:<kid>    SigningKeyRecord
 *   _sys.audit:<ms>.<seq>      AuditRecord                    append-only, newest last
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';

/**
 * 1: signing keys in plaintext. 2: every secret sealed under the master key (keyring present).
 * A catalog is written as version 2 once it is sealed, so a release that knows only version 1
 * refuses it (CATALOG_VERSION) instead of failing on a signing key without a `secret`.
 */
export const CATALOG_VERSION = 2;

export const ACTIONS = ['read', 'write', 'delete', 'scan'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Permission {
  /** Key prefix (UTF-8); '' means every data key. Never under `_sys.`. */
  prefix: string;
  actions: Action[];
}

export interface UserRecord {
  name: string;
  oid: number;
  /** argon2id PHC string; null for a user that cannot log in with a password (API keys only). */
  passwordHash: string | null;
  /** Roles granted directly (like pg_auth_members rows for this user). */
  roles: string[];
  /** Locked by an admin: no login, no tokens, no API keys until unlocked. */
  locked: { reason: string; at: number; by: string } | null;
  /** Failed-login lockout: no login before this time (ms); 0 when not locked out. */
  lockedUntil: number;
  failedLogins: number;
  createdAt: number;
  passwordChangedAt: number | null;
  /** Bumped by a password change or a lock: session tokens carry it, so older ones stop working. */
  authEpoch: number;
  /** AES-256-GCM sealed JSON (ts/auth/seal.ts); never plaintext. */
  metadata: SealedBox | null;
}

/**
 * AES-256-GCM: base64 IV (96 bits), tag and ciphertext; the associated data names the record
 * the box belongs to (ts/auth/seal.ts). v2 boxes name the master key that sealed them (`mk`,
 * its key id); v1 boxes (user metadata before catalog version 2) do not.
 */
export interface SealedBox {
  v: 1 | 2;
  mk?: string;
  iv: string;
  tag: string;
  ct: string;
}

export interface RoleRecord {
  name: string;
  oid: number;
  builtin: boolean;
  /** Everything, including catalog administration (the built-in `admin`). */
  superuser: boolean;
  permissions: Permission[];
  /** Roles this role is a member of: it inherits their permissions. */
  memberOf: string[];
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  owner: string;
  /** SHA-256 of the secret, hex. The secret itself is shown once and never stored. */
  hash: string;
  /** A subset of the owner's roles; null = all of the owner's roles. */
  roles: string[] | null;
  expiresAt: number | null;
  /** CIDRs the key may be used from; null = anywhere. */
  allowIps: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  revoked: boolean;
  revokedAt: number | null;
}

export interface SigningKeyRecord {
  kid: string;
  alg: 'HS256';
  /** Catalog version 1 only: the base64url HMAC key in plaintext. Sealed and removed by the migration. */
  secret?: string;
  /** The HMAC key (256 bits), sealed under the master key. */
  sealed?: SealedBox;
  createdAt: number;
  /** After this time (ms) tokens signed with it no longer verify; null while it is the active key. */
  retiredAt: number | null;
}

export interface Argon2Settings {
  /** KiB of memory per hash. */
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export interface AuthSettings {
  minPasswordLength: number;
  /** Session (JWT) lifetime, seconds. */
  sessionTimeoutSec: number;
  /** Failed logins in a row before each further attempt must wait (ts/auth/throttle.ts); 0 = never. */
  lockoutThreshold: number;
  /** The longest wait between two attempts of a throttled account, minutes. */
  lockoutMinutes: number;
  /** The first wait, seconds; it doubles with each further failure up to lockoutMinutes. */
  lockoutBaseSeconds: number;
  argon2: Argon2Settings;
  /** Audit log retention: the oldest records are pruned past any of these bounds. */
  auditMaxRecords: number;
  auditMaxAgeDays: number;
  auditMaxBytes: number;
}

/** The commit point of catalog changes across threads (ts/catalog/commit.ts). */
export interface LockRecord {
  state: 'free' | 'busy';
  /** Wall-clock ms when it was taken or released. */
  at: number;
  /** pid/threadId of the holder, for the operator. */
  by: string;
}

export interface KeyringRecord {
  /** Key id of the master key every box is sealed under (ts/auth/seal.ts keyId). */
  masterKeyId: string;
  sealedAt: number;
}

export interface AuditStats {
  records: number;
  /** Key + value bytes of every audit record. */
  bytes: number;
  /** The newest record's id (`<ms>.<seq>`); '' when there has been none. */
  last: string;
}

export interface AuditRecord {
  at: number;
  actor: string;
  action: string;
  target: string;
  ip: string | null;
  ok: boolean;
  detail?: string;
}

/** OWASP's argon2id minimum (m=19 MiB, t=2, p=1) is the floor settings may not go below. */
export const ARGON2_FLOOR: Argon2Settings = { memoryKiB: 19_456, iterations: 2, parallelism: 1 };

export const DEFAULT_SETTINGS: AuthSettings = {
  minPasswordLength: 12,
  sessionTimeoutSec: 3600,
  lockoutThreshold: 5,
  lockoutMinutes: 15,
  lockoutBaseSeconds: 1,
  argon2: { ...ARGON2_FLOOR },
  auditMaxRecords: 1_000_000,
  auditMaxAgeDays: 365,
  auditMaxBytes: 256 * 1024 * 1024,
};

export const BUILTIN_ROLES: readonly RoleRecord[] = [
  { name: 'admin', oid: 1, builtin: true, superuser: true, permissions: [{ prefix: '', actions: [...ACTIONS] }], memberOf: [], createdAt: 0 },
  { name: 'writer', oid: 2, builtin: true, superuser: false, permissions: [{ prefix: '', actions: [...ACTIONS] }], memberOf: [], createdAt: 0 },
  { name: 'reader', oid: 3, builtin: true, superuser: false, permissions: [{ prefix: '', actions: ['read', 'scan'] }], memberOf: [], createdAt: 0 },
  // May stream the WAL (every key, `_sys.*` included) to a standby, and nothing else: like
  // PostgreSQL's REPLICATION attribute. No data permissions of its own (docs/replication.md).
  { name: 'replicator', oid: 4, builtin: true, superuser: false, permissions: [], memberOf: [], createdAt: 0 },
  // May read /metrics when metrics_auth = token (a Prometheus scraper's key), and nothing else.
  { name: 'monitor', oid: 5, builtin: true, superuser: false, permissions: [], memberOf: [], createdAt: 0 },
];

/** Oids below this are for built-in objects (as PostgreSQL's FirstNormalObjectId). */
export const FIRST_USER_OID = 16384;

export const KEYS = {
  version: '_sys.catalog:version',
  epoch: '_sys.catalog:epoch',
  lock: '_sys.catalog:lock',
  keyring: '_sys.catalog:keyring',
  auditStats: '_sys.catalog:audit_stats',
  settings: '_sys.settings:auth',
  user: (name: string) => `_sys.users:${name}`,
  userOid: (oid: number) => `_sys.users_by_oid:${oid}`,
  role: (name: string) => `_sys.roles:${name}`,
  apiKey: (id: string) => `_sys.apikeys:${id}`,
  apiKeyName: (name: string) => `_sys.apikey_names:${name}`,
  signingKey: (kid: string) => `_sys.signing_keys:${kid}`,
  audit: (ms: number, seq: number) => `_sys.audit:${auditId(ms, seq)}`,
} as const;

export const PREFIXES = {
  users: '_sys.users:',
  usersByOid: '_sys.users_by_oid:',
  roles: '_sys.roles:',
  apiKeys: '_sys.apikeys:',
  apiKeyNames: '_sys.apikey_names:',
  signingKeys: '_sys.signing_keys:',
  audit: '_sys.audit:',
} as const;

/** An audit record's id: `<ms, 15 digits>.<seq, 6 digits>`, so ids sort as their times. */
export function auditId(ms: number, seq: number): string {
  return `${String(ms).padStart(15, '0')}.${String(seq).padStart(6, '0')}`;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$/;

/** User, role and API key names: 1–63 characters, letters, digits and `_ . @ -`, not starting with punctuation. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new KvError('INVALID_ARGUMENT', `${kind} name must be 1-63 characters of letters, digits, '_', '.', '@' or '-', starting with a letter or digit; got ${JSON.stringify(name)}`);
  }
  return name;
}

export function checkActions(actions: unknown): Action[] {
  if (!Array.isArray(actions) || actions.length === 0) throw new KvError('INVALID_ARGUMENT', `actions must be a non-empty list of ${ACTIONS.join(', ')}`);
  const out = new Set<Action>();
  for (const a of actions) {
    if (!(ACTIONS as readonly unknown[]).includes(a)) throw new KvError('INVALID_ARGUMENT', `unknown action ${JSON.stringify(a)}; actions are ${ACTIONS.join(', ')}`);
    out.add(a as Action);
  }
  return ACTIONS.filter((a) => out.has(a));
}

export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new KvError('INVALID_ARGUMENT', 'prefix must be a string');
  if (Buffer.byteLength(prefix) > 4096) throw new KvError('INVALID_ARGUMENT', 'prefix is longer than a key may be (4096 bytes)');
  // A shorter prefix such as '' or '_' may cover `_sys.` too: harmless, authorize() never lets
  // a data action reach `_sys.`, whatever the grants say.
  if (prefix.startsWith('_sys.')) {
    throw new KvError('INVALID_ARGUMENT', `prefix ${JSON.stringify(prefix)} reaches the reserved "_sys." keys; grant the admin role for catalog access`);
  }
  return prefix;
}

const SETTINGS_NAMES = optionNames<AuthSettings>({
  minPasswordLength: true, sessionTimeoutSec: true, lockoutThreshold: true, lockoutMinutes: true, lockoutBaseSeconds: true, argon2: true,
  auditMaxRecords: true, auditMaxAgeDays: true, auditMaxBytes: true,
});
const ARGON2_NAMES = optionNames<Argon2Settings>({ memoryKiB: true, iterations: true, parallelism: true });

/** Settings after validation; `patch` may leave fields out. Refuses argon2 parameters under OWASP's floor. */
export function checkSettings(base: AuthSettings, patch: unknown): AuthSettings {
  if (typeof patch !== 'object' || patch === null) throw new KvError('INVALID_ARGUMENT', 'settings must be an object');
  checkOptions('auth settings', patch, SETTINGS_NAMES);
  const p = patch as Record<string, unknown>;
  const int = (name: string, v: unknown, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new KvError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  };
  const a = (p.argon2 ?? {}) as Record<string, unknown>;
  if (typeof a !== 'object' || a === null) throw new KvError('INVALID_ARGUMENT', 'argon2 must be an object');
  checkOptions('argon2 settings', a, ARGON2_NAMES);
  return {
    minPasswordLength: int('minPasswordLength', p.minPasswordLength, base.minPasswordLength, 8, 1024),
    sessionTimeoutSec: int('sessionTimeoutSec', p.sessionTimeoutSec, base.sessionTimeoutSec, 60, 7 * 86400),
    lockoutThreshold: int('lockoutThreshold', p.lockoutThreshold, base.lockoutThreshold, 0, 1000),
    lockoutMinutes: int('lockoutMinutes', p.lockoutMinutes, base.lockoutMinutes, 1, 7 * 1440),
    lockoutBaseSeconds: int('lockoutBaseSeconds', p.lockoutBaseSeconds, base.lockoutBaseSeconds, 1, 3600),
    auditMaxRecords: int('auditMaxRecords', p.auditMaxRecords, base.auditMaxRecords, 100, 1_000_000_000),
    auditMaxAgeDays: int('auditMaxAgeDays', p.auditMaxAgeDays, base.auditMaxAgeDays, 1, 100 * 365),
    auditMaxBytes: int('auditMaxBytes', p.auditMaxBytes, base.auditMaxBytes, 64 * 1024, 2 ** 50),
    argon2: {
      memoryKiB: int('argon2.memoryKiB', a.memoryKiB, base.argon2.memoryKiB, ARGON2_FLOOR.memoryKiB, 4 * 1024 * 1024),
      iterations: int('argon2.iterations', a.iterations, base.argon2.iterations, ARGON2_FLOOR.iterations, 64),
      parallelism: int('argon2.parallelism', a.parallelism, base.argon2.parallelism, ARGON2_FLOOR.parallelism, 16),
    },
  };
}

// ---- reading records back: a record that does not parse is corruption, named by its key ----

type Kind = 'string' | 'number' | 'boolean' | 'string?' | 'number?' | 'object?' | 'string[]' | 'string[]?' | 'object[]';

function ok(v: unknown, kind: Kind): boolean {
  if (kind.endsWith('?') && v === null) return true;
  switch (kind.replace('?', '')) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return typeof v === 'object' && v !== null;
    case 'string[]': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object[]': return Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null);
    default: return false;
  }
}

const SHAPES = {
  user: { name: 'string', oid: 'number', passwordHash: 'string?', roles: 'string[]', locked: 'object?', lockedUntil: 'number', failedLogins: 'number', createdAt: 'number', passwordChangedAt: 'number?', authEpoch: 'number', metadata: 'object?' },
  role: { name: 'string', oid: 'number', builtin: 'boolean', superuser: 'boolean', permissions: 'object[]', memberOf: 'string[]', createdAt: 'number' },
  apiKey: { id: 'string', name: 'string', owner: 'string', hash: 'string', roles: 'string[]?', expiresAt: 'number?', allowIps: 'string[]?', createdAt: 'number', lastUsedAt: 'number?', revoked: 'boolean', revokedAt: 'number?' },
  signingKey: { kid: 'string', alg: 'string', createdAt: 'number', retiredAt: 'number?' },
  settings: { minPasswordLength: 'number', sessionTimeoutSec: 'number', lockoutThreshold: 'number', lockoutMinutes: 'number', argon2: 'object?' },
  audit: { at: 'number', actor: 'string', action: 'string', target: 'string', ip: 'string?', ok: 'boolean' },
  version: { version: 'number', createdAt: 'number' },
  lock: { state: 'string', at: 'number', by: 'string' },
  keyring: { masterKeyId: 'string', sealedAt: 'number' },
  auditStats: { records: 'number', bytes: 'number', last: 'string' },
} as const satisfies Record<string, Record<string, Kind>>;

export interface RecordTypes {
  user: UserRecord;
  role: RoleRecord;
  apiKey: ApiKeyRecord;
  signingKey: SigningKeyRecord;
  settings: AuthSettings;
  audit: AuditRecord;
  version: { version: number; createdAt: number };
  lock: LockRecord;
  keyring: KeyringRecord;
  auditStats: AuditStats;
}

export function decode<K extends keyof RecordTypes>(kind: K, key: string, bytes: Buffer): RecordTypes[K] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new KvError('CORRUPT', `catalog entry ${key} is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null) throw new KvError('CORRUPT', `catalog entry ${key} is not an object`);
  const rec = v as Record<string, unknown>;
  for (const [field, kind_] of Object.entries(SHAPES[kind])) {
    if (!ok(rec[field], kind_)) throw new KvError('CORRUPT', `catalog entry ${key}: field ${field} is not a ${kind_}`);
  }
  if (kind === 'signingKey' && typeof rec.secret !== 'string' && !isBox(rec.sealed)) throw new KvError('CORRUPT', `catalog entry ${key}: neither a secret nor a sealed box`);
  return v as RecordTypes[K];
}

function isBox(v: unknown): v is SealedBox {
  const b = v as Partial<SealedBox> | null;
  return typeof b === 'object' && b !== null && (b.v === 1 || b.v === 2) && typeof b.iv === 'string' && typeof b.tag === 'string' && typeof b.ct === 'string';
}

export function encode(record: object): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}
