/**
 * The replication metrics of /metrics (docs/replication.md, "Metrics"), read at scrape time
 * from the node's own state: its role and timeline, on a primary each standby's LSNs and lag
 * plus the synchronous-commit quorum, on a standby its receiver. Without a replication node
 * (kvstoreRoutes mounted on a plain store) the same families are exported from the store
 * alone: a primary of its own with no standbys, so dashboards and alerts see 0, not nothing.
 *
 * Lag in bytes is derived, not measured: LSNs count records, not bytes, and nothing tracks
 * the byte offset of an LSN across segments. It is the lag in LSNs times the mean size of
 * the records this node's WAL holds on disk (WAL bytes / records in it), so it is exact in
 * records and an estimate in bytes.
 */
import client from 'prom-client';
import { scrapeGauge } from './scrape-metrics.js';
import type { ReplicationNode } from '../replication/node.js';
import type { Store } from '../store/store.js';

/** Bytes for `lagLsn` records at this WAL's mean record size; 0 when the WAL holds no record. */
export function lagBytes(lagLsn: bigint, walBytes: number, walRecords: bigint): number {
  if (lagLsn <= 0n || walRecords <= 0n) return 0;
  return Math.round(Number(lagLsn) * (walBytes / Number(walRecords)));
}

/** Timeline ids are 16 hex digits, the high 8 the generation (ts/replication/timeline.ts). */
const generation = (id: string | null): number => (id === null ? 0 : Number.parseInt(id.slice(0, 8), 16));

interface Snapshot {
  role: 'primary' | 'standby';
  generation: number;
  appliedLsn: bigint;
  flushedLsn: bigint;
  /** WAL bytes on disk and the records they hold: the mean record size for lag in bytes. */
  walBytes: number;
  walRecords: bigint;
}

export function registerReplicationMetrics(r: client.Registry, store: Store, node: ReplicationNode | null): void {
  let snap: Snapshot = { role: 'primary', generation: 0, appliedLsn: 0n, flushedLsn: 0n, walBytes: 0, walRecords: 0n };
  const refresh = (): void => {
    try {
      const port = store._replication();
      const pos = port.positions();
      const st = store.stats();
      const status = node?.status();
      snap = {
        role: node?.role ?? store.replication().role,
        generation: generation(status?.timeline ?? null),
        appliedLsn: pos.appliedLsn,
        flushedLsn: pos.flushedLsn,
        walBytes: st.walBytes,
        walRecords: pos.nextLsn - port.oldestLsn(),
      };
    } catch {
      /* closed, or reopening for a base backup: keep the last figures */
    }
  };
  const gauge = (name: string, help: string, read: () => number): void => scrapeGauge(r, name, help, read);
  // A Prometheus counter fed from a figure that only grows while its source lives (see metrics.ts).
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], series: Array<[Partial<Record<L, string>>, () => number]>): void => {
    const last = series.map(() => 0);
    const c = new client.Counter({
      name, help, labelNames, registers: [r],
      collect() {
        series.forEach(([labels, read], i) => {
          const v = read();
          if (v > last[i]!) this.inc(labels, v - last[i]!);
          last[i] = v;
        });
      },
    });
    for (const [labels] of series) c.inc(labels, 0);
  };
  const receiver = () => (node?.role === 'standby' ? node.receiverStatus() : null);

  // Registered first: its collect() refreshes the snapshot the others read.
  new client.Gauge({
    name: 'kvstore_replication_role', help: 'this node\'s replication role: 1 for the role it plays now, 0 for the other', labelNames: ['role'], registers: [r],
    collect() {
      refresh();
      this.set({ role: 'primary' }, snap.role === 'primary' ? 1 : 0);
      this.set({ role: 'standby' }, snap.role === 'standby' ? 1 : 0);
    },
  });
  gauge('kvstore_replication_timeline_generation', 'generation of the timeline this node is on (1 = never promoted; +1 per promotion; 0 = no timeline yet)', () => snap.generation);
  gauge('kvstore_replication_applied_lsn', 'highest LSN applied and visible to reads on this node', () => Number(snap.appliedLsn));

  // ---- a primary: its standbys and the synchronous quorum
  gauge('kvstore_replication_standbys_connected', 'standbys streaming from this primary now', () => node?.registry.list().length ?? 0);
  gauge('kvstore_replication_synchronous_standbys', 'configured synchronous_standbys: how many standbys must confirm each write (0 = asynchronous)', () => node?.quorum.required ?? 0);
  gauge('kvstore_replication_sync_set_size', 'standbys counted for synchronous commit now (fewer than kvstore_replication_synchronous_standbys: writes wait)', () => node?.quorum.syncSet().length ?? 0);
  gauge('kvstore_replication_sync_waiting_writes', 'writes durable here and waiting for synchronous standbys to confirm them', () => node?.quorum.waiting ?? 0);
  counter('kvstore_replication_sync_waits_total', 'writes that had to wait for synchronous standbys (not already confirmed when durable here)', [], [[{}, () => node?.quorum.waits ?? 0]]);
  counter('kvstore_replication_sync_timeouts_total', 'writes failed with SYNC_TIMEOUT (durable here, not confirmed by the synchronous standbys in time)', [], [[{}, () => node?.quorum.timeouts ?? 0]]);
  counter('kvstore_replication_base_backups_sent_total', 'base backups (snapshot + WAL from its redo LSN) sent to standbys', [], [[{}, () => node?.registry.baseBackups ?? 0]]);
  counter('kvstore_replication_stream_errors_total', 'replication streams that failed: sender = streams to standbys this primary ended with an error, receiver = streams from the primary this standby dropped (corrupt, truncated or out-of-order frames)', ['side'], [
    [{ side: 'sender' }, () => node?.registry.streamErrors ?? 0],
    [{ side: 'receiver' }, () => receiver()?.streamErrors ?? 0],
  ]);
  const perStandby = (name: string, help: string, read: (s: ReturnType<ReplicationNode['registry']['list']>[number]) => number): void => {
    new client.Gauge({
      name, help, labelNames: ['standby'], registers: [r],
      collect() {
        this.reset();
        for (const s of node?.registry.list() ?? []) this.set({ standby: s.id }, read(s));
      },
    });
  };
  const lagLsn = (applied: bigint): bigint => (snap.flushedLsn > applied ? snap.flushedLsn - applied : 0n);
  perStandby('kvstore_replication_standby_lag_lsn', 'records this primary has flushed that the standby has not applied yet', (s) => Number(lagLsn(s.appliedLsn)));
  perStandby('kvstore_replication_standby_lag_bytes', 'the standby\'s lag in bytes, derived: lag in LSNs times the mean WAL record size here (an estimate)', (s) => lagBytes(lagLsn(s.appliedLsn), snap.walBytes, snap.walRecords));
  perStandby('kvstore_replication_standby_feedback_age_seconds', 'seconds since the standby last reported its flushed and applied LSNs (-1 = not yet)', (s) => (s.lastFeedbackAt === 0 ? -1 : (Date.now() - s.lastFeedbackAt) / 1000));
  perStandby('kvstore_replication_standby_synchronous', '1 when the standby is in the synchronous set (its confirmation counts for commits)', (s) => (node?.quorum.syncSet().includes(s.id) ? 1 : 0));
  new client.Gauge({
    name: 'kvstore_replication_standby_lsn', help: 'a standby\'s positions as this primary knows them: sent (streamed to it), flushed and applied (as it reported)', labelNames: ['standby', 'position'], registers: [r],
    collect() {
      this.reset();
      for (const s of node?.registry.list() ?? []) {
        this.set({ standby: s.id, position: 'sent' }, Number(s.sentLsn));
        this.set({ standby: s.id, position: 'flushed' }, Number(s.flushedLsn));
        this.set({ standby: s.id, position: 'applied' }, Number(s.appliedLsn));
      }
    },
  });

  // ---- a standby: its receiver
  gauge('kvstore_replication_receiver_connected', 'a standby: 1 while streaming from its primary', () => (receiver()?.connected ? 1 : 0));
  gauge('kvstore_replication_receiver_stopped', 'a standby: 1 after a refusal the operator must resolve (another cluster, a stale primary, refused credentials)', () => (receiver()?.stopped ? 1 : 0));
  gauge('kvstore_replication_primary_lsn', 'a standby: the primary\'s flushed LSN as last heard', () => Number(receiver()?.primaryLsn ?? 0n));
  const receiverLag = (): bigint => {
    const rs = receiver();
    return rs && rs.primaryLsn > snap.appliedLsn ? rs.primaryLsn - snap.appliedLsn : 0n;
  };
  gauge('kvstore_replication_receiver_lag_lsn', 'a standby: the primary\'s LSN as last heard minus the LSN applied here', () => Number(receiverLag()));
  gauge('kvstore_replication_receiver_lag_bytes', 'a standby: its lag in bytes, derived: lag in LSNs times the mean WAL record size here (an estimate)', () => lagBytes(receiverLag(), snap.walBytes, snap.walRecords));
  gauge('kvstore_replication_receiver_lag_seconds', 'a standby: how long it has been behind the primary (0 when caught up)', () => (receiver()?.lagMs ?? 0) / 1000);
  counter('kvstore_replication_base_backups_received_total', 'a standby: base backups installed from the primary', [], [[{}, () => receiver()?.baseBackups ?? 0]]);
  counter('kvstore_replication_rewinds_total', 'a standby: rewinds (records past the new primary\'s switch point discarded)', [], [[{}, () => receiver()?.rewinds ?? 0]]);
}
