/**
 * AuthService: users, roles, grants, API keys, sessions and authorization over an open store.
 * Everything it keeps lives in the system catalog (ts/catalog); this layer adds the crypto
 * (argon2id, SHA-256, HS256 JWTs, AES-256-GCM) and the decisions. This file is the public
 * face; each concept lives in its own file, as functions over the shared AuthCore (core.ts):
 *   users.ts            users, passwords, locks, sealed metadata
 *   sessions.ts         login (with throttle.ts), session tokens, signing keys
 *   api-key-service.ts  API keys
 *   grants.ts           roles, grants, authorize()
 *   audit.ts            reading, streaming and pruning the audit log
 *   keyring.ts          the master key and every sealed secret
 *
 * The embedded API trusts its caller: a catalog change is made for `ctx.actor` (recorded in
 * the audit log) without checking that actor's rights. A server checks
 * `authorize(principal, 'admin')` before it calls a change on a client's behalf.
 *
 * Hot path: authenticateApiKey / verifyToken / authorize read only the in-memory catalog and
 * caches rebuilt when the catalog changes (one point read of the catalog epoch per call), so
 * a revoke, a lock or a password change takes effect on the very next request.
 */
import { KvError } from '../errors.js';
import type { Store } from '../store/store.js';
import { type AuditEntry, type AuditPage, type AuditReadOptions, Catalog } from '../catalog/catalog.js';
import { type Action, type AuthSettings, checkSettings } from '../catalog/schema.js';
import { checkOptions } from '../options.js';
import { type ApiKeyInfo, authenticateApiKey, createApiKey, listApiKeys, revokeApiKey } from './api-key-service.js';
import { attachSink, pruneAudit, readAudit, startRetention } from './audit.js';
import { AuthCore, type AuthStats, type Principal, actorOf } from './core.js';
import { type Decision, type RoleInfo, type ScanDecision, authorize, authorizeScan, changeGrant, createRole, dropRole, effectiveRoles, listRoles, mayAnyUnder } from './grants.js';
import { Keyring } from './keyring.js';
import {
  type ApiKeyOptions, type AuditOptions, type AuthOptions, type CreateUserOptions, type FirstAdminOptions, type GrantSpec,
  type ListApiKeysOptions, type RequestContext, type RoleOptions, NAMES, checkContext,
} from './options.js';
import { parseMasterKey } from './seal.js';
import { type LoginResult, login, rotateSigningKey, verifyToken } from './sessions.js';
import * as users from './users.js';
import type { UserInfo } from './users.js';

export type { Action, AuthSettings, Permission } from '../catalog/schema.js';
export type { AuditEntry, AuditPage, AuditReadOptions } from '../catalog/catalog.js';
export type {
  ApiKeyOptions, AuditOptions, AuthOptions, CreateUserOptions, FirstAdminOptions, GrantSpec, ListApiKeysOptions, RequestContext, RoleOptions,
} from './options.js';
export type { Principal, AuthStats } from './core.js';
export type { Decision, RoleInfo, ScanDecision } from './grants.js';
export type { ApiKeyInfo } from './api-key-service.js';
export type { UserInfo } from './users.js';
export type { AuditSink } from './audit.js';
export { loadMasterKey, type MasterKeySource } from './master-key.js';

const PRUNE_EVERY_MS = 60_000;

export class AuthService {
  readonly #core: AuthCore;
  readonly #detach: Array<() => void> = [];

  private constructor(core: AuthCore) {
    this.#core = core;
  }

  /**
   * Opens the catalog of `store` (bootstrapping it on first use: built-in roles, a signing key;
   * no users). With a master key, an unsealed catalog is sealed now (keyring.ts planSeal); a
   * sealed catalog under another key is MASTER_KEY_MISMATCH.
   */
  static async open(store: Store<unknown, unknown>, options: AuthOptions = {}): Promise<AuthService> {
    checkOptions('AuthService.open', options, NAMES.auth);
    if (options.auditSink !== undefined && typeof options.auditSink !== 'function') throw new KvError('INVALID_ARGUMENT', 'auditSink must be a function');
    const interval = options.auditPruneIntervalMs ?? PRUNE_EVERY_MS;
    if (!Number.isInteger(interval) || interval < 0) throw new KvError('INVALID_ARGUMENT', 'auditPruneIntervalMs must be a non-negative integer');
    const keyring = await Keyring.create(options.masterKey);
    const catalog = await Catalog.open(store, () => keyring.firstSigningKey(store._systemView().now()));
    const core = new AuthCore(catalog, keyring);
    // Without a key a sealed catalog still opens: administration needs no secret; logins fail.
    if (keyring.id !== null) await keyring.ensure(core.state());
    if (keyring.id !== null && !core.state().keyring) await core.mutate((s, now) => keyring.planSeal(s, now));
    const svc = new AuthService(core);
    if (options.auditSink) svc.#detach.push(attachSink(core, options.auditSink));
    svc.#detach.push(startRetention(core, interval));
    return svc;
  }

  // ---------------------------------------------------------------- users (users.ts)

  /** Creates a user. Without a password the user can only use API keys. */
  createUser(name: string, options: CreateUserOptions = {}, ctx: RequestContext = {}): Promise<UserInfo> {
    return users.createUser(this.#core, name, options, ctx);
  }

  /**
   * The first admin of an empty catalog, from the operator's password, or a generated one that
   * is returned once (and never stored in plaintext). Refused once any admin exists.
   */
  createFirstAdmin(options: FirstAdminOptions = {}, ctx: RequestContext = {}): Promise<{ name: string; generatedPassword?: string }> {
    return users.createFirstAdmin(this.#core, options, ctx);
  }

  getUser(name: string): UserInfo | undefined {
    const u = this.#core.state().users.get(name);
    return u && users.userInfo(u, this.#core.now());
  }

  listUsers(): UserInfo[] {
    const now = this.#core.now();
    return [...this.#core.state().users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((u) => users.userInfo(u, now));
  }

  setPassword(name: string, password: string, ctx: RequestContext = {}): Promise<void> {
    return users.setPassword(this.#core, name, password, ctx);
  }

  lockUser(name: string, reason: string, ctx: RequestContext = {}): Promise<void> {
    return users.lockUser(this.#core, name, reason, ctx);
  }

  unlockUser(name: string, ctx: RequestContext = {}): Promise<void> {
    return users.unlockUser(this.#core, name, ctx);
  }

  /** Drops the user and its API keys, in one batch. */
  dropUser(name: string, ctx: RequestContext = {}): Promise<void> {
    return users.dropUser(this.#core, name, ctx);
  }

  setUserMetadata(name: string, metadata: unknown, ctx: RequestContext = {}): Promise<void> {
    return users.setUserMetadata(this.#core, name, metadata, ctx);
  }

  /** The user's metadata, decrypted with the master key; null when it has none. */
  getUserMetadata(name: string): unknown {
    return users.getUserMetadata(this.#core, name);
  }

  /** Whether the password is right. No side effects (no throttling, no audit): login() does those. */
  verifyPassword(name: string, password: string): Promise<boolean> {
    return users.verifyPassword(this.#core, name, password);
  }

  // ---------------------------------------------------------------- sessions (sessions.ts)

  /**
   * Name + password → a session token (JWT). Every outcome is audited; past `lockoutThreshold`
   * failures in a row the account is throttled (throttle.ts). Every failure is AUTH_FAILED with
   * the same message. MASTER_KEY_REQUIRED when the catalog is sealed and no master key was given.
   */
  login(name: string, password: string, ctx: { ip?: string } = {}): Promise<LoginResult> {
    return login(this.#core, name, password, ctx);
  }

  /** A session token → its principal; AUTH_FAILED if forged, expired, signed by a retired key, or issued before a password change or lock. */
  verifyToken(token: string): Promise<Principal> {
    return verifyToken(this.#core, token);
  }

  /**
   * Starts signing with a new key. The old one keeps verifying for one session timeout, so no
   * one is logged out at once; keys retired longer than that are deleted.
   */
  rotateSigningKey(ctx: RequestContext = {}): Promise<{ kid: string }> {
    return rotateSigningKey(this.#core, ctx);
  }

  // ---------------------------------------------------------------- master key (keyring.ts)

  /** Whether the catalog's secrets are sealed under a master key, and its key id. */
  get sealing(): { sealed: boolean; masterKeyId: string | null } {
    const k = this.#core.state().keyring;
    return { sealed: k !== null, masterKeyId: k?.masterKeyId ?? null };
  }

  /**
   * Seals every secret of the catalog again under `newKey`, online, in one batch (after a
   * crash: all under the old key or all under the new one), and audits it. Needs the current
   * key. Other services on this store, in this thread or others, then need the new key: a
   * loader is asked again; a fixed key gets MASTER_KEY_MISMATCH for secrets until reopened.
   */
  async rotateMasterKey(newKey: Buffer | string, ctx: RequestContext = {}): Promise<{ from: string; to: string }> {
    checkContext('rotateMasterKey', ctx);
    const next = parseMasterKey(newKey);
    const core = this.#core;
    await core.keyring.ensure(core.state());
    const ids = await core.mutate((s, now) => {
      const m = s.keyring ? core.keyring.planRotate(s, next, now) : null;
      if (!m) throw new KvError('MASTER_KEY_REQUIRED', 'the catalog is not sealed: open it with a master key first (that seals it)');
      m.audit.push({ ...actorOf(ctx), action: 'master_key.rotate', target: m.result.to, ok: true, detail: `from ${m.result.from} to ${m.result.to}; ${m.changes.length - 2} records sealed again` });
      return m;
    });
    core.keyring.use(next);
    return ids;
  }

  // ---------------------------------------------------------------- API keys (api-key-service.ts)

  createApiKey(owner: string, options: ApiKeyOptions, ctx: RequestContext = {}): Promise<{ record: ApiKeyInfo; token: string }> {
    return createApiKey(this.#core, owner, options, ctx);
  }

  /** `kvs_…` token + the caller's address → principal; AUTH_FAILED for anything wrong. */
  authenticateApiKey(token: string, ip?: string): Principal {
    return authenticateApiKey(this.#core, token, ip);
  }

  revokeApiKey(nameOrId: string, ctx: RequestContext = {}): Promise<void> {
    return revokeApiKey(this.#core, nameOrId, ctx);
  }

  listApiKeys(options: ListApiKeysOptions = {}): ApiKeyInfo[] {
    return listApiKeys(this.#core, options);
  }

  // ---------------------------------------------------------------- roles, grants, authorization (grants.ts)

  createRole(name: string, options: RoleOptions = {}, ctx: RequestContext = {}): Promise<RoleInfo> {
    return createRole(this.#core, name, options, ctx);
  }

  /** Drops a role and every grant of it (to users, roles and API keys), in one batch. */
  dropRole(name: string, ctx: RequestContext = {}): Promise<void> {
    return dropRole(this.#core, name, ctx);
  }

  listRoles(): RoleInfo[] {
    return listRoles(this.#core);
  }

  /** Grants a role to a user, a role to a role, or actions on a key prefix to a role. */
  grant(spec: GrantSpec, ctx: RequestContext = {}): Promise<void> {
    return changeGrant(this.#core, spec, ctx, true);
  }

  /** Undoes a grant of the same shape; NOT_FOUND if there was no such grant. */
  revoke(spec: GrantSpec, ctx: RequestContext = {}): Promise<void> {
    return changeGrant(this.#core, spec, ctx, false);
  }

  /**
   * May `principal` do `action` on `key`? 'admin' (catalog administration) needs the admin
   * role and no key. Keys under `_sys.` are refused to every data action, whatever the grants.
   * No principal (null or undefined: the caller skipped authentication) is refused with
   * `invalid: true`, which a server answers 401, never allowed and never a throw.
   * An API key refused is audited (apikey.denied, coalesced once a second).
   */
  authorize(principal: Principal | null | undefined, action: Action | 'admin' | 'replicate' | 'metrics', key?: string | Uint8Array): Decision {
    return authorize(this.#core, principal, action, key);
  }

  /**
   * What a scan over `scope` (its prefix, or the common prefix of its start and end) may
   * see: the prefixes under `scope` on which the principal holds each of `actions`
   * (`['scan']` for keys, `['scan', 'read']` with values). A key is visible exactly when
   * authorize() allows it every action, so a scan filtered to these prefixes returns exactly
   * the keys the caller may read, across several grants; `_sys.` never. Refused when no key
   * under `scope` could be visible (decided from the grants, never the data); `invalid` and
   * audit as authorize(). docs/auth.md, "Scans".
   */
  authorizeScan(principal: Principal | null | undefined, actions: readonly Action[], scope: string | Uint8Array): ScanDecision {
    return authorizeScan(this.#core, principal, actions, scope);
  }

  /** Whether the principal may `action` some key under `scope` (a watch's range, say): see grants.ts. */
  mayAnyUnder(principal: Principal | null | undefined, action: Action, scope: string | Uint8Array): boolean {
    return mayAnyUnder(this.#core, principal, action, scope);
  }

  /** The roles in effect for the principal (direct and inherited), or [] if it no longer stands. */
  effectiveRoles(principal: Principal): readonly string[] {
    return effectiveRoles(this.#core, principal);
  }

  // ---------------------------------------------------------------- settings, audit, upkeep

  getSettings(): AuthSettings {
    return structuredClone(this.#core.state().settings);
  }

  async updateSettings(patch: Partial<AuthSettings>, ctx: RequestContext = {}): Promise<AuthSettings> {
    checkContext('updateSettings', ctx);
    return this.#core.mutate((s) => {
      const record = checkSettings(s.settings, patch);
      return { changes: [{ put: 'settings', record }], audit: [{ ...actorOf(ctx), action: 'settings.update', target: 'auth', ok: true, detail: Object.keys(patch).join(',') }], result: structuredClone(record) };
    });
  }

  /** Audit records, newest first, a page at a time. */
  listAudit(options: AuditOptions = {}): AuditPage {
    checkOptions('listAudit', options, NAMES.audit);
    this.#core.state();
    return this.#core.catalog.listAudit(options);
  }

  /** Audit records oldest first, from `since` (ms) or after the id `after`, read a page at a time as you iterate. */
  readAudit(options: AuditReadOptions = {}): Generator<AuditEntry> {
    return readAudit(this.#core, options);
  }

  /** Deletes the oldest audit records past the retention settings now, in small batches; returns how many. The background timer calls it too. */
  pruneAudit(): Promise<number> {
    return pruneAudit(this.#core);
  }

  /** Cross-checks the stored catalog's records and indexes; [] when consistent. */
  checkCatalog(): string[] {
    return this.#core.catalog.check();
  }

  stats(): AuthStats {
    return { ...this.#core.stats };
  }

  /** Writes pending last-used times and deferred audit records and waits for queued changes. Close it before the store. */
  async close(): Promise<void> {
    const core = this.#core;
    if (core.closed) return;
    for (const d of this.#detach.splice(0)) d();
    await core.flushBackground();
    await core.catalog.idle();
    core.closed = true;
  }
}
