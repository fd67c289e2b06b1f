/**
 * The ClusterView of a node outside cluster mode, read from its replication role as it is
 * now (a standby promoted by `POST /v1/admin/promote` becomes the primary at once):
 * - no replication, or a primary: this node is the primary; it has no lease to lose, so it
 *   is always writable and confirmLeadership resolves at once. primaryUrl() is null (no
 *   node routes to a plain primary through it; it has no advertised URL of its own).
 * - a standby (`--replica-of URL`): the primary is that URL — the primary's public HTTP(S)
 *   base URL, the one its WAL stream and feedback are requested from (`/v1/replication/…`
 *   is resolved against it), so client requests can go to the same place.
 */
import { KvError } from '../errors.js';
import type { ClusterView } from './cluster-view.js';

export interface RoleSource {
  readonly role: 'primary' | 'standby';
}

export function replicationView(node: RoleSource | null, replicaOf: string | undefined): ClusterView {
  const primary = (): boolean => node === null || node.role === 'primary';
  const base = replicaOf === undefined ? null : new URL(replicaOf).origin;
  return {
    primaryUrl: () => (primary() ? null : base),
    isWritablePrimary: primary,
    confirmLeadership: () => (primary() ? Promise.resolve() : Promise.reject(new KvError('NOT_PRIMARY', 'this node is a standby, not the primary'))),
  };
}
