/**
 * GET /v1/cluster: the cluster as etcd holds it (any node answers the same, from etcd):
 * leader, members with their roles, timelines, LSNs and lag behind the leader, the
 * synchronous set, the lease TTL. lagLsn: the leader's flushed LSN minus the member's
 * applied one (as each last published them, every renewal interval). healthy: its member key
 * exists (its lease is live), and a standby streams from the primary on the leader's timeline.
 */
import type { KeyValue } from './etcd.js';
import { parseValue, type ClusterKeys, type LeaderValue, type MemberValue, type SyncValue } from './keys.js';

export interface ClusterMemberStatus {
  nodeId: string;
  url: string;
  role: 'primary' | 'standby';
  timeline: string | null;
  appliedLsn: string;
  flushedLsn: string;
  lagLsn: string;
  healthy: boolean;
}

export interface ClusterStatus {
  cluster: string;
  self: string;
  leader: { nodeId: string; url: string; timeline: string | null } | null;
  members: ClusterMemberStatus[];
  syncSet: string[];
  leaseTtlMs: number;
}

export function buildStatus(keys: ClusterKeys, self: string, kvs: readonly KeyValue[], leaseTtlMs: number): ClusterStatus {
  const leader = parseValue<LeaderValue>(kvs.find((k) => k.key === keys.leader)?.value);
  const sync = parseValue<SyncValue>(kvs.find((k) => k.key === keys.sync)?.value);
  const members = kvs.filter((k) => k.key.startsWith(keys.members)).map((k) => parseValue<MemberValue>(k.value)).filter((m): m is MemberValue => m !== null);
  const top = members.find((m) => m.nodeId === leader?.nodeId);
  const leaderLsn = top ? BigInt(top.flushedLsn) : 0n;
  return {
    cluster: keys.cluster,
    self,
    leader: leader ? { nodeId: leader.nodeId, url: leader.url, timeline: leader.timeline } : null,
    members: members.sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map((m) => {
      const applied = BigInt(m.appliedLsn);
      const isLeader = m.nodeId === leader?.nodeId;
      return {
        nodeId: m.nodeId, url: m.url, role: isLeader ? 'primary' : m.role, timeline: m.timeline, appliedLsn: m.appliedLsn, flushedLsn: m.flushedLsn,
        lagLsn: (leaderLsn > applied && !isLeader ? leaderLsn - applied : 0n).toString(),
        healthy: isLeader ? m.role === 'primary' : m.role === 'standby' && m.connected && leader !== null && m.timeline === leader.timeline,
      };
    }),
    syncSet: sync && Array.isArray(sync.members) ? sync.members : [],
    leaseTtlMs,
  };
}
