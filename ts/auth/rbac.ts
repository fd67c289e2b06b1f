/**
 * Role-based access control: a principal's roles, closed over role membership (a role
 * inherits every role it is a member of, as in PostgreSQL), compiled into one sorted,
 * prefix-free list of key prefixes per action. A check is then one binary search:
 * in a prefix-free set the only prefix that can match a key is the greatest one ≤ the key.
 */
import { ACTIONS, type Action, type RoleRecord } from '../catalog/schema.js';

export interface Grant {
  /** The prefix as a byte string (one char per byte, so JS order is byte order). */
  prefix: string;
  role: string;
}

export interface PermissionSet {
  /** Every role in effect: the given ones and all they inherit. */
  readonly roles: readonly string[];
  readonly superuser: boolean;
  /** May stream the WAL: the built-in replicator role, or a superuser. */
  readonly replication: boolean;
  /** May read /metrics when it requires credentials: the built-in monitor role, or a superuser. */
  readonly metrics: boolean;
  readonly grants: Readonly<Record<Action, readonly Grant[]>>;
}

/** A key as a byte string: bytes → chars 0-255, so comparisons and startsWith work on bytes. */
export function byteString(key: string | Uint8Array): string {
  if (typeof key === 'string') {
    // eslint-disable-next-line no-control-regex
    return /^[\x00-\x7f]*$/.test(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The roles `start` reach through memberOf, each once; a missing role contributes nothing. */
export function closure(start: readonly string[], roles: ReadonlyMap<string, RoleRecord>): string[] {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r)) continue;
    const rec = roles.get(r);
    if (!rec) continue;
    seen.add(r);
    stack.push(...rec.memberOf);
  }
  return [...seen].sort();
}

export function compile(start: readonly string[], roles: ReadonlyMap<string, RoleRecord>): PermissionSet {
  const all = closure(start, roles);
  const grants = {} as Record<Action, Grant[]>;
  let superuser = false;
  const replication = all.some((name) => roles.get(name)!.builtin && name === 'replicator');
  const monitor = all.some((name) => roles.get(name)!.builtin && name === 'monitor');
  for (const a of ACTIONS) {
    const list: Grant[] = [];
    for (const name of all) {
      const r = roles.get(name)!;
      superuser ||= r.superuser;
      for (const p of r.permissions) if (p.actions.includes(a)) list.push({ prefix: byteString(p.prefix), role: name });
    }
    list.sort((x, y) => (x.prefix < y.prefix ? -1 : x.prefix > y.prefix ? 1 : x.role < y.role ? -1 : 1));
    // Keep a prefix only if no shorter kept prefix covers it: the result is prefix-free.
    const kept: Grant[] = [];
    for (const g of list) {
      const last = kept[kept.length - 1];
      if (last && g.prefix.startsWith(last.prefix)) continue;
      kept.push(g);
    }
    grants[a] = kept;
  }
  return { roles: all, superuser, replication: replication || superuser, metrics: monitor || superuser, grants };
}

/** The grant that covers `key` (a byte string) for `action`, or undefined. */
export function match(set: PermissionSet, action: Action, key: string): Grant | undefined {
  const list = set.grants[action];
  let lo = 0;
  let hi = list.length; // find the last index with prefix <= key
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.prefix <= key) lo = mid + 1;
    else hi = mid;
  }
  const g = list[lo - 1];
  return g !== undefined && key.startsWith(g.prefix) ? g : undefined;
}

/** Whether adding `role` to `member`'s memberOf would make `member` reach itself. */
export function wouldCycle(member: string, role: string, roles: ReadonlyMap<string, RoleRecord>): boolean {
  return member === role || closure([role], roles).includes(member);
}
