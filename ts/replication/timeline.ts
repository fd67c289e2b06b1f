/**
 * Timelines and the follow decision (docs/replication.md, "Timelines"). Pure functions:
 * no I/O, so every case is a unit test.
 *
 * A timeline id is 16 hex digits: the high 8 are the generation (parent's + 1), the low 8
 * are random, drawn by the one promotion that created it. Two standbys promoted from the
 * same primary therefore start two *different* timelines of the same generation, and a
 * node can follow a primary only along that primary's own history: two primaries can never
 * share a timeline.
 *
 * A node's history lists every timeline it has been on, oldest first. Entry i says that
 * timeline `id` began at LSN `switchLsn` (the LSN of its TIMELINE record) as a child of
 * `parent`; every record below switchLsn belongs to the ancestors. The first entry is the
 * system's first timeline (switchLsn 1, parent null). A node's current timeline is that of
 * the last entry whose switchLsn <= its last LSN (its TIMELINE record is in the WAL; the first
 * entry always counts) — so a history entry written before its TIMELINE record reached the
 * WAL is harmless: the promotion just did not happen.
 */
import { randomBytes } from 'node:crypto';

export interface TimelineEntry {
  id: string;
  parent: string | null;
  switchLsn: bigint;
  timeMs: number;
}

export interface History {
  /** Random at the first primary's start, carried by every base backup and standby. */
  systemId: string;
  entries: TimelineEntry[];
}

const ID_RE = /^[0-9a-f]{16}$/;

export function generation(id: string): number {
  return Number.parseInt(id.slice(0, 8), 16);
}

export function newSystemId(): string {
  return randomBytes(8).toString('hex');
}

/** A new system's history: one timeline of generation 1 starting at LSN 1. */
export function initialHistory(now: number, systemId = newSystemId()): History {
  return { systemId, entries: [{ id: `00000001${randomBytes(4).toString('hex')}`, parent: null, switchLsn: 1n, timeMs: now }] };
}

/** The history after promoting at `switchLsn` (the LSN the TIMELINE record will get). */
export function promote(h: History, switchLsn: bigint, now: number): History {
  const cur = currentTimeline(h, switchLsn - 1n);
  const gen = Math.max(...h.entries.map((e) => generation(e.id))) + 1;
  if (gen > 0xffffffff) throw new Error('timeline generation overflow');
  const id = gen.toString(16).padStart(8, '0') + randomBytes(4).toString('hex');
  // Entries past the switch point never took effect (their TIMELINE record is not in the WAL).
  const kept = h.entries.filter((e, i) => i === 0 || e.switchLsn < switchLsn);
  return { systemId: h.systemId, entries: [...kept, { id, parent: cur, switchLsn, timeMs: now }] };
}

/** The timeline a node with this history and this last LSN is on. */
export function currentTimeline(h: History, lastLsn: bigint): string {
  let cur = h.entries[0]!.id;
  for (const e of h.entries.slice(1)) if (e.switchLsn <= lastLsn) cur = e.id;
  return cur;
}

/** Map timeline id → LSN at which the history leaves it (absent = never left: the tip). */
function exits(h: History): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const e of h.entries) if (e.parent !== null) out.set(e.parent, e.switchLsn);
  return out;
}

export type FollowPlan =
  /** Append the primary's stream from fromLsn on. */
  | { action: 'stream'; fromLsn: bigint }
  /** Discard every local record >= keepBelow (never acknowledged on the primary's timeline), then stream from it. */
  | { action: 'rewind'; keepBelow: bigint; fromLsn: bigint; discarded: bigint }
  /** Replace the local directory with a base backup from the primary. */
  | { action: 'rebootstrap'; reason: string }
  /** Do nothing: following would be wrong (the reason says why). */
  | { action: 'refuse'; code: 'REPLICATION_MISMATCH'; reason: string };

export interface LocalState {
  /** null: this directory never took part in replication. */
  history: History | null;
  /** Highest LSN in the local WAL (0 = empty). */
  lastLsn: bigint;
  /** The redo LSN of the local snapshot (records below it can no longer be rewound). */
  redoLsn: bigint;
}

export interface RemoteState {
  history: History;
  /** The primary's durable LSN. */
  lastLsn: bigint;
}

/**
 * What a node must do to follow a primary. The rules (PostgreSQL's timeline following and
 * pg_rewind, with ids that cannot collide):
 * - an empty local directory streams from LSN 1 (or takes a base backup: the primary decides
 *   by what its WAL still holds);
 * - a different systemId is another cluster: refuse, never overwrite;
 * - otherwise find the newest timeline both histories share. Local and remote may each have
 *   left it (at LSN a and b). Records >= min(a, b) exist only on the local side's branch and
 *   were never part of the primary's history: they are discarded (rewind), unless the local
 *   snapshot already holds some of them (redo > divergence), which only a base backup fixes;
 * - a primary whose branch is older than the local one (the local node was promoted after
 *   it) is refused: following it would throw away the newer timeline's writes.
 */
export function planFollow(local: LocalState, remote: RemoteState): FollowPlan {
  if (local.lastLsn === 0n) return { action: 'stream', fromLsn: 1n };
  if (local.history === null) {
    return { action: 'refuse', code: 'REPLICATION_MISMATCH', reason: 'this data directory has data but no replication history; it was never a member of this cluster (start from an empty directory)' };
  }
  if (local.history.systemId !== remote.history.systemId) {
    return { action: 'refuse', code: 'REPLICATION_MISMATCH', reason: `system id ${local.history.systemId} differs from the primary's ${remote.history.systemId}: another cluster` };
  }
  const localTip = currentTimeline(local.history, local.lastLsn);
  const localChain = chainTo(local.history, localTip);
  const remoteTip = remote.history.entries[remote.history.entries.length - 1]!.id;
  const remoteChain = new Set(chainTo(remote.history, remoteTip));
  const common = [...localChain].reverse().find((id) => remoteChain.has(id));
  if (common === undefined) return { action: 'rebootstrap', reason: 'no timeline in common with the primary' };
  const localExit = common === localTip ? undefined : exits(local.history).get(common);
  const remoteExit = common === remoteTip ? undefined : exits(remote.history).get(common);
  if (localExit !== undefined && remoteExit === undefined) {
    return { action: 'refuse', code: 'REPLICATION_MISMATCH', reason: `the primary is on timeline ${remoteTip}, which this node left at LSN ${localExit} for a newer one (${localTip}): it is a stale primary` };
  }
  const divergence = min(localExit, remoteExit);
  if (divergence === undefined || local.lastLsn < divergence) {
    if (local.lastLsn > remote.lastLsn && divergence === undefined) {
      return { action: 'refuse', code: 'REPLICATION_MISMATCH', reason: `this node has LSN ${local.lastLsn} on timeline ${localTip}, past the primary's ${remote.lastLsn} on the same timeline` };
    }
    return { action: 'stream', fromLsn: local.lastLsn + 1n };
  }
  if (local.redoLsn > divergence) {
    return { action: 'rebootstrap', reason: `records from LSN ${divergence} must be discarded but the local checkpoint (redo ${local.redoLsn}) already holds them` };
  }
  return { action: 'rewind', keepBelow: divergence, fromLsn: divergence, discarded: local.lastLsn - divergence + 1n };
}

function min(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/** Timeline ids from the first to `tip`, following parent links. */
function chainTo(h: History, tip: string): string[] {
  const byId = new Map(h.entries.map((e) => [e.id, e]));
  const out: string[] = [];
  for (let id: string | null = tip; id !== null; id = byId.get(id)?.parent ?? null) {
    if (out.includes(id)) break;
    out.push(id);
  }
  return out.reverse();
}

/** JSON form of a history (LSNs as decimal strings). */
export function historyToJson(h: History): { systemId: string; entries: { id: string; parent: string | null; switchLsn: string; timeMs: number }[] } {
  return { systemId: h.systemId, entries: h.entries.map((e) => ({ id: e.id, parent: e.parent, switchLsn: e.switchLsn.toString(), timeMs: e.timeMs })) };
}

/** Parses and checks a history's JSON form; returns an error message or the history. */
export function historyFromJson(v: unknown): History | string {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const o = v as { systemId?: unknown; entries?: unknown };
  if (typeof o.systemId !== 'string' || !ID_RE.test(o.systemId)) return 'systemId must be 16 hex digits';
  if (!Array.isArray(o.entries) || o.entries.length === 0) return 'entries must be a non-empty array';
  const entries: TimelineEntry[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (o.entries as unknown[]).entries()) {
    const e = raw as { id?: unknown; parent?: unknown; switchLsn?: unknown; timeMs?: unknown } | null;
    if (typeof e !== 'object' || e === null) return `entry ${i} is not an object`;
    if (typeof e.id !== 'string' || !ID_RE.test(e.id) || seen.has(e.id)) return `entry ${i}: id must be 16 hex digits, unique`;
    if (i === 0 ? e.parent !== null : typeof e.parent !== 'string' || !seen.has(e.parent)) return `entry ${i}: parent must name an earlier entry (null for the first)`;
    if (typeof e.switchLsn !== 'string' || !/^[1-9][0-9]{0,19}$/.test(e.switchLsn)) return `entry ${i}: switchLsn must be a positive decimal string`;
    const switchLsn = BigInt(e.switchLsn);
    if (i > 0 && switchLsn < entries[i - 1]!.switchLsn) return `entry ${i}: switchLsn goes backwards`;
    if (typeof e.timeMs !== 'number' || !Number.isSafeInteger(e.timeMs)) return `entry ${i}: timeMs must be an integer`;
    seen.add(e.id);
    entries.push({ id: e.id, parent: e.parent as string | null, switchLsn, timeMs: e.timeMs });
  }
  return { systemId: o.systemId, entries };
}
