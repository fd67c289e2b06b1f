/**
 * What every part of AuthService shares: the catalog, the keyring, the caches built from the
 * catalog, the counters, and the checks of a principal against the live catalog. Each concept
 * (users.ts, sessions.ts, api-keys.ts, grants.ts, audit.ts) is a set of functions over it;
 * service.ts is the public face that calls them.
 */
import type net from 'node:net';
import { KvError } from '../errors.js';
import type { AuditInput, Catalog, CatalogChange, CatalogState, Mutation } from '../catalog/catalog.js';
import type { UserRecord } from '../catalog/schema.js';
import type { RequestContext } from './options.js';
import type { Keyring } from './keyring.js';
import { type PermissionSet, compile } from './rbac.js';
import type { SessionClaims } from './tokens.js';

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

export interface AuthStats {
  authOk: number;
  authFailed: number;
  loginsOk: number;
  loginsFailed: number;
  /** Failures that set a wait on the account (throttle.ts). */
  lockouts: number;
  /** Login attempts refused unchecked because the account's wait was not over. */
  loginsThrottled: number;
  /** Audit records pruned by retention. */
  auditPruned: number;
  /** Audit sink calls that threw. */
  auditSinkErrors: number;
  /** Deferred audit records dropped: DEFERRED_MAX distinct ones were waiting already, or the store is a standby (read-only catalog). */
  auditDropped: number;
}

const TOKEN_CACHE_MAX = 10_000;
/** Background writes (deferred audit records, API-key last use) wait this long to be batched. */
const BACKGROUND_MS = 1000;
/** Distinct deferred audit records held between two flushes; past it, more are counted only. */
const DEFERRED_MAX = 1000;
export const ADMIN_ROLE = 'admin';

/** One message for every authentication failure: the reason goes to the audit log only. */
export function fail(detail?: string): KvError {
  return new KvError('AUTH_FAILED', undefined, detail ? { cause: detail } : undefined);
}

export function actorOf(ctx: RequestContext): { actor: string; ip: string | null } {
  return { actor: ctx.actor ?? 'local', ip: ctx.ip ?? null };
}

export function need<T>(v: T | undefined, what: string, name: string): T {
  if (v === undefined) throw new KvError('NOT_FOUND', `no ${what} ${JSON.stringify(name)}`);
  return v;
}

/** A bounded cache: past TOKEN_CACHE_MAX entries the oldest goes. */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= TOKEN_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

export class AuthCore {
  readonly catalog: Catalog;
  readonly keyring: Keyring;
  #gen = -1;
  readonly perms = new Map<string, PermissionSet>();
  readonly allow = new Map<string, net.BlockList>();
  readonly tokens = new Map<string, SessionClaims>();
  /** API key tokens whose secret verified → key id; `${id} ${ip}` → allowlist verdict. Both cleared on any catalog change. */
  readonly keyTokens = new Map<string, string>();
  readonly ipVerdicts = new Map<string, boolean>();
  closed = false;
  /** An argon2 hash of nothing, so an unknown user costs the same work as a known one. */
  dummyHash: Promise<string> | null = null;
  readonly stats: AuthStats = { authOk: 0, authFailed: 0, loginsOk: 0, loginsFailed: 0, lockouts: 0, loginsThrottled: 0, auditPruned: 0, auditSinkErrors: 0, auditDropped: 0 };
  /** API key id → last use (ms) not yet written. */
  pendingUsed = new Map<string, number>();
  #deferred = new Map<string, { input: AuditInput; count: number }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(catalog: Catalog, keyring: Keyring) {
    this.catalog = catalog;
    this.keyring = keyring;
  }

  /** The catalog as of now; caches are dropped when it changed. */
  state(): CatalogState {
    if (this.closed) throw new KvError('CLOSED', 'the auth service is closed');
    this.catalog.refresh();
    if (this.catalog.generation !== this.#gen) {
      this.#gen = this.catalog.generation;
      this.perms.clear();
      this.allow.clear();
      this.tokens.clear();
      this.keyTokens.clear();
      this.ipVerdicts.clear();
    }
    return this.catalog.state;
  }

  now(): number {
    return this.catalog.now();
  }

  /** A catalog change (catalog.ts mutate): `plan` may run more than once, against the latest state. */
  mutate<T>(plan: (s: CatalogState, now: number) => Mutation<T>): Promise<T> {
    if (this.closed) return Promise.reject(new KvError('CLOSED', 'the auth service is closed'));
    return this.catalog.mutate((s) => plan(s, this.catalog.now()));
  }

  /**
   * An audit record written off the request path (a key used outside its scope, a failed API
   * key): batched once a second, identical ones coalesced with a count, so a flood of bad
   * requests costs one small write a second, not one per request.
   */
  defer(input: AuditInput): void {
    const k = `${input.action}\0${input.target}\0${input.ip ?? ''}\0${input.detail ?? ''}\0${input.actor ?? ''}`;
    const cur = this.#deferred.get(k);
    if (cur) cur.count++;
    else if (this.#deferred.size >= DEFERRED_MAX) this.stats.auditDropped++;
    else this.#deferred.set(k, { input, count: 1 });
    this.schedule();
  }

  /** Starts the background flush timer if it is not running. */
  schedule(): void {
    if (this.#timer || this.closed) return;
    this.#timer = setTimeout(() => void this.flushBackground().catch(() => undefined), BACKGROUND_MS);
    this.#timer.unref();
  }

  /** Writes deferred audit records and API-key last-use times: one batch. */
  async flushBackground(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const used = this.pendingUsed;
    const deferred = this.#deferred;
    if (used.size === 0 && deferred.size === 0) return;
    this.pendingUsed = new Map();
    this.#deferred = new Map();
    const audit = [...deferred.values()].map(({ input, count }) => (count === 1 ? input : { ...input, detail: `${input.detail ?? ''} (x${count} in ${BACKGROUND_MS} ms)` }));
    try {
      await this.catalog.mutate((s) => {
        const changes: CatalogChange[] = [];
        for (const [id, at] of used) {
          const k = s.apiKeys.get(id);
          if (k && (k.lastUsedAt ?? 0) < at) changes.push({ put: 'apiKey', record: { ...k, lastUsedAt: at } });
        }
        return { changes, audit, result: undefined, bumpEpoch: false };
      });
    } catch (err) {
      // A standby's catalog is its primary's, replicated: nothing can be written to it here.
      // Last-used times are the primary's to record; these audit records are dropped
      // (counted). Throwing instead failed every standby's shutdown (auth.close()).
      if ((err as KvError).code !== 'READ_ONLY') throw err;
      this.stats.auditDropped += audit.length;
    }
  }

  authFail(detail: string): KvError {
    this.stats.authFailed++;
    return fail(detail);
  }

  /** Refuses a change that would leave no unlocked user with the admin role. */
  keepAnAdmin(s: CatalogState, losing: string, rolesAfter?: string[]): void {
    const isAdmin = (u: UserRecord, roles: string[]): boolean => u.locked === null && compile(roles, s.roles).superuser;
    const u = s.users.get(losing);
    if (!u || !isAdmin(u, u.roles)) return;
    if (rolesAfter && compile(rolesAfter, s.roles).superuser) return;
    for (const o of s.users.values()) if (o.name !== losing && isAdmin(o, o.roles)) return;
    throw new KvError('INVALID_ARGUMENT', `${losing} is the last unlocked admin; create another admin first`);
  }

  /** Why the principal no longer stands (user dropped or locked, session stale, key revoked or expired), or null. */
  invalid(s: CatalogState, p: Principal, now: number): string | null {
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

  permissions(s: CatalogState, p: Principal): PermissionSet {
    const cacheKey = p.type === 'session' ? `u:${p.user}` : `k:${p.keyId}`;
    let set = this.perms.get(cacheKey);
    if (!set) {
      const u = s.users.get(p.user)!;
      const k = p.keyId === undefined ? undefined : s.apiKeys.get(p.keyId);
      const roles = k?.roles ? k.roles.filter((r) => u.roles.includes(r)) : u.roles;
      set = compile(roles, s.roles);
      this.perms.set(cacheKey, set);
    }
    return set;
  }
}
