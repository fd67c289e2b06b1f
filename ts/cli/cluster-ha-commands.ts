/**
 * kvctl's cluster-mode commands (docs/cluster.md): `cluster status` on a node in cluster mode
 * (the members from etcd, GET /v1/cluster), `cluster switchover --to ID` (POST
 * /v1/admin/cluster/switchover, run on any node: it is sent to the primary) and `cluster
 * remove ID` (DELETE /v1/admin/cluster/members/ID).
 */
import type { Command } from 'commander';
import { fields, table, usage } from './common.js';
import type { ClusterContext } from './cluster-commands.js';
import type { ClusterStatus as HaStatus } from '../cluster/status.js';

export type { HaStatus };

/** GET /v1/cluster on url: the cluster view, or null when the node is not in cluster mode (404). */
export async function haStatus(ctx: ClusterContext, cmd: Command, url: string): Promise<HaStatus | null> {
  const r = await ctx.apiClient(cmd, url).request('GET', '/v1/cluster', { accept: [404] });
  if (r.status === 404) return null;
  return JSON.parse(r.body.toString('utf8')) as HaStatus;
}

export function haStatusText(s: HaStatus): string {
  return fields([
    ['cluster', s.cluster],
    ['asked', s.self],
    ['leader', s.leader ? `${s.leader.nodeId} at ${s.leader.url} (timeline ${s.leader.timeline ?? '-'})` : 'NONE (an election is due, or etcd lost quorum)'],
    ['sync set', s.syncSet.join(', ') || '-'],
    ['lease TTL', `${s.leaseTtlMs} ms`],
  ]) + '\n' + table(['member', 'url', 'role', 'timeline', 'applied lsn', 'flushed lsn', 'lag (lsns)', 'healthy'], s.members.map((m) => [
    m.nodeId, m.url, m.role, m.timeline ?? '-', m.appliedLsn, m.flushedLsn, m.lagLsn, m.healthy ? 'yes' : 'NO',
  ]));
}

export function addHaCommands(cluster: Command, ctx: ClusterContext, needServer: (cmd: Command, what: string) => string): void {
  cluster
    .command('switchover')
    .description('planned handover to standby ID with zero loss: the primary stops acknowledging, waits until ID has every write, hands it the leader key and rejoins as a standby')
    .requiredOption('--to <id>', 'the standby to hand over to')
    .action(async (o: { to: string }, cmd: Command) => {
      const url = needServer(cmd, 'cluster switchover');
      const s = await haStatus(ctx, cmd, url);
      if (!s) throw usage(`${url} is not in cluster mode (kvstored --cluster); use kvctl cluster promote`);
      if (!s.leader) throw usage('the cluster has no primary now: nothing to switch over from');
      const r = await ctx.apiClient(cmd, s.leader.url).json<{ from: string; to: string; lsn: string }>('POST', '/v1/admin/cluster/switchover', { json: { to: o.to } });
      ctx.emit(cmd, r, () => `switched over from ${r.from} to ${r.to} at LSN ${r.lsn}\n`);
    });
  cluster
    .command('remove <id>')
    .description('remove member ID from the cluster: its member key goes and it may no longer register or take over (not the primary: switch over first)')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const url = needServer(cmd, 'cluster remove');
      const r = await ctx.apiClient(cmd, url).json<{ removed: string }>('DELETE', `/v1/admin/cluster/members/${encodeURIComponent(id)}`);
      ctx.emit(cmd, r, () => `removed ${r.removed}\n`);
    });
}
