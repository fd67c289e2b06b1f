/**
 * The options objects of AuthService and the names each one takes. Every method checks its
 * options (and its RequestContext) with checkOptions (ts/options.ts) before it does
 * anything, so a misspelled name (`expires` for `expiresAt`, `role` for `roles`) is
 * UNKNOWN_OPTION instead of a key that never expires or a user with no roles.
 */
import type { AuditEntry } from '../catalog/catalog.js';
import type { Action, Permission } from '../catalog/schema.js';
import { checkOptions, optionNames } from '../options.js';

export interface AuthOptions {
  /**
   * The master key that seals the catalog's secrets (signing keys, user metadata): 32 bytes
   * (Buffer, 64 hex digits or base64), or a loader returning one (e.g.
   * `() => loadMasterKey({ file })`), asked again when another thread or process rotated the
   * key. Without one, a new catalog is created unsealed (signing keys in plaintext) and user
   * metadata is refused; a sealed catalog opens, but logins and sessions fail with
   * MASTER_KEY_REQUIRED. An unsealed catalog opened with a key is sealed at once.
   */
  masterKey?: Buffer | string | (() => Promise<Buffer | string>);
  /** Called with every audit record this service's catalog commits, and the record as a JSON line (for stdout, syslog, a SIEM). */
  auditSink?: (entry: AuditEntry, line: string) => void;
  /** How often the audit log is pruned to the retention settings, ms; 0 = only when pruneAudit() is called. Default 60,000. */
  auditPruneIntervalMs?: number;
}

/** Who asks for a change and from where: both go into the audit log. */
export interface RequestContext {
  actor?: string;
  ip?: string;
}

export interface CreateUserOptions {
  /** Without one the user can only use API keys. */
  password?: string;
  roles?: string[];
  /** Any JSON; stored encrypted with the master key. */
  metadata?: unknown;
}

export interface FirstAdminOptions {
  /** Default 'admin'. */
  name?: string;
  /** Default: generated and returned once. */
  password?: string;
}

export interface ApiKeyOptions {
  name: string;
  /** A subset of the owner's roles; default: all of them (as they are at each request). */
  roles?: string[];
  /** Absolute expiry, ms since the epoch. */
  expiresAt?: number;
  /** CIDRs ('10.0.0.0/8', '::1') the key may be used from. */
  allowIps?: string[];
}

export interface ListApiKeysOptions {
  /** Only this user's keys. */
  owner?: string;
}

export interface RoleOptions {
  permissions?: Permission[];
  /** Roles this one inherits from. */
  memberOf?: string[];
}

/** A grant or revoke: a role to a user, a role to a role (member inherits role), or actions on a prefix to a role. */
export type GrantSpec =
  | { role: string; user: string }
  | { role: string; member: string }
  | { role: string; prefix: string; actions?: Action[] };

export interface AuditOptions {
  /** 1..10,000; default 100. */
  limit?: number;
  /** An entry id from a previous page's `next`: only older entries. */
  before?: string;
}

export const NAMES = {
  auth: optionNames<AuthOptions>({ masterKey: true, auditSink: true, auditPruneIntervalMs: true }),
  context: optionNames<RequestContext>({ actor: true, ip: true }),
  loginContext: optionNames<{ ip?: string }>({ ip: true }),
  createUser: optionNames<CreateUserOptions>({ password: true, roles: true, metadata: true }),
  firstAdmin: optionNames<FirstAdminOptions>({ name: true, password: true }),
  apiKey: optionNames<ApiKeyOptions>({ name: true, roles: true, expiresAt: true, allowIps: true }),
  listApiKeys: optionNames<ListApiKeysOptions>({ owner: true }),
  role: optionNames<RoleOptions>({ permissions: true, memberOf: true }),
  permission: optionNames<Permission>({ prefix: true, actions: true }),
  grantUser: optionNames<Extract<GrantSpec, { user: string }>>({ role: true, user: true }),
  grantMember: optionNames<Extract<GrantSpec, { member: string }>>({ role: true, member: true }),
  grantPrefix: optionNames<Extract<GrantSpec, { prefix: string }>>({ role: true, prefix: true, actions: true }),
  audit: optionNames<AuditOptions>({ limit: true, before: true }),
} as const;

/** Checks a RequestContext (`where` is the method's name). */
export function checkContext(where: string, ctx: unknown): void {
  checkOptions(`${where} context`, ctx, NAMES.context);
}

/** The names a grant spec may have, by its shape (user, member or prefix); all of them when it has none. */
export function grantNames(spec: object): readonly string[] {
  if ('user' in spec) return NAMES.grantUser;
  if ('member' in spec) return NAMES.grantMember;
  if ('prefix' in spec) return NAMES.grantPrefix;
  return [...new Set([...NAMES.grantUser, ...NAMES.grantMember, ...NAMES.grantPrefix])];
}
