/**
 * `kvctl cluster status` and `kvctl cluster promote` (docs/replication.md, "Operating it"):
 * a node's replication role and progress, and the manual promotion of a standby. Both read
 * or change state that lives in a running kvstored's memory (the standbys connected to a
 * primary, a standby's receiver), so they work over --url only; --data-dir is a usage error
 * that says so. They call GET /v1/admin/replication and POST /v1/admin/promote (admin role).
 *
 * Exit codes as everywhere in kvctl: 0 ok; 1 the server refused or failed (NOT_STANDBY:
 * promote on a primary; UNREACHABLE); 2 usage; 3 authentication or permission.
 */
import type { Command } from 'commander';
import { type Cell, fields, isoTime, table, usage } from './common.js';
import type { ApiClient } from './http-api.js';
import type { ReplicationStatus } from '../replication/node.js';
import { addHaCommands, haStatus, haStatusText } from './cluster-ha-commands.js';

/** GET /v1/admin/replication answers node.status(), LSNs as decimal strings: one type for both. */
export type ClusterStatus = ReplicationStatus;

/** What the cluster commands need from kvctl's program (kept there: one place for globals). */
export interface ClusterContext {
  /** The server URL from --url / KVCTL_URL, or undefined. */
  serverUrl(cmd: Command): string | undefined;
  /** true when the command was pointed at a data directory (--data-dir / KVCTL_DATA_DIR). */
  hasDataDir(cmd: Command): boolean;
  apiClient(cmd: Command, url: string): ApiClient;
  emit(cmd: Command, data: unknown, text: () => string): void;
}

/** The generation of a timeline id: its high 8 hex digits (ts/replication/timeline.ts). */
const generation = (id: string): number => Number.parseInt(id.slice(0, 8), 16);

function needServer(ctx: ClusterContext, cmd: Command, what: string): string {
  const url = ctx.serverUrl(cmd);
  if (url) return url;
  const why = `${what} needs a running server: replication state (connected standbys, the receiver, the timeline in force) lives in kvstored's memory, not in its data directory`;
  if (ctx.hasDataDir(cmd)) throw usage(`${why}; give --url (or KVCTL_URL) instead of --data-dir`);
  throw usage(`${why}; give --url or set KVCTL_URL`);
}

function timelineText(s: ClusterStatus): string {
  return s.timeline === null ? '(none yet: the first contact with the primary brings it)' : `${s.timeline} (generation ${generation(s.timeline)})`;
}

function historyText(s: ClusterStatus): string {
  return s.history.map((h) => `${h.id} from LSN ${h.switchLsn}`).join(' → ') || '-';
}

export function statusText(s: ClusterStatus): string {
  const pairs: Array<[string, Cell]> = [
    ['role', s.role],
    ['system id', s.systemId ?? '-'],
    ['timeline', timelineText(s)],
    ['history', historyText(s)],
    ['next LSN', s.nextLsn],
    ['flushed LSN', s.flushedLsn],
    ['applied LSN', s.appliedLsn],
  ];
  const r = s.receiver;
  if (s.role === 'primary') {
    pairs.push(['synchronous', s.synchronousStandbys === 0
      ? 'off (asynchronous: synchronous_standbys = 0)'
      : `ANY ${s.synchronousStandbys} of the connected standbys; sync set: ${s.syncSet.join(', ') || `(none: writes wait, fewer than ${s.synchronousStandbys} connected)`}`]);
    pairs.push(['standbys', `${s.standbys.length} connected`]);
  } else if (r) {
    pairs.push(['receiver', r.stopped ? `STOPPED: ${r.stopped.code}: ${r.stopped.message}` : r.connected ? `connected to ${r.primaryUrl}` : `not connected to ${r.primaryUrl}${r.lastError ? ` (${r.lastError.code}: ${r.lastError.message})` : ''}`]);
    pairs.push(['primary LSN', `${r.primaryLsn} (as last heard${r.lastMessageAt ? ` at ${isoTime(r.lastMessageAt)}` : ''})`]);
    pairs.push(['lag', `${r.lagLsn} LSNs, ${r.lagMs} ms`]);
    pairs.push(['received', `base backups ${r.baseBackups}, rewinds ${r.rewinds}, stream errors ${r.streamErrors}`]);
  }
  let out = fields(pairs);
  if (s.role === 'primary' && s.standbys.length > 0) {
    out += '\n' + table(['standby', 'address', 'sent lsn', 'flushed lsn', 'applied lsn', 'lag (lsns)', 'last feedback', 'sync'], s.standbys.map((b) => [
      b.id, b.address, b.sentLsn, b.flushedLsn, b.appliedLsn, b.lagLsn, isoTime(b.lastFeedbackAt) || 'never', b.synchronous ? 'yes' : 'no',
    ]));
  }
  return out;
}

export function addClusterCommands(program: Command, ctx: ClusterContext): void {
  const cluster = program
    .command('cluster')
    .description('replication: a node\'s role, timeline, LSNs and standbys; promote a standby (needs a running server: --url)');
  cluster
    .command('status')
    .description('role, system id, timeline, LSNs; on a primary each standby\'s sent/flushed/applied LSN, lag and the sync set; on a standby its receiver and lag; in cluster mode (kvstored --cluster) the members, leader and sync set from etcd')
    .action(async (_o: unknown, cmd: Command) => {
      const url = needServer(ctx, cmd, 'cluster status');
      const ha = await haStatus(ctx, cmd, url);
      if (ha) return ctx.emit(cmd, ha, () => haStatusText(ha));
      const s = await ctx.apiClient(cmd, url).json<ClusterStatus>('GET', '/v1/admin/replication');
      ctx.emit(cmd, s, () => statusText(s));
    });
  cluster
    .command('promote')
    .description('turn this standby into a primary on a new timeline (stop the old primary first: nothing here fences it)')
    .action(async (_o: unknown, cmd: Command) => {
      const url = needServer(ctx, cmd, 'cluster promote');
      const s = await ctx.apiClient(cmd, url).json<ClusterStatus>('POST', '/v1/admin/promote');
      const tl = s.history.at(-1);
      ctx.emit(cmd, s, () => `promoted ${url} to primary: timeline ${s.timeline} (generation ${generation(s.timeline ?? '0')}, from ${tl?.parent ?? '-'}) at LSN ${tl?.switchLsn ?? s.nextLsn}\n`);
    });
  addHaCommands(cluster, ctx, (cmd, what) => needServer(ctx, cmd, what));
}
