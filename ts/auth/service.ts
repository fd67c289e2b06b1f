/**
 * AuthService: users, roles, grants, API keys, sessions and authorization over an open store.
 * Everything it keeps lives in the system catalog (ts/catalog); this layer adds the crypto
 * (argon2id, SHA-256, HS256 JWTs, AES-256-GCM) and the decisions.
 *
 * The embedded API trusts its caller: a catalog change is made for `ctx.actor` (recorded in
 * the audit log) without checking that actor's rights. A server checks
 * `authorize(principal, 'admin')` before it calls a change on a client's behalf.
 *
 * Hot path: authenticateApiKey / verifyToken / authorize read only the in-memory catalog and
 * caches rebuilt when the catalog changes (one point read of the catalog epoch per call), so
 * a revoke, a lock or a password change takes effect on the very next request.
 */
import crypto from 'node:crypto';
import type net from 'node:net';
import { KvError } from '../errors.js';
import type { Store } from '../store/store.js';
import { type AuditInput, type AuditPage, Catalog, type CatalogChange, type CatalogState, type Mutation } from '../catalog/catalog.js';
import {
  type Action, type ApiKeyRecord, type AuthSettings, type Permission, type RoleRecord, type SigningKeyRecord, type UserRecord,
  checkActions, checkName, checkPrefix, checkSettings,
} from '../catalog/schema.js';
import {
  type ApiKeyOptions, type AuditOptions, type AuthOptions, type CreateUserOptions, type FirstAdminOptions, type GrantSpec,
  type ListApiKeysOptions, type RequestContext, type RoleOptions, NAMES, checkContext, grantNames,
} from './options.js';
import { checkOptions } from '../options.js';
import { compileAllowList, ipAllowed, newApiKey, parseToken, secretMatches } from './apikeys.js';
import { checkPassword, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { type PermissionSet, byteString, compile, match, wouldCycle } from './rbac.js';
import { open as openBox, parseMasterKey, seal } from './seal.js';
import { type SessionClaims, newSigningKey, signSession, verifySession } from './tokens.js';

export type { Action, AuthSettings, Permission } from '../catalog/schema.js';
export type { AuditPage } from '../catalog/catalog.js';
export type {
  ApiKeyOptions, AuditOptions, AuthOptions, CreateUserOptions, FirstAdminOptions, GrantSpec, ListApiKeysOptions, RequestContext, RoleOptions,
} from './options.js';

/** An authenticated caller. authorize() re-checks it against the catalog on every call. */
export interface Principal {
  readonly type: 'session' | 'apikey';
  readonly user: string;
  readonly oid: number;
  /** Sessions: the user's auth epoch at login (a password change or lock moves it). */
  readonly epoch?: number;
  /** ms since the epoch; sessions and expiring API keys. */
  readonly expiresAt?: number;
  readonly keyId?: string;
  readonly keyName?: string;
}

export interface Decision {
  allow: boolean;
  reason: string;
  /** Set when the principal itself no longer stands (user dropped or locked, session stale, key revoked or expired): a 401, not a 403. */
  invalid?: true;
}

export interface UserInfo {
  name: string;
  oid: number;
  roles: string[];
  locked: boolean;
  lockedReason?: string;
  lockedAt?: number;
  lockedBy?: string;
  /** Set while a failed-login lockout lasts. */
  lockedOutUntil?: number;
  failedLogins: number;
  hasPassword: boolean;
  hasMetadata: boolean;
  createdAt: number;
  passwordChangedAt: number | null;
}

export type RoleInfo = RoleRecord;
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

export interface AuthStats {
  authOk: number;
  authFailed: number;
  loginsOk: number;
  loginsFailed: number;
  lockouts: number;
}

const LAST_USED_EVERY_MS = 60_000;
const TOKEN_CACHE_MAX = 10_000;
const ADMIN_ROLE = 'admin';

function fail(detail?: string): KvError {
  // One message for every authentication failure: the reason goes to the audit log only.
  return new KvError('AUTH_FAILED', undefined, detail ? { cause: detail } : undefined);
}

function userInfo(u: UserRecord, now: number): UserInfo {
  const info: UserInfo = {
    name: u.name, oid: u.oid, roles: [...u.roles], locked: u.locked !== null, failedLogins: u.failedLogins,
    hasPassword: u.passwordHash !== null, hasMetadata: u.metadata !== null, createdAt: u.createdAt, passwordChangedAt: u.passwordChangedAt,
  };
  if (u.locked) Object.assign(info, { lockedReason: u.locked.reason, lockedAt: u.locked.at, lockedBy: u.locked.by });
  if (u.lockedUntil > now) info.lockedOutUntil = u.lockedUntil;
  return info;
}

function keyInfo(k: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...rest } = k;
  return rest;
}

function actorOf(ctx: RequestContext): { actor: string; ip: string | null } {
  return { actor: ctx.actor ?? 'local', ip: ctx.ip ?? null };
}

function need<T>(v: T | undefined, what: string, name: string): T {
  if (v === undefined) throw new KvError('NOT_FOUND', `no ${what} ${JSON.stringify(name)}`);
  return v;
}

export class AuthService {
  readonly #catalog: Catalog;
  readonly #masterKey: Buffer | null;
  #gen = -1;
  #perms = new Map<string, PermissionSet>();
  #allow = new Map<string, net.BlockList>();
  #tokens = new Map<string, SessionClaims>();
  /** API key tokens whose secret verified → key id; `${id} ${ip}` → allowlist verdict. Both cleared on any catalog change. */
  #keyTokens = new Map<string, string>();
  #ipVerdicts = new Map<string, boolean>();
  #dummyHash: Promise<string> | null = null;
  #pendingUsed = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #stats: AuthStats = { authOk: 0, authFailed: 0, loginsOk: 0, loginsFailed: 0, lockouts: 0 };

  private constructor(catalog: Catalog, masterKey: Buffer | null) {
    this.#catalog = catalog;
    this.#masterKey = masterKey;
  }

  /** Opens the catalog of `store` (bootstrapping it on first use: built-in roles, a signing key; no users). */
  static async open(store: Store<unknown, unknown>, options: AuthOptions = {}): Promise<AuthService> {
    checkOptions('AuthService.open', options, NAMES.auth);
    const masterKey = options.masterKey === undefined ? null : parseMasterKey(options.masterKey);
    const catalog = await Catalog.open(store, () => newSigningKey(Date.now()));
    return new AuthService(catalog, masterKey);
  }

  /** The catalog as of now; caches are dropped when it changed. */
  #state(): CatalogState {
    if (this.#closed) throw new KvError('CLOSED', 'the auth service is closed');
    this.#catalog.refresh();
    if (this.#catalog.generation !== this.#gen) {
      this.#gen = this.#catalog.generation;
      this.#perms.clear();
      this.#allow.clear();
      this.#tokens.clear();
      this.#keyTokens.clear();
      this.#ipVerdicts.clear();
    }
    return this.#catalog.state;
  }

  #mutate<T>(plan: (s: CatalogState, now: number) => Mutation<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new KvError('CLOSED', 'the auth service is closed'));
    return this.#catalog.mutate((s) => plan(s, this.#catalog.now()));
  }

  // ---------------------------------------------------------------- users

  /** Creates a user. Without a password the user can only use API keys. */
  async createUser(name: string, options: CreateUserOptions = {}, ctx: RequestContext = {}): Promise<UserInfo> {
    checkOptions('createUser', options, NAMES.createUser);
    checkContext('createUser', ctx);
    checkName('user', name);
    const s0 = this.#state();
    const hash = options.password === undefined ? null : await hashPassword(checkPassword(options.password, s0.settings), s0.settings.argon2);
    const metadata = options.metadata === undefined ? null : this.#seal(name, options.metadata);
    const roles = [...new Set(options.roles ?? [])];
    return this.#mutate((s, now) => {
      if (s.users.has(name)) throw new KvError('ALREADY_EXISTS', `user ${JSON.stringify(name)} exists`);
      for (const r of roles) need(s.roles.get(r), 'role', r);
      const u: UserRecord = {
        name, oid: s.nextOid, passwordHash: hash, roles, locked: null, lockedUntil: 0, failedLogins: 0,
        createdAt: now, passwordChangedAt: hash ? now : null, authEpoch: 1, metadata,
      };
      return { changes: [{ put: 'user', record: u }], audit: [{ ...actorOf(ctx), action: 'user.create', target: name, ok: true, detail: `roles: ${roles.join(',') || '(none)'}` }], result: userInfo(u, now) };
    });
  }

  /**
   * The first admin of an empty catalog, from the operator's password, or a generated one that
   * is returned once (and never stored in plaintext). Refused once any admin exists.
   */
  async createFirstAdmin(options: FirstAdminOptions = {}, ctx: RequestContext = {}): Promise<{ name: string; generatedPassword?: string }> {
    checkOptions('createFirstAdmin', options, NAMES.firstAdmin);
    checkContext('createFirstAdmin', ctx);
    const name = options.name ?? 'admin';
    const s = this.#state();
    if ([...s.users.values()].some((u) => compile(u.roles, s.roles).superuser)) throw new KvError('ALREADY_EXISTS', 'an admin user exists already');
    const generated = options.password === undefined ? crypto.randomBytes(18).toString('base64url') : undefined;
    await this.createUser(name, { password: options.password ?? generated!, roles: [ADMIN_ROLE] }, { actor: 'bootstrap', ...ctx });
    return generated === undefined ? { name } : { name, generatedPassword: generated };
  }

  getUser(name: string): UserInfo | undefined {
    const u = this.#state().users.get(name);
    return u && userInfo(u, this.#catalog.now());
  }

  listUsers(): UserInfo[] {
    const now = this.#catalog.now();
    return [...this.#state().users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((u) => userInfo(u, now));
  }

  async setPassword(name: string, password: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('setPassword', ctx);
    const s0 = this.#state();
    need(s0.users.get(name), 'user', name);
    const hash = await hashPassword(checkPassword(password, s0.settings), s0.settings.argon2);
    await this.#mutate((s, now) => {
      const u = need(s.users.get(name), 'user', name);
      const record: UserRecord = { ...u, passwordHash: hash, passwordChangedAt: now, authEpoch: u.authEpoch + 1, failedLogins: 0, lockedUntil: 0 };
      return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.password', target: name, ok: true }], result: undefined };
    });
  }

  async lockUser(name: string, reason: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('lockUser', ctx);
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) throw new KvError('INVALID_ARGUMENT', 'reason must be 1-500 characters');
    await this.#mutate((s, now) => {
      const u = need(s.users.get(name), 'user', name);
      this.#keepAnAdmin(s, name);
      const { actor } = actorOf(ctx);
      const record: UserRecord = { ...u, locked: { reason, at: now, by: actor }, authEpoch: u.authEpoch + 1 };
      return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.lock', target: name, ok: true, detail: reason }], result: undefined };
    });
  }

  async unlockUser(name: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('unlockUser', ctx);
    await this.#mutate((s) => {
      const u = need(s.users.get(name), 'user', name);
      const record: UserRecord = { ...u, locked: null, lockedUntil: 0, failedLogins: 0 };
      return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.unlock', target: name, ok: true }], result: undefined };
    });
  }

  /** Drops the user and its API keys, in one batch. */
  async dropUser(name: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('dropUser', ctx);
    await this.#mutate((s) => {
      need(s.users.get(name), 'user', name);
      this.#keepAnAdmin(s, name);
      const changes: CatalogChange[] = [{ del: 'user', name }];
      for (const k of s.apiKeys.values()) if (k.owner === name) changes.push({ del: 'apiKey', id: k.id });
      return { changes, audit: [{ ...actorOf(ctx), action: 'user.drop', target: name, ok: true, detail: `${changes.length - 1} API keys dropped` }], result: undefined };
    });
  }

  /** Refuses a change that would leave no unlocked user with the admin role. */
  #keepAnAdmin(s: CatalogState, losing: string, rolesAfter?: string[]): void {
    const isAdmin = (u: UserRecord, roles: string[]): boolean => u.locked === null && compile(roles, s.roles).superuser;
    const u = s.users.get(losing);
    if (!u || !isAdmin(u, u.roles)) return;
    if (rolesAfter && compile(rolesAfter, s.roles).superuser) return;
    for (const o of s.users.values()) if (o.name !== losing && isAdmin(o, o.roles)) return;
    throw new KvError('INVALID_ARGUMENT', `${losing} is the last unlocked admin; create another admin first`);
  }

  #seal(name: string, metadata: unknown): UserRecord['metadata'] {
    if (!this.#masterKey) throw new KvError('INVALID_ARGUMENT', 'user metadata needs a masterKey in the auth options (it is stored encrypted)');
    const json = JSON.stringify(metadata);
    if (json === undefined) throw new KvError('INVALID_ARGUMENT', 'metadata must be JSON-serialisable');
    if (json.length > 64 * 1024) throw new KvError('INVALID_ARGUMENT', 'metadata is larger than 64 KiB');
    return seal(this.#masterKey, `user:${name}`, Buffer.from(json, 'utf8'));
  }

  async setUserMetadata(name: string, metadata: unknown, ctx: RequestContext = {}): Promise<void> {
    checkContext('setUserMetadata', ctx);
    const box = metadata === null ? null : this.#seal(name, metadata);
    await this.#mutate((s) => {
      const u = need(s.users.get(name), 'user', name);
      return { changes: [{ put: 'user', record: { ...u, metadata: box } }], audit: [{ ...actorOf(ctx), action: 'user.metadata', target: name, ok: true }], result: undefined };
    });
  }

  /** The user's metadata, decrypted with the master key; null when it has none. */
  getUserMetadata(name: string): unknown {
    const u = need(this.#state().users.get(name), 'user', name);
    if (u.metadata === null) return null;
    if (!this.#masterKey) throw new KvError('INVALID_ARGUMENT', 'reading user metadata needs the masterKey it was sealed with');
    return JSON.parse(openBox(this.#masterKey, `user:${name}`, u.metadata).toString('utf8')) as unknown;
  }

  // ---------------------------------------------------------------- passwords and sessions

  /** Whether the password is right. No side effects (no lockout counting, no audit): login() does those. */
  async verifyPassword(name: string, password: string): Promise<boolean> {
    const u = this.#state().users.get(name);
    if (typeof password !== 'string') return false;
    if (!u?.passwordHash) {
      await verifyPassword(await this.#dummy(), password);
      return false;
    }
    return verifyPassword(u.passwordHash, password);
  }

  /** Equal work for an unknown user, so timing does not tell which names exist. */
  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'), this.#catalog.state.settings.argon2);
    return this.#dummyHash;
  }

  /**
   * Name + password → a session token (JWT). Every outcome is audited; `lockoutThreshold`
   * failures in a row lock the account out for `lockoutMinutes`. Every failure is AUTH_FAILED
   * with the same message.
   */
  async login(name: string, password: string, ctx: { ip?: string } = {}): Promise<{ token: string; expiresAt: number; principal: Principal }> {
    checkOptions('login context', ctx, NAMES.loginContext);
    const s0 = this.#state();
    const target = typeof name === 'string' ? name.slice(0, 128) : '?';
    const u0 = typeof name === 'string' ? s0.users.get(name) : undefined;
    const now0 = this.#catalog.now();
    const refuse = async (detail: string, record?: UserRecord, lockout = false): Promise<never> => {
      this.#stats.loginsFailed++;
      if (lockout) this.#stats.lockouts++;
      await this.#mutate(() => ({
        changes: record ? [{ put: 'user', record }] : [],
        audit: [
          { actor: target, ip: ctx.ip ?? null, action: 'auth.login', target, ok: false, detail },
          ...(lockout ? [{ actor: 'system', ip: ctx.ip ?? null, action: 'user.lockout', target, ok: true, detail: `${s0.settings.lockoutThreshold} failed logins; locked out for ${s0.settings.lockoutMinutes} min` }] : []),
        ],
        result: undefined,
      }));
      throw fail(detail);
    };
    if (!u0 || typeof password !== 'string') {
      if (typeof password === 'string') await verifyPassword(await this.#dummy(), password);
      return refuse(u0 ? 'malformed password' : 'no such user');
    }
    if (u0.locked) return refuse(`user is locked: ${u0.locked.reason}`);
    if (u0.lockedUntil > now0) return refuse(`locked out until ${new Date(u0.lockedUntil).toISOString()}`);
    if (!u0.passwordHash) return refuse('user has no password');
    const good = await verifyPassword(u0.passwordHash, password);
    const s = this.#state();
    const u = s.users.get(name);
    if (!u || u.passwordHash !== u0.passwordHash || u.locked) return refuse('user changed during login');
    const now = this.#catalog.now();
    if (!good) {
      const failed = u.failedLogins + 1;
      const th = s.settings.lockoutThreshold;
      if (th > 0 && failed >= th) {
        return refuse('wrong password', { ...u, failedLogins: 0, lockedUntil: now + s.settings.lockoutMinutes * 60_000 }, true);
      }
      return refuse('wrong password', { ...u, failedLogins: failed });
    }
    let record: UserRecord | undefined = u.failedLogins > 0 || u.lockedUntil > 0 ? { ...u, failedLogins: 0, lockedUntil: 0 } : undefined;
    if (needsRehash(u.passwordHash, s.settings.argon2)) {
      record = { ...(record ?? u), passwordHash: await hashPassword(password, s.settings.argon2) };
    }
    const key = this.#activeKey(s);
    const signed = await signSession(key, { sub: u.name, uid: u.oid, ep: u.authEpoch }, now, s.settings.sessionTimeoutSec);
    await this.#mutate(() => ({
      changes: record ? [{ put: 'user', record }] : [],
      audit: [{ actor: u.name, ip: ctx.ip ?? null, action: 'auth.login', target: u.name, ok: true }],
      result: undefined,
      bumpEpoch: false, // counters and rehash do not change anyone's access
    }));
    this.#stats.loginsOk++;
    return { token: signed.token, expiresAt: signed.expiresAt, principal: { type: 'session', user: u.name, oid: u.oid, epoch: u.authEpoch, expiresAt: signed.expiresAt } };
  }

  #activeKey(s: CatalogState): SigningKeyRecord {
    let best: SigningKeyRecord | undefined;
    for (const k of s.signingKeys.values()) if (k.retiredAt === null && (!best || k.createdAt > best.createdAt)) best = k;
    if (!best) throw new KvError('CORRUPT', 'the catalog has no active signing key');
    return best;
  }

  /** A session token → its principal; AUTH_FAILED if forged, expired, signed by a retired key, or issued before a password change or lock. */
  async verifyToken(token: string): Promise<Principal> {
    const s = this.#state();
    const now = this.#catalog.now();
    if (typeof token !== 'string' || token.length > 8192) throw this.#authFail('malformed token');
    let claims = this.#tokens.get(token);
    if (!claims) {
      const verified = await verifySession(token, (kid) => {
        const k = s.signingKeys.get(kid);
        return k && (k.retiredAt === null || k.retiredAt > now) ? k : undefined;
      }, now);
      if (!verified) throw this.#authFail('bad token');
      claims = verified;
      remember(this.#tokens, token, claims);
    }
    const p: Principal = { type: 'session', user: claims.sub, oid: claims.uid, epoch: claims.ep, expiresAt: claims.exp };
    const why = this.#invalid(s, p, now);
    if (why) throw this.#authFail(why);
    // A cached token signed by a key retired since: the key check above ran only when it was cached.
    const k = s.signingKeys.get(claims.kid);
    if (!k || (k.retiredAt !== null && k.retiredAt <= now)) throw this.#authFail('signing key retired');
    this.#stats.authOk++;
    return p;
  }

  #authFail(detail: string): KvError {
    this.#stats.authFailed++;
    return fail(detail);
  }

  /**
   * Starts signing with a new key. The old one keeps verifying for one session timeout, so no
   * one is logged out at once; keys retired longer than that are deleted.
   */
  async rotateSigningKey(ctx: RequestContext = {}): Promise<{ kid: string }> {
    checkContext('rotateSigningKey', ctx);
    return this.#mutate((s, now) => {
      const fresh = newSigningKey(now);
      const changes: CatalogChange[] = [{ put: 'signingKey', record: fresh }];
      for (const k of s.signingKeys.values()) {
        if (k.retiredAt === null) changes.push({ put: 'signingKey', record: { ...k, retiredAt: now + s.settings.sessionTimeoutSec * 1000 } });
        else if (k.retiredAt <= now) changes.push({ del: 'signingKey', kid: k.kid });
      }
      return { changes, audit: [{ ...actorOf(ctx), action: 'signing_key.rotate', target: fresh.kid, ok: true }], result: { kid: fresh.kid } };
    });
  }

  // ---------------------------------------------------------------- API keys

  async createApiKey(owner: string, options: ApiKeyOptions, ctx: RequestContext = {}): Promise<{ record: ApiKeyInfo; token: string }> {
    checkOptions('createApiKey', options, NAMES.apiKey);
    checkContext('createApiKey', ctx);
    const o = options as Partial<ApiKeyOptions>;
    checkName('API key', o?.name);
    if (o.allowIps !== undefined) {
      if (!Array.isArray(o.allowIps) || o.allowIps.length === 0) throw new KvError('INVALID_ARGUMENT', 'allowIps must be a non-empty list of CIDRs');
      compileAllowList(o.allowIps);
    }
    if (o.expiresAt !== undefined && (typeof o.expiresAt !== 'number' || !Number.isFinite(o.expiresAt))) throw new KvError('INVALID_ARGUMENT', 'expiresAt must be ms since the epoch');
    const fresh = newApiKey();
    return this.#mutate((s, now) => {
      const user = need(s.users.get(owner), 'user', owner);
      if (s.apiKeyNames.has(options.name)) throw new KvError('ALREADY_EXISTS', `API key ${JSON.stringify(options.name)} exists`);
      if (o.expiresAt !== undefined && o.expiresAt <= now) throw new KvError('INVALID_ARGUMENT', 'expiresAt is in the past');
      let roles: string[] | null = null;
      if (o.roles !== undefined) {
        if (!Array.isArray(o.roles)) throw new KvError('INVALID_ARGUMENT', 'roles must be a list');
        roles = [...new Set(o.roles)];
        for (const r of roles) if (!user.roles.includes(r)) throw new KvError('INVALID_ARGUMENT', `role ${JSON.stringify(r)} is not one of ${owner}'s roles; a key gets a subset of its owner's`);
      }
      const record: ApiKeyRecord = {
        id: fresh.id, name: options.name, owner, hash: fresh.hash, roles, expiresAt: o.expiresAt ?? null,
        allowIps: o.allowIps ? [...o.allowIps] : null, createdAt: now, lastUsedAt: null, revoked: false, revokedAt: null,
      };
      return { changes: [{ put: 'apiKey', record }], audit: [{ ...actorOf(ctx), action: 'apikey.create', target: options.name, ok: true, detail: `owner ${owner}, id ${fresh.id}` }], result: { record: keyInfo(record), token: fresh.token } };
    });
  }

  /** `kvs_…` token + the caller's address → principal; AUTH_FAILED for anything wrong. */
  authenticateApiKey(token: string, ip?: string): Principal {
    const s = this.#state();
    const now = this.#catalog.now();
    let id = this.#keyTokens.get(token);
    if (id === undefined) {
      const t = parseToken(token);
      if (!t) throw this.#authFail('malformed API key');
      const rec = s.apiKeys.get(t.id);
      if (!secretMatches(t.secret, rec?.hash ?? '0'.repeat(64)) || !rec) throw this.#authFail('unknown API key');
      id = t.id;
      remember(this.#keyTokens, token, id);
    }
    const k = s.apiKeys.get(id)!;
    const p: Principal = k.expiresAt === null
      ? { type: 'apikey', user: k.owner, oid: s.users.get(k.owner)?.oid ?? -1, keyId: k.id, keyName: k.name }
      : { type: 'apikey', user: k.owner, oid: s.users.get(k.owner)?.oid ?? -1, keyId: k.id, keyName: k.name, expiresAt: k.expiresAt };
    const why = this.#invalid(s, p, now);
    if (why) throw this.#authFail(why);
    if (k.allowIps) {
      const seen = `${k.id} ${String(ip)}`;
      let ok = this.#ipVerdicts.get(seen);
      if (ok === undefined) {
        let list = this.#allow.get(k.id);
        if (!list) this.#allow.set(k.id, (list = compileAllowList(k.allowIps)));
        remember(this.#ipVerdicts, seen, (ok = ipAllowed(list, ip)));
      }
      if (!ok) throw this.#authFail(`address ${String(ip)} not on the key's allowlist`);
    }
    this.#touch(k, now);
    this.#stats.authOk++;
    return p;
  }

  /** Records last use at most once a minute per key, in a batch written off the request path. */
  #touch(k: ApiKeyRecord, now: number): void {
    if (now - (k.lastUsedAt ?? 0) < LAST_USED_EVERY_MS || this.#pendingUsed.has(k.id)) return;
    this.#pendingUsed.set(k.id, now);
    if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => void this.#flushLastUsed().catch(() => undefined), 1000);
      this.#flushTimer.unref();
    }
  }

  async #flushLastUsed(): Promise<void> {
    this.#flushTimer = null;
    const pending = this.#pendingUsed;
    if (pending.size === 0) return;
    this.#pendingUsed = new Map();
    await this.#catalog.mutate((s) => {
      const changes: CatalogChange[] = [];
      for (const [id, at] of pending) {
        const k = s.apiKeys.get(id);
        if (k && (k.lastUsedAt ?? 0) < at) changes.push({ put: 'apiKey', record: { ...k, lastUsedAt: at } });
      }
      return { changes, audit: [], result: undefined, bumpEpoch: false };
    });
  }

  async revokeApiKey(nameOrId: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('revokeApiKey', ctx);
    await this.#mutate((s, now) => {
      const id = s.apiKeyNames.get(nameOrId) ?? (s.apiKeys.has(nameOrId) ? nameOrId : undefined);
      const k = need(id === undefined ? undefined : s.apiKeys.get(id), 'API key', nameOrId);
      if (k.revoked) return { changes: [], audit: [], result: undefined };
      return { changes: [{ put: 'apiKey', record: { ...k, revoked: true, revokedAt: now } }], audit: [{ ...actorOf(ctx), action: 'apikey.revoke', target: k.name, ok: true, detail: `id ${k.id}` }], result: undefined };
    });
  }

  listApiKeys(options: ListApiKeysOptions = {}): ApiKeyInfo[] {
    checkOptions('listApiKeys', options, NAMES.listApiKeys);
    const s = this.#state();
    return [...s.apiKeys.values()].filter((k) => options.owner === undefined || k.owner === options.owner).sort((a, b) => (a.name < b.name ? -1 : 1)).map(keyInfo);
  }

  // ---------------------------------------------------------------- roles and grants

  async createRole(name: string, options: RoleOptions = {}, ctx: RequestContext = {}): Promise<RoleInfo> {
    checkOptions('createRole', options, NAMES.role);
    checkContext('createRole', ctx);
    checkName('role', name);
    const permissions = (options.permissions ?? []).map((p, i) => {
      checkOptions(`createRole permissions[${i}]`, p, NAMES.permission);
      return { prefix: checkPrefix(p?.prefix), actions: checkActions(p?.actions) };
    });
    const memberOf = [...new Set(options.memberOf ?? [])];
    return this.#mutate((s, now) => {
      if (s.roles.has(name)) throw new KvError('ALREADY_EXISTS', `role ${JSON.stringify(name)} exists`);
      for (const r of memberOf) need(s.roles.get(r), 'role', r);
      const record: RoleRecord = { name, oid: s.nextOid, builtin: false, superuser: false, permissions: mergePermissions([], permissions), memberOf, createdAt: now };
      return { changes: [{ put: 'role', record }], audit: [{ ...actorOf(ctx), action: 'role.create', target: name, ok: true }], result: record };
    });
  }

  /** Drops a role and every grant of it (to users, roles and API keys), in one batch. */
  async dropRole(name: string, ctx: RequestContext = {}): Promise<void> {
    checkContext('dropRole', ctx);
    await this.#mutate((s) => {
      const r = need(s.roles.get(name), 'role', name);
      if (r.builtin) throw new KvError('INVALID_ARGUMENT', `role ${name} is built in`);
      const changes: CatalogChange[] = [{ del: 'role', name }];
      for (const u of s.users.values()) if (u.roles.includes(name)) changes.push({ put: 'user', record: { ...u, roles: u.roles.filter((x) => x !== name) } });
      for (const o of s.roles.values()) if (o.memberOf.includes(name)) changes.push({ put: 'role', record: { ...o, memberOf: o.memberOf.filter((x) => x !== name) } });
      for (const k of s.apiKeys.values()) if (k.roles?.includes(name)) changes.push({ put: 'apiKey', record: { ...k, roles: k.roles.filter((x) => x !== name) } });
      return { changes, audit: [{ ...actorOf(ctx), action: 'role.drop', target: name, ok: true }], result: undefined };
    });
  }

  listRoles(): RoleInfo[] {
    return [...this.#state().roles.values()].sort((a, b) => a.oid - b.oid);
  }

  /** Grants a role to a user, a role to a role, or actions on a key prefix to a role. */
  grant(spec: GrantSpec, ctx: RequestContext = {}): Promise<void> {
    return this.#grant(spec, ctx, true);
  }

  /** Undoes a grant of the same shape; NOT_FOUND if there was no such grant. */
  revoke(spec: GrantSpec, ctx: RequestContext = {}): Promise<void> {
    return this.#grant(spec, ctx, false);
  }

  async #grant(spec: GrantSpec, ctx: RequestContext, add: boolean): Promise<void> {
    const verb = add ? 'grant' : 'revoke';
    checkContext(verb, ctx);
    if (typeof spec === 'object' && spec !== null) checkOptions(verb, spec, grantNames(spec));
    if (typeof spec !== 'object' || spec === null || typeof spec.role !== 'string') throw new KvError('INVALID_ARGUMENT', `${verb} needs { role, user } | { role, member } | { role, prefix, actions }`);
    const audit = (target: string, detail: string): AuditInput => ({ ...actorOf(ctx), action: `${verb}`, target, ok: true, detail });
    if ('user' in spec) {
      const { role, user } = spec;
      await this.#mutate((s) => {
        const u = need(s.users.get(user), 'user', user);
        need(s.roles.get(role), 'role', role);
        if (add === u.roles.includes(role)) {
          if (add) return { changes: [], audit: [], result: undefined }; // already granted: nothing to do
          throw new KvError('NOT_FOUND', `user ${user} does not have role ${role}`);
        }
        const roles = add ? [...u.roles, role] : u.roles.filter((r) => r !== role);
        if (!add) this.#keepAnAdmin(s, user, roles);
        return { changes: [{ put: 'user', record: { ...u, roles } }], audit: [audit(user, `role ${role}`)], result: undefined };
      });
    } else if ('member' in spec) {
      const { role, member } = spec;
      await this.#mutate((s) => {
        need(s.roles.get(role), 'role', role);
        const m = need(s.roles.get(member), 'role', member);
        if (m.builtin) throw new KvError('INVALID_ARGUMENT', `role ${member} is built in and cannot change`);
        if (add === m.memberOf.includes(role)) {
          if (add) return { changes: [], audit: [], result: undefined };
          throw new KvError('NOT_FOUND', `role ${member} is not a member of ${role}`);
        }
        if (add && wouldCycle(member, role, s.roles)) throw new KvError('INVALID_ARGUMENT', `granting ${role} to ${member} would make a cycle of role memberships`);
        const memberOf = add ? [...m.memberOf, role] : m.memberOf.filter((r) => r !== role);
        return { changes: [{ put: 'role', record: { ...m, memberOf } }], audit: [audit(member, `member of role ${role}`)], result: undefined };
      });
    } else if ('prefix' in spec) {
      const prefix = checkPrefix(spec.prefix);
      const actions = add || spec.actions !== undefined ? checkActions(spec.actions) : null;
      await this.#mutate((s) => {
        const r = need(s.roles.get(spec.role), 'role', spec.role);
        if (r.builtin) throw new KvError('INVALID_ARGUMENT', `role ${r.name} is built in and cannot change`);
        let permissions: Permission[];
        if (add) {
          permissions = mergePermissions(r.permissions, [{ prefix, actions: actions! }]);
        } else {
          const cur = r.permissions.find((p) => p.prefix === prefix);
          if (!cur || (actions && !actions.some((a) => cur.actions.includes(a)))) throw new KvError('NOT_FOUND', `role ${r.name} has no such grant on prefix ${JSON.stringify(prefix)}`);
          permissions = r.permissions
            .map((p) => (p.prefix === prefix ? { prefix, actions: actions ? p.actions.filter((a) => !actions.includes(a)) : [] } : p))
            .filter((p) => p.actions.length > 0);
        }
        return { changes: [{ put: 'role', record: { ...r, permissions } }], audit: [audit(r.name, `${(actions ?? ['all']).join(',')} on prefix ${JSON.stringify(prefix)}`)], result: undefined };
      });
    } else {
      throw new KvError('INVALID_ARGUMENT', `${verb} needs { role, user } | { role, member } | { role, prefix, actions }`);
    }
  }

  // ---------------------------------------------------------------- authorization

  /** Why the principal no longer stands (user dropped or locked, session stale, key revoked or expired), or null. */
  #invalid(s: CatalogState, p: Principal, now: number): string | null {
    const u = s.users.get(p.user);
    if (!u || u.oid !== p.oid) return 'user no longer exists';
    if (u.locked) return 'user is locked';
    if (p.expiresAt !== undefined && p.expiresAt <= now) return p.type === 'session' ? 'session expired' : 'API key expired';
    if (p.type === 'session') {
      if (p.epoch !== u.authEpoch) return 'session predates a password change or lock';
    } else {
      const k = p.keyId === undefined ? undefined : s.apiKeys.get(p.keyId);
      if (!k || k.owner !== p.user) return 'API key no longer exists';
      if (k.revoked) return 'API key revoked';
    }
    return null;
  }

  #permissions(s: CatalogState, p: Principal): PermissionSet {
    const cacheKey = p.type === 'session' ? `u:${p.user}` : `k:${p.keyId}`;
    let set = this.#perms.get(cacheKey);
    if (!set) {
      const u = s.users.get(p.user)!;
      const k = p.keyId === undefined ? undefined : s.apiKeys.get(p.keyId);
      const roles = k?.roles ? k.roles.filter((r) => u.roles.includes(r)) : u.roles;
      set = compile(roles, s.roles);
      this.#perms.set(cacheKey, set);
    }
    return set;
  }

  /**
   * May `principal` do `action` on `key`? 'admin' (catalog administration) needs the admin
   * role and no key. Keys under `_sys.` are refused to every data action, whatever the grants.
   * No principal (null or undefined: the caller skipped authentication) is refused with
   * `invalid: true`, which a server answers 401, never allowed and never a throw.
   */
  authorize(principal: Principal | null | undefined, action: Action | 'admin', key?: string | Uint8Array): Decision {
    if (!principal) return { allow: false, reason: 'no credentials', invalid: true };
    const s = this.#state();
    const why = this.#invalid(s, principal, this.#catalog.now());
    if (why) return { allow: false, reason: why, invalid: true };
    const set = this.#permissions(s, principal);
    if (action === 'admin') {
      return set.superuser ? { allow: true, reason: 'role admin' } : { allow: false, reason: `${principal.user} does not have the admin role` };
    }
    if (!set.grants[action]) return { allow: false, reason: `unknown action ${String(action)}` };
    if (key === undefined) return { allow: false, reason: `${action} needs a key` };
    const k = byteString(key);
    if (k.startsWith('_sys.')) return { allow: false, reason: 'keys under "_sys." are reserved for the catalog' };
    const g = match(set, action, k);
    return g
      ? { allow: true, reason: `role ${g.role} grants ${action} on prefix ${JSON.stringify(Buffer.from(g.prefix, 'latin1').toString('utf8'))}` }
      : { allow: false, reason: `no role of ${principal.user} grants ${action} on this key` };
  }

  /** The roles in effect for the principal (direct and inherited), or [] if it no longer stands. */
  effectiveRoles(principal: Principal): readonly string[] {
    const s = this.#state();
    return this.#invalid(s, principal, this.#catalog.now()) ? [] : this.#permissions(s, principal).roles;
  }

  // ---------------------------------------------------------------- settings, audit, upkeep

  getSettings(): AuthSettings {
    return structuredClone(this.#state().settings);
  }

  async updateSettings(patch: Partial<AuthSettings>, ctx: RequestContext = {}): Promise<AuthSettings> {
    checkContext('updateSettings', ctx);
    return this.#mutate((s) => {
      const record = checkSettings(s.settings, patch);
      return { changes: [{ put: 'settings', record }], audit: [{ ...actorOf(ctx), action: 'settings.update', target: 'auth', ok: true, detail: Object.keys(patch).join(',') }], result: structuredClone(record) };
    });
  }

  listAudit(options: AuditOptions = {}): AuditPage {
    checkOptions('listAudit', options, NAMES.audit);
    this.#state();
    return this.#catalog.listAudit(options);
  }

  /** Cross-checks the stored catalog's records and indexes; [] when consistent. */
  checkCatalog(): string[] {
    return this.#catalog.check();
  }

  stats(): AuthStats {
    return { ...this.#stats };
  }

  /** Writes pending last-used times and waits for queued changes. Close it before the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    await this.#flushLastUsed();
    await this.#catalog.idle();
    this.#closed = true;
  }
}

/** A bounded cache: past TOKEN_CACHE_MAX entries the oldest goes. */
function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= TOKEN_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

function mergePermissions(base: readonly Permission[], add: readonly Permission[]): Permission[] {
  const out = new Map(base.map((p) => [p.prefix, new Set(p.actions)]));
  for (const p of add) {
    const cur = out.get(p.prefix) ?? new Set<Action>();
    for (const a of p.actions) cur.add(a);
    out.set(p.prefix, cur);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([prefix, acts]) => ({ prefix, actions: checkActions([...acts]) }));
}
