/**
 * Users: creation (and the first admin), passwords, admin locks, dropping, sealed metadata.
 * Every read-modify-write re-reads the user inside its plan (catalog.ts mutate), so a change
 * made meanwhile by another thread or another call is never overwritten.
 */
import crypto from 'node:crypto';
import { KvError } from '../errors.js';
import type { CatalogChange } from '../catalog/catalog.js';
import { type KeyringRecord, type UserRecord, checkName } from '../catalog/schema.js';
import { checkOptions } from '../options.js';
import { ADMIN_ROLE, type AuthCore, actorOf, need } from './core.js';
import { type CreateUserOptions, type FirstAdminOptions, type RequestContext, NAMES, checkContext } from './options.js';
import { checkPassword, hashPassword, verifyPassword as verifyHash } from './passwords.js';
import { compile } from './rbac.js';

export interface UserInfo {
  name: string;
  oid: number;
  roles: string[];
  locked: boolean;
  lockedReason?: string;
  lockedAt?: number;
  lockedBy?: string;
  /** Set while a failed-login wait lasts (throttle.ts). */
  lockedOutUntil?: number;
  failedLogins: number;
  hasPassword: boolean;
  hasMetadata: boolean;
  createdAt: number;
  passwordChangedAt: number | null;
}

export function userInfo(u: UserRecord, now: number): UserInfo {
  const info: UserInfo = {
    name: u.name, oid: u.oid, roles: [...u.roles], locked: u.locked !== null, failedLogins: u.failedLogins,
    hasPassword: u.passwordHash !== null, hasMetadata: u.metadata !== null, createdAt: u.createdAt, passwordChangedAt: u.passwordChangedAt,
  };
  if (u.locked) Object.assign(info, { lockedReason: u.locked.reason, lockedAt: u.locked.at, lockedBy: u.locked.by });
  if (u.lockedUntil > now) info.lockedOutUntil = u.lockedUntil;
  return info;
}

/** Equal work for an unknown user, so timing does not tell which names exist. */
export function dummyHash(core: AuthCore): Promise<string> {
  core.dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'), core.catalog.state.settings.argon2);
  return core.dummyHash;
}

function sealMetadata(core: AuthCore, name: string, metadata: unknown): UserRecord['metadata'] {
  const json = JSON.stringify(metadata);
  if (json === undefined) throw new KvError('INVALID_ARGUMENT', 'metadata must be JSON-serialisable');
  if (json.length > 64 * 1024) throw new KvError('INVALID_ARGUMENT', 'metadata is larger than 64 KiB');
  return core.keyring.sealMetadata(name, json);
}

/** A box sealed before the plan ran must be under the key the catalog names now (a rotation may have come between). */
function checkBox(keyring: KeyringRecord | null, box: UserRecord['metadata']): void {
  if (box && keyring && box.mk !== keyring.masterKeyId) throw new KvError('MASTER_KEY_MISMATCH', `the catalog is now sealed under master key ${keyring.masterKeyId}`);
}

export async function createUser(core: AuthCore, name: string, options: CreateUserOptions, ctx: RequestContext): Promise<UserInfo> {
  checkOptions('createUser', options, NAMES.createUser);
  checkContext('createUser', ctx);
  checkName('user', name);
  const s0 = core.state();
  const hash = options.password === undefined ? null : await hashPassword(checkPassword(options.password, s0.settings), s0.settings.argon2);
  if (options.metadata !== undefined && core.keyring.id !== null) await core.keyring.ensure(core.state());
  const metadata = options.metadata === undefined ? null : sealMetadata(core, name, options.metadata);
  const roles = [...new Set(options.roles ?? [])];
  return core.mutate((s, now) => {
    if (s.users.has(name)) throw new KvError('ALREADY_EXISTS', `user ${JSON.stringify(name)} exists`);
    for (const r of roles) need(s.roles.get(r), 'role', r);
    checkBox(s.keyring, metadata);
    const u: UserRecord = {
      name, oid: s.nextOid, passwordHash: hash, roles, locked: null, lockedUntil: 0, failedLogins: 0,
      createdAt: now, passwordChangedAt: hash ? now : null, authEpoch: 1, metadata,
    };
    return { changes: [{ put: 'user', record: u }], audit: [{ ...actorOf(ctx), action: 'user.create', target: name, ok: true, detail: `roles: ${roles.join(',') || '(none)'}` }], result: userInfo(u, now) };
  });
}

export async function createFirstAdmin(core: AuthCore, options: FirstAdminOptions, ctx: RequestContext): Promise<{ name: string; generatedPassword?: string }> {
  checkOptions('createFirstAdmin', options, NAMES.firstAdmin);
  checkContext('createFirstAdmin', ctx);
  const name = options.name ?? 'admin';
  const s = core.state();
  if ([...s.users.values()].some((u) => compile(u.roles, s.roles).superuser)) throw new KvError('ALREADY_EXISTS', 'an admin user exists already');
  const generated = options.password === undefined ? crypto.randomBytes(18).toString('base64url') : undefined;
  await createUser(core, name, { password: options.password ?? generated!, roles: [ADMIN_ROLE] }, { actor: 'bootstrap', ...ctx });
  return generated === undefined ? { name } : { name, generatedPassword: generated };
}

export async function setPassword(core: AuthCore, name: string, password: string, ctx: RequestContext): Promise<void> {
  checkContext('setPassword', ctx);
  const s0 = core.state();
  need(s0.users.get(name), 'user', name);
  const hash = await hashPassword(checkPassword(password, s0.settings), s0.settings.argon2);
  await core.mutate((s, now) => {
    const u = need(s.users.get(name), 'user', name);
    const record: UserRecord = { ...u, passwordHash: hash, passwordChangedAt: now, authEpoch: u.authEpoch + 1, failedLogins: 0, lockedUntil: 0 };
    return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.password', target: name, ok: true }], result: undefined };
  });
}

export async function lockUser(core: AuthCore, name: string, reason: string, ctx: RequestContext): Promise<void> {
  checkContext('lockUser', ctx);
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) throw new KvError('INVALID_ARGUMENT', 'reason must be 1-500 characters');
  await core.mutate((s, now) => {
    const u = need(s.users.get(name), 'user', name);
    core.keepAnAdmin(s, name);
    const { actor } = actorOf(ctx);
    const record: UserRecord = { ...u, locked: { reason, at: now, by: actor }, authEpoch: u.authEpoch + 1 };
    return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.lock', target: name, ok: true, detail: reason }], result: undefined };
  });
}

export async function unlockUser(core: AuthCore, name: string, ctx: RequestContext): Promise<void> {
  checkContext('unlockUser', ctx);
  await core.mutate((s) => {
    const u = need(s.users.get(name), 'user', name);
    const record: UserRecord = { ...u, locked: null, lockedUntil: 0, failedLogins: 0 };
    return { changes: [{ put: 'user', record }], audit: [{ ...actorOf(ctx), action: 'user.unlock', target: name, ok: true }], result: undefined };
  });
}

/** Drops the user and its API keys, in one batch. */
export async function dropUser(core: AuthCore, name: string, ctx: RequestContext): Promise<void> {
  checkContext('dropUser', ctx);
  await core.mutate((s) => {
    need(s.users.get(name), 'user', name);
    core.keepAnAdmin(s, name);
    const changes: CatalogChange[] = [{ del: 'user', name }];
    for (const k of s.apiKeys.values()) if (k.owner === name) changes.push({ del: 'apiKey', id: k.id });
    return { changes, audit: [{ ...actorOf(ctx), action: 'user.drop', target: name, ok: true, detail: `${changes.length - 1} API keys dropped` }], result: undefined };
  });
}

export async function setUserMetadata(core: AuthCore, name: string, metadata: unknown, ctx: RequestContext): Promise<void> {
  checkContext('setUserMetadata', ctx);
  if (metadata !== null && core.keyring.id !== null) await core.keyring.ensure(core.state());
  const box = metadata === null ? null : sealMetadata(core, name, metadata);
  await core.mutate((s) => {
    const u = need(s.users.get(name), 'user', name);
    checkBox(s.keyring, box);
    return { changes: [{ put: 'user', record: { ...u, metadata: box } }], audit: [{ ...actorOf(ctx), action: 'user.metadata', target: name, ok: true }], result: undefined };
  });
}

/** The user's metadata, decrypted with the master key; null when it has none. */
export function getUserMetadata(core: AuthCore, name: string): unknown {
  const s = core.state();
  const u = need(s.users.get(name), 'user', name);
  if (u.metadata === null) return null;
  if (s.keyring) core.keyring.check(s);
  return JSON.parse(core.keyring.openMetadata(u).toString('utf8')) as unknown;
}

/** Whether the password is right. No side effects (no throttling, no audit): login() does those. */
export async function verifyPassword(core: AuthCore, name: string, password: string): Promise<boolean> {
  const u = core.state().users.get(name);
  if (typeof password !== 'string') return false;
  if (!u?.passwordHash) {
    await verifyHash(await dummyHash(core), password);
    return false;
  }
  return verifyHash(u.passwordHash, password);
}
