/**
 * Logins, session tokens and their signing keys. A login checks the password (argon2id, off
 * the JS thread), applies the per-account throttle (throttle.ts) and records the outcome; the
 * token is signed with the active signing key, opened from its sealed box by the keyring.
 */
import { KvError } from '../errors.js';
import type { CatalogChange, CatalogState } from '../catalog/catalog.js';
import type { SigningKeyRecord, UserRecord } from '../catalog/schema.js';
import { checkOptions } from '../options.js';
import { type AuthCore, type Principal, actorOf, fail, remember } from './core.js';
import { type RequestContext, NAMES, checkContext } from './options.js';
import { hashPassword, needsRehash, verifyPassword as verifyHash } from './passwords.js';
import { afterFailure, throttled } from './throttle.js';
import { signSession, verifySession } from './tokens.js';
import { dummyHash } from './users.js';

export interface LoginResult {
  token: string;
  expiresAt: number;
  principal: Principal;
}

/** How a failed attempt changes the user: computed inside the plan, against the latest record. */
type OnFailure = (s: CatalogState, now: number) => { record: UserRecord; waitMs: number } | undefined;

export async function login(core: AuthCore, name: string, password: string, ctx: { ip?: string }): Promise<LoginResult> {
  checkOptions('login context', ctx, NAMES.loginContext);
  const s0 = core.state();
  await core.keyring.ensure(s0); // before any work: a catalog whose keys cannot be opened signs nothing
  const target = typeof name === 'string' ? name.slice(0, 128) : '?';
  const ip = ctx.ip ?? null;
  const u0 = typeof name === 'string' ? s0.users.get(name) : undefined;
  const refuse = async (detail: string, onFailure?: OnFailure): Promise<never> => {
    core.stats.loginsFailed++;
    const waitMs = await core.mutate((s, now) => {
      const upd = onFailure?.(s, now);
      const audit = [{ actor: target, ip, action: 'auth.login', target, ok: false, detail }];
      if (upd && upd.waitMs > 0) {
        audit.push({ actor: 'system', ip, action: 'user.lockout', target, ok: true, detail: `${upd.record.failedLogins} failed logins in a row; next attempt in ${Math.ceil(upd.waitMs / 1000)} s` });
      }
      return { changes: upd ? [{ put: 'user', record: upd.record }] : [], audit, result: upd?.waitMs ?? 0, bumpEpoch: false };
    });
    if (waitMs > 0) core.stats.lockouts++;
    throw fail(detail);
  };
  if (!u0 || typeof password !== 'string') {
    if (typeof password === 'string') await verifyHash(await dummyHash(core), password);
    return refuse(u0 ? 'malformed password' : 'no such user');
  }
  if (u0.locked) return refuse(`user is locked: ${u0.locked.reason}`);
  if (throttled(u0, core.now())) {
    core.stats.loginsThrottled++;
    return refuse(`throttled until ${new Date(u0.lockedUntil).toISOString()} (not checked, not counted)`);
  }
  if (!u0.passwordHash) return refuse('user has no password');
  const good = await verifyHash(u0.passwordHash, password);
  const same = (u: UserRecord | undefined): u is UserRecord => u !== undefined && u.oid === u0.oid && u.passwordHash === u0.passwordHash && u.locked === null;
  if (!good) {
    return refuse('wrong password', (s, now) => {
      const u = s.users.get(name);
      return same(u) ? afterFailure(u, s.settings, now) : undefined;
    });
  }
  const argon2 = core.state().settings.argon2;
  const rehash = needsRehash(u0.passwordHash, argon2) ? await hashPassword(password, argon2) : null;
  const u = await core.mutate((s) => {
    const cur = s.users.get(name);
    if (!same(cur)) return { changes: [], audit: [], result: null };
    const changed = cur.failedLogins > 0 || cur.lockedUntil > 0 || rehash !== null;
    const record: UserRecord = { ...cur, failedLogins: 0, lockedUntil: 0, passwordHash: rehash ?? cur.passwordHash };
    const changes: CatalogChange[] = changed ? [{ put: 'user', record }] : [];
    // counters and rehash do not change anyone's access
    return { changes, audit: [{ actor: cur.name, ip, action: 'auth.login', target: cur.name, ok: true }], result: cur, bumpEpoch: false };
  });
  if (!u) return refuse('user changed during login');
  const s = core.state();
  const key = activeKey(s);
  const signed = await signSession(key.kid, core.keyring.signingSecret(key), { sub: u.name, uid: u.oid, ep: u.authEpoch }, core.now(), s.settings.sessionTimeoutSec);
  core.stats.loginsOk++;
  return { token: signed.token, expiresAt: signed.expiresAt, principal: { type: 'session', user: u.name, oid: u.oid, epoch: u.authEpoch, expiresAt: signed.expiresAt } };
}

function activeKey(s: CatalogState): SigningKeyRecord {
  let best: SigningKeyRecord | undefined;
  for (const k of s.signingKeys.values()) if (k.retiredAt === null && (!best || k.createdAt > best.createdAt)) best = k;
  if (!best) throw new KvError('CORRUPT', 'the catalog has no active signing key');
  return best;
}

export async function verifyToken(core: AuthCore, token: string): Promise<Principal> {
  const s = core.state();
  const now = core.now();
  if (typeof token !== 'string' || token.length > 8192) throw core.authFail('malformed token');
  let claims = core.tokens.get(token);
  if (!claims) {
    await core.keyring.ensure(s);
    const verified = await verifySession(token, (kid) => {
      const k = s.signingKeys.get(kid);
      return k && (k.retiredAt === null || k.retiredAt > now) ? core.keyring.signingSecret(k) : undefined;
    }, now);
    if (!verified) throw core.authFail('bad token');
    claims = verified;
    remember(core.tokens, token, claims);
  }
  const p: Principal = { type: 'session', user: claims.sub, oid: claims.uid, epoch: claims.ep, expiresAt: claims.exp };
  const why = core.invalid(s, p, now);
  if (why) throw core.authFail(why);
  // A cached token signed by a key retired since: the key check above ran only when it was cached.
  const k = s.signingKeys.get(claims.kid);
  if (!k || (k.retiredAt !== null && k.retiredAt <= now)) throw core.authFail('signing key retired');
  core.stats.authOk++;
  return p;
}

export async function rotateSigningKey(core: AuthCore, ctx: RequestContext): Promise<{ kid: string }> {
  checkContext('rotateSigningKey', ctx);
  await core.keyring.ensure(core.state());
  return core.mutate((s, now) => {
    core.keyring.check(s);
    const fresh = core.keyring.newSigningKey(now, s.keyring !== null);
    const changes: CatalogChange[] = [{ put: 'signingKey', record: fresh }];
    for (const k of s.signingKeys.values()) {
      if (k.retiredAt === null) changes.push({ put: 'signingKey', record: { ...k, retiredAt: now + s.settings.sessionTimeoutSec * 1000 } });
      else if (k.retiredAt <= now) changes.push({ del: 'signingKey', kid: k.kid });
    }
    return { changes, audit: [{ ...actorOf(ctx), action: 'signing_key.rotate', target: fresh.kid, ok: true }], result: { kid: fresh.kid } };
  });
}
