/**
 * Roles, grants and authorization. Grants are read-modify-writes of one role or user record,
 * planned against the latest catalog (catalog.ts mutate), so concurrent grants from several
 * threads all land. authorize() is the hot path: the live catalog and a compiled,
 * prefix-free permission list (rbac.ts); an API key used outside its scope is audited
 * (deferred and coalesced, core.ts defer).
 */
import { KvError } from '../errors.js';
import type { AuditInput, CatalogChange } from '../catalog/catalog.js';
import { type Action, type Permission, type RoleRecord, checkActions, checkName, checkPrefix } from '../catalog/schema.js';
import { checkOptions } from '../options.js';
import { type AuthCore, type Principal, actorOf, need } from './core.js';
import { type GrantSpec, type RequestContext, type RoleOptions, NAMES, checkContext, grantNames } from './options.js';
import { byteString, match, wouldCycle } from './rbac.js';

export type RoleInfo = RoleRecord;

export interface Decision {
  allow: boolean;
  reason: string;
  /** Set when the principal itself no longer stands (user dropped or locked, session stale, key revoked or expired): a 401, not a 403. */
  invalid?: true;
}

export async function createRole(core: AuthCore, name: string, options: RoleOptions, ctx: RequestContext): Promise<RoleInfo> {
  checkOptions('createRole', options, NAMES.role);
  checkContext('createRole', ctx);
  checkName('role', name);
  const permissions = (options.permissions ?? []).map((p, i) => {
    checkOptions(`createRole permissions[${i}]`, p, NAMES.permission);
    return { prefix: checkPrefix(p?.prefix), actions: checkActions(p?.actions) };
  });
  const memberOf = [...new Set(options.memberOf ?? [])];
  return core.mutate((s, now) => {
    if (s.roles.has(name)) throw new KvError('ALREADY_EXISTS', `role ${JSON.stringify(name)} exists`);
    for (const r of memberOf) need(s.roles.get(r), 'role', r);
    const record: RoleRecord = { name, oid: s.nextOid, builtin: false, superuser: false, permissions: mergePermissions([], permissions), memberOf, createdAt: now };
    return { changes: [{ put: 'role', record }], audit: [{ ...actorOf(ctx), action: 'role.create', target: name, ok: true }], result: record };
  });
}

/** Drops a role and every grant of it (to users, roles and API keys), in one batch. */
export async function dropRole(core: AuthCore, name: string, ctx: RequestContext): Promise<void> {
  checkContext('dropRole', ctx);
  await core.mutate((s) => {
    const r = need(s.roles.get(name), 'role', name);
    if (r.builtin) throw new KvError('INVALID_ARGUMENT', `role ${name} is built in`);
    const changes: CatalogChange[] = [{ del: 'role', name }];
    for (const u of s.users.values()) if (u.roles.includes(name)) changes.push({ put: 'user', record: { ...u, roles: u.roles.filter((x) => x !== name) } });
    for (const o of s.roles.values()) if (o.memberOf.includes(name)) changes.push({ put: 'role', record: { ...o, memberOf: o.memberOf.filter((x) => x !== name) } });
    for (const k of s.apiKeys.values()) if (k.roles?.includes(name)) changes.push({ put: 'apiKey', record: { ...k, roles: k.roles.filter((x) => x !== name) } });
    return { changes, audit: [{ ...actorOf(ctx), action: 'role.drop', target: name, ok: true }], result: undefined };
  });
}

export function listRoles(core: AuthCore): RoleInfo[] {
  return [...core.state().roles.values()].sort((a, b) => a.oid - b.oid);
}

/** grant (add) or revoke (!add) of a role to a user, a role to a role, or actions on a prefix to a role. */
export async function changeGrant(core: AuthCore, spec: GrantSpec, ctx: RequestContext, add: boolean): Promise<void> {
  const verb = add ? 'grant' : 'revoke';
  checkContext(verb, ctx);
  if (typeof spec === 'object' && spec !== null) checkOptions(verb, spec, grantNames(spec));
  if (typeof spec !== 'object' || spec === null || typeof spec.role !== 'string') throw new KvError('INVALID_ARGUMENT', `${verb} needs { role, user } | { role, member } | { role, prefix, actions }`);
  const audit = (target: string, detail: string): AuditInput => ({ ...actorOf(ctx), action: `${verb}`, target, ok: true, detail });
  if ('user' in spec) {
    const { role, user } = spec;
    await core.mutate((s) => {
      const u = need(s.users.get(user), 'user', user);
      need(s.roles.get(role), 'role', role);
      if (add === u.roles.includes(role)) {
        if (add) return { changes: [], audit: [], result: undefined }; // already granted: nothing to do
        throw new KvError('NOT_FOUND', `user ${user} does not have role ${role}`);
      }
      const roles = add ? [...u.roles, role] : u.roles.filter((r) => r !== role);
      if (!add) core.keepAnAdmin(s, user, roles);
      return { changes: [{ put: 'user', record: { ...u, roles } }], audit: [audit(user, `role ${role}`)], result: undefined };
    });
  } else if ('member' in spec) {
    const { role, member } = spec;
    await core.mutate((s) => {
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
    await core.mutate((s) => {
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

/**
 * May `principal` do `action` on `key`? 'admin' (catalog administration) needs the admin
 * role and no key; 'replicate' (streaming the WAL, ts/replication) the built-in replicator
 * or the admin role and no key; 'metrics' (reading /metrics when metrics_auth = token) the
 * built-in monitor or the admin role and no key. Keys under `_sys.` are refused to every data action, whatever the grants.
 * No principal (null or undefined: the caller skipped authentication) is refused with
 * `invalid: true`, which a server answers 401, never allowed and never a throw.
 */
export function authorize(core: AuthCore, principal: Principal | null | undefined, action: Action | 'admin' | 'replicate' | 'metrics', key?: string | Uint8Array): Decision {
  if (!principal) return { allow: false, reason: 'no credentials', invalid: true };
  const s = core.state();
  const why = core.invalid(s, principal, core.now());
  if (why) return { allow: false, reason: why, invalid: true };
  const set = core.permissions(s, principal);
  const deny = (reason: string): Decision => {
    // The data key is left out: identical denials coalesce (one record a second per key, action
    // and reason, whatever keys a client tries), and key names do not leak into the log.
    if (principal.type === 'apikey') core.defer({ actor: principal.user, ip: null, action: 'apikey.denied', target: principal.keyName ?? principal.keyId ?? '?', ok: false, detail: `${String(action)}: ${reason}` });
    return { allow: false, reason };
  };
  if (action === 'admin') {
    return set.superuser ? { allow: true, reason: 'role admin' } : deny(`${principal.user} does not have the admin role`);
  }
  if (action === 'metrics') {
    return set.metrics ? { allow: true, reason: set.superuser ? 'role admin' : 'role monitor' } : deny(`${principal.user} has neither the monitor nor the admin role`);
  }
  if (action === 'replicate') {
    return set.replication ? { allow: true, reason: set.superuser ? 'role admin' : 'role replicator' } : deny(`${principal.user} has neither the replicator nor the admin role`);
  }
  if (!set.grants[action]) return { allow: false, reason: `unknown action ${String(action)}` };
  if (key === undefined) return { allow: false, reason: `${action} needs a key` };
  const k = byteString(key);
  if (k.startsWith('_sys.')) return deny('keys under "_sys." are reserved for the catalog');
  const g = match(set, action, k);
  return g
    ? { allow: true, reason: `role ${g.role} grants ${action} on prefix ${JSON.stringify(Buffer.from(g.prefix, 'latin1').toString('utf8'))}` }
    : deny(`no role of ${principal.user} grants ${action} on this key`);
}

/** What a scan may see: the decision, and where it is allowed, the key prefixes it may read. */
export interface ScanDecision extends Decision {
  /**
   * Set when allowed: the prefixes (UTF-8 of the byte strings, as Buffers) under `scope` on
   * which the principal holds every one of the actions asked for, sorted and prefix-free, so
   * their key ranges are disjoint and in key order. A key under `scope` is visible exactly
   * when it starts with one of them (and is not under `_sys.`), which is what authorize()
   * answers for that key and each action. Roles hold grants only, no denies, so the visible
   * set is this union and nothing is subtracted from it.
   */
  prefixes?: Buffer[];
}

/**
 * The scan rule, shared by every entry point (HTTP, gRPC, and a watch's first check): which
 * keys under `scope` may the principal see when it needs each of `actions` on every key
 * (scan for the key, scan and read with values)? The intersection, per key, of the
 * principal's compiled grant lists for those actions, cut to `scope`; `_sys.` never. Denied
 * (allow false, audited for an API key as authorize() does) when nothing under `scope` can
 * be seen, which depends on the grants only, never on the data; `invalid` as authorize().
 */
export function authorizeScan(core: AuthCore, principal: Principal | null | undefined, actions: readonly Action[], scope: string | Uint8Array): ScanDecision {
  if (!principal) return { allow: false, reason: 'no credentials', invalid: true };
  const s = core.state();
  const why = core.invalid(s, principal, core.now());
  if (why) return { allow: false, reason: why, invalid: true };
  if (actions.length === 0) return { allow: false, reason: 'a scan needs at least one action' };
  const set = core.permissions(s, principal);
  const k = byteString(scope);
  let within: string[] = k.startsWith('_sys.') ? [] : [k];
  for (const a of actions) {
    const list = set.grants[a];
    if (!list) return { allow: false, reason: `unknown action ${String(a)}` };
    within = intersect(within, list.map((g) => g.prefix));
  }
  if (within.length > 0) return { allow: true, reason: `${within.length} prefix${within.length === 1 ? '' : 'es'} granted`, prefixes: within.map((p) => Buffer.from(p, 'latin1')) };
  if (principal.type === 'apikey') core.defer({ actor: principal.user, ip: null, action: 'apikey.denied', target: principal.keyName ?? principal.keyId ?? '?', ok: false, detail: `${actions.join('+')}: no grant under the scan's range` });
  return { allow: false, reason: `no role of ${principal.user} grants ${actions.join(' and ')} on any key in this range` };
}

/**
 * Two sorted, prefix-free lists of byte-string prefixes → the sorted, prefix-free list of
 * prefixes whose keys both cover: where one prefix extends the other, the longer. One merge
 * pass, O(|a| + |b|): the keys under a prefix are one contiguous run of the order, so a
 * prefix that neither extends nor is extended by the other list's current one, and sorts
 * before it, can meet nothing further on.
 */
export function intersect(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (y.startsWith(x)) {
      out.push(y);
      j++;
    } else if (x.startsWith(y)) {
      out.push(x);
      i++;
    } else if (x < y) {
      i++;
    } else {
      j++;
    }
  }
  return out;
}

/**
 * Whether some key under `scope` may be `action`ed by the principal (authorizeScan with one
 * action, not audited): for a watch, refuse at once what can never yield a key, then filter
 * the rest key by key.
 */
export function mayAnyUnder(core: AuthCore, principal: Principal | null | undefined, action: Action, scope: string | Uint8Array): boolean {
  if (!principal) return false;
  const s = core.state();
  if (core.invalid(s, principal, core.now())) return false;
  const k = byteString(scope);
  if (k.startsWith('_sys.')) return false;
  return intersect([k], (core.permissions(s, principal).grants[action] ?? []).map((g) => g.prefix)).length > 0;
}

/** The roles in effect for the principal (direct and inherited), or [] if it no longer stands. */
export function effectiveRoles(core: AuthCore, principal: Principal): readonly string[] {
  const s = core.state();
  return core.invalid(s, principal, core.now()) ? [] : core.permissions(s, principal).roles;
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
