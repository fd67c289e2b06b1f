/**
 * ClusterView: what request routing (routing.ts) needs to know about the cluster, and nothing
 * more. kvstored builds one from its replication role (replication-view.ts: a primary is the
 * primary, a standby's primary is its --replica-of URL); cluster mode (etcd) supplies its own,
 * backed by the leader key and its lease.
 */
export interface ClusterView {
  /** Base URL (http[s]://host:port) of the current primary, null when unknown. */
  primaryUrl(): string | null;
  /** This node is primary and holds a live lease (non-cluster primary: true). */
  isWritablePrimary(): boolean;
  /** Resolves when this node is the primary with a live lease right now; rejects KvError('NOT_PRIMARY') otherwise. */
  confirmLeadership(): Promise<void>;
}
