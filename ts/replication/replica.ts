/**
 * The embedded read replica (`open({ dir, replicaOf, apiKey })`): the store is opened as a
 * standby and a ReplicationNode follows the primary from inside the application process, so
 * reads are local and native-speed while writes fail with READ_ONLY. Reconnects with backoff
 * and resumes from its own directory after a restart. Given a cluster's members instead of
 * one URL, a ClusterFollower (cluster-follower.ts) points it at whichever node leads.
 */
import type { ReplicaOptions } from '../store/options.js';
import type { Store } from '../store/store.js';
import { ClusterFollower } from './cluster-follower.js';
import { ReplicationNode, replicaHandle, type Log } from './node.js';

export function startReplica(store: Store<unknown, unknown>, o: ReplicaOptions, log: Log): ReplicationNode {
  const common = { standbyId: o.standbyId, apiKey: o.apiKey, tls: o.tls, synchronousStandbys: 0, synchronousTimeoutMs: 10_000 };
  if (o.upstream.kind === 'primary') {
    const node = new ReplicationNode(store, { ...common, replicaOf: o.upstream.url }, log);
    node.start();
    store._attachReplica(replicaHandle(node, store));
    return node;
  }
  const follower = new ClusterFollower({ members: o.upstream.members, apiKey: o.apiKey, tls: o.tls, log });
  const node = new ReplicationNode(store, { ...common, standby: true, confirmPrimary: (url, signal) => follower.confirm(url, signal) }, log);
  node.start();
  follower.start(node);
  store._attachReplica(replicaHandle(node, store, follower));
  return node;
}
