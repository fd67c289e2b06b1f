/**
 * What the HTTP routes ask of cluster mode (kept apart from agent.ts so the routes do not
 * import etcd): GET /v1/cluster, POST /v1/admin/cluster/switchover, DELETE
 * /v1/admin/cluster/members/:id.
 */
import type { ClusterStatus } from './status.js';

export interface ClusterControl {
  status(): Promise<ClusterStatus>;
  switchover(to: string): Promise<{ from: string; to: string; lsn: string }>;
  remove(id: string): Promise<{ removed: string }>;
}
