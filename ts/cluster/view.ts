/**
 * The ClusterView (ts/server/cluster-view.ts) of a node in cluster mode, from its agent:
 * the primary is whoever holds the leader key as last read (every renewal interval; this
 * node's own URL while it holds it); this node is a writable primary while it holds the key
 * on a live lease; confirmLeadership() also reads the key from etcd (a linearizable read) and
 * checks it is still bound to this node's lease.
 */
import type { ClusterView } from '../server/cluster-view.js';
import type { ClusterAgent } from './agent.js';

export function clusterView(agent: ClusterAgent): ClusterView {
  return {
    primaryUrl: () => agent.leader()?.url ?? null,
    isWritablePrimary: () => agent.canAcknowledge(),
    confirmLeadership: () => agent.confirmLeadership(),
  };
}
