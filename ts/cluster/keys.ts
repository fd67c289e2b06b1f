/**
 * The cluster's state in etcd, under `/<prefix>/<cluster>/`:
 *   leader            bound to the primary's lease: LeaderValue. Absent = no primary.
 *   members/<nodeId>  bound to each node's lease: MemberValue, refreshed every renewal.
 *   sync              the primary's synchronous set (SyncValue); absent = asynchronous cluster.
 *   switchover        a planned handover in progress (SwitchoverValue), bound to the old primary's lease.
 * Values are JSON; LSNs are decimal strings.
 */
export const DEFAULT_PREFIX = '/kvstore';

export interface LeaderValue {
  nodeId: string;
  url: string;
  timeline: string | null;
  systemId: string | null;
  /** When this node took the key (its clock, ms since epoch). */
  sinceMs: number;
}

export interface MemberValue {
  nodeId: string;
  url: string;
  role: 'primary' | 'standby';
  timeline: string | null;
  systemId: string | null;
  appliedLsn: string;
  flushedLsn: string;
  /** A standby: streaming from the primary now. */
  connected: boolean;
  updatedMs: number;
}

export interface SyncValue {
  /** The primary that published it. */
  leader: string;
  /** Node ids whose acknowledgements count: every acknowledged write is on each of them. */
  members: string[];
}

export interface SwitchoverValue {
  from: string;
  to: string;
  /** Until then only `to` may take the leader key (ms since epoch, the old primary's clock). */
  untilMs: number;
}

export class ClusterKeys {
  readonly root: string;
  constructor(prefix: string, readonly cluster: string) {
    this.root = `${prefix.replace(/\/+$/, '')}/${cluster}/`;
  }
  get leader(): string {
    return `${this.root}leader`;
  }
  get sync(): string {
    return `${this.root}sync`;
  }
  get switchover(): string {
    return `${this.root}switchover`;
  }
  get members(): string {
    return `${this.root}members/`;
  }
  member(nodeId: string): string {
    return `${this.members}${nodeId}`;
  }
}

/** JSON.parse that answers null for a value that is not the object it should be (a foreign writer). */
export function parseValue<T extends object>(text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as T) : null;
  } catch {
    return null;
  }
}
