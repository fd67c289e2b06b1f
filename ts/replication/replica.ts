/**
 * The embedded read replica (`open({ dir, replicaOf, apiKey })`): the store is opened as a
 * standby and a ReplicationNode follows the primary from inside the application process, so
 * reads are local and native-speed while writes fail with READ_ONLY. Reconnects with backoff
 * and resumes from its own directory after a restart.
 */
import type { ReplicaOptions } from '../store/options.js';
import type { Store } from '../store/store.js';
import { ReplicationNode, replicaHandle, type Log } from './node.js';

export function startReplica(store: Store<unknown, unknown>, o: ReplicaOptions, log: Log): ReplicationNode {
  const node = new ReplicationNode(store, {
    replicaOf: o.primaryUrl, standbyId: o.standbyId, apiKey: o.apiKey, tls: o.tls, synchronousStandbys: 0, synchronousTimeoutMs: 10_000,
  }, log);
  node.start();
  store._attachReplica(replicaHandle(node, store));
  return node;
}
