/**
 * API keys: creation (the token is shown once; the catalog keeps the SHA-256 of its secret,
 * nothing that could be replayed), authentication with the IP allowlist, last-use times
 * written off the request path, revocation. Failed uses of a known key are audited, deferred
 * and coalesced (core.ts defer).
 */
import { KvError } from '../errors.js';
import type { ApiKeyRecord } from '../catalog/schema.js';
import { checkName } from '../catalog/schema.js';
import { checkOptions } from '../options.js';
import { type AuthCore, type Principal, actorOf, need, remember } from './core.js';
import { type ApiKeyOptions, type ListApiKeysOptions, type RequestContext, NAMES, checkContext } from './options.js';
import { compileAllowList, ipAllowed, newApiKey, parseToken, secretMatches } from './apikeys.js';

export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

const LAST_USED_EVERY_MS = 60_000;

function keyInfo(k: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...rest } = k;
  return rest;
}

export async function createApiKey(core: AuthCore, owner: string, options: ApiKeyOptions, ctx: RequestContext): Promise<{ record: ApiKeyInfo; token: string }> {
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
  return core.mutate((s, now) => {
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
export function authenticateApiKey(core: AuthCore, token: string, ip?: string): Principal {
  const s = core.state();
  const now = core.now();
  let id = core.keyTokens.get(token);
  if (id === undefined) {
    const t = parseToken(token);
    if (!t) throw core.authFail('malformed API key');
    const rec = s.apiKeys.get(t.id);
    if (!secretMatches(t.secret, rec?.hash ?? '0'.repeat(64)) || !rec) {
      if (rec) core.defer({ actor: rec.owner, ip: ip ?? null, action: 'auth.apikey', target: rec.name, ok: false, detail: 'wrong secret' });
      throw core.authFail('unknown API key');
    }
    id = t.id;
    remember(core.keyTokens, token, id);
  }
  const k = s.apiKeys.get(id)!;
  const p: Principal = k.expiresAt === null
    ? { type: 'apikey', user: k.owner, oid: s.users.get(k.owner)?.oid ?? -1, keyId: k.id, keyName: k.name }
    : { type: 'apikey', user: k.owner, oid: s.users.get(k.owner)?.oid ?? -1, keyId: k.id, keyName: k.name, expiresAt: k.expiresAt };
  const why = core.invalid(s, p, now);
  if (why) {
    core.defer({ actor: k.owner, ip: ip ?? null, action: 'auth.apikey', target: k.name, ok: false, detail: why });
    throw core.authFail(why);
  }
  if (k.allowIps) {
    const seen = `${k.id} ${String(ip)}`;
    let ok = core.ipVerdicts.get(seen);
    if (ok === undefined) {
      let list = core.allow.get(k.id);
      if (!list) core.allow.set(k.id, (list = compileAllowList(k.allowIps)));
      remember(core.ipVerdicts, seen, (ok = ipAllowed(list, ip)));
    }
    if (!ok) {
      core.defer({ actor: k.owner, ip: ip ?? null, action: 'apikey.denied', target: k.name, ok: false, detail: `address ${String(ip)} is not on the key's allowlist` });
      throw core.authFail(`address ${String(ip)} not on the key's allowlist`);
    }
  }
  touch(core, k, now);
  core.stats.authOk++;
  return p;
}

/** Records last use at most once a minute per key, in a batch written off the request path. */
function touch(core: AuthCore, k: ApiKeyRecord, now: number): void {
  if (now - (k.lastUsedAt ?? 0) < LAST_USED_EVERY_MS || core.pendingUsed.has(k.id)) return;
  core.pendingUsed.set(k.id, now);
  core.schedule();
}

export async function revokeApiKey(core: AuthCore, nameOrId: string, ctx: RequestContext): Promise<void> {
  checkContext('revokeApiKey', ctx);
  await core.mutate((s, now) => {
    const id = s.apiKeyNames.get(nameOrId) ?? (s.apiKeys.has(nameOrId) ? nameOrId : undefined);
    const k = need(id === undefined ? undefined : s.apiKeys.get(id), 'API key', nameOrId);
    if (k.revoked) return { changes: [], audit: [], result: undefined };
    return { changes: [{ put: 'apiKey', record: { ...k, revoked: true, revokedAt: now } }], audit: [{ ...actorOf(ctx), action: 'apikey.revoke', target: k.name, ok: true, detail: `id ${k.id}` }], result: undefined };
  });
}

export function listApiKeys(core: AuthCore, options: ListApiKeysOptions): ApiKeyInfo[] {
  checkOptions('listApiKeys', options, NAMES.listApiKeys);
  const s = core.state();
  return [...s.apiKeys.values()].filter((k) => options.owner === undefined || k.owner === options.owner).sort((a, b) => (a.name < b.name ? -1 : 1)).map(keyInfo);
}
