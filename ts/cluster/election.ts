/**
 * Who may take the leader key when it is gone, and the one transaction that takes it.
 *
 * - A planned switchover in progress (`switchover` key, until its deadline): only its target.
 * - A synchronous cluster (the `sync` key exists): only a member of the last published set,
 *   and the transaction compares the leader key absent AND the sync key's mod revision as
 *   read (so the set that named this node is still the set). Every write the old primary
 *   acknowledged is on every member of that set (sync-publisher.ts): no acknowledged write
 *   is lost.
 * - An asynchronous cluster: the most advanced healthy standby. A node waits while another
 *   registered standby of the same system has flushed more (ties: the smaller node id), but
 *   only for a bounded time (asyncWaitMs after it saw the key gone): a better node that is
 *   dead or cut off does not block the failover. What the old primary acknowledged but had
 *   not sent is lost (docs/cluster.md).
 * A node that never synced (no history: an empty directory still waiting for its base
 * backup) never runs. Returns true when this node now holds the leader key.
 */
import type { ReplicationNode } from '../replication/node.js';
import type { Etcd, KeyValue } from './etcd.js';
import { parseValue, type ClusterKeys, type LeaderValue, type MemberValue, type SwitchoverValue, type SyncValue } from './keys.js';

export interface ElectionInput {
  etcd: Etcd;
  keys: ClusterKeys;
  nodeId: string;
  lease: string;
  node: ReplicationNode;
  /** The cluster's keys as read this tick. */
  kvs: readonly KeyValue[];
  leaderGoneSince: number;
  asyncWaitMs: number;
  switchover: SwitchoverValue | null;
  value: LeaderValue;
}

export async function tryElect(i: ElectionInput): Promise<boolean> {
  const status = i.node.status();
  if (status.systemId === null || status.timeline === null) return false;
  if (i.switchover && Date.now() < i.switchover.untilMs && i.switchover.to !== i.nodeId) return false;
  const put = { put: i.keys.leader, value: JSON.stringify(i.value), lease: i.lease };
  const syncKv = i.kvs.find((k) => k.key === i.keys.sync);
  if (syncKv) {
    const sync = parseValue<SyncValue>(syncKv.value);
    if (!sync || !Array.isArray(sync.members) || !sync.members.includes(i.nodeId)) return false;
    return i.etcd.txn([{ key: i.keys.leader, absent: true }, { key: i.keys.sync, modRevision: syncKv.modRevision }], [put]);
  }
  if (!(i.switchover && i.switchover.to === i.nodeId) && Date.now() - i.leaderGoneSince < i.asyncWaitMs) {
    const mine = BigInt(status.flushedLsn);
    const better = i.kvs
      .filter((k) => k.key.startsWith(i.keys.members))
      .map((k) => parseValue<MemberValue>(k.value))
      .some((m) => m !== null && m.nodeId !== i.nodeId && m.role === 'standby' && m.systemId === status.systemId
        && (BigInt(m.flushedLsn) > mine || (BigInt(m.flushedLsn) === mine && m.nodeId < i.nodeId)));
    if (better) return false;
  }
  return i.etcd.txn([{ key: i.keys.leader, absent: true }, { key: i.keys.sync, absent: true }], [put]);
}
