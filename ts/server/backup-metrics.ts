/**
 * WAL archiving metrics of /metrics (docs/backup.md, "Metrics"), read at scrape time from
 * the archiver: the last archived LSN, the lag in LSNs and (estimated) in bytes, chunks
 * and bytes shipped, failures, and the time of the last success.
 */
import type client from 'prom-client';
import type { WalArchiver } from '../backup/archiver.js';
import type { BackupScheduler } from '../backup/schedule.js';
import { scrapeCounter, scrapeGauge } from './scrape-metrics.js';

export function registerBackupMetrics(r: client.Registry, archiver: WalArchiver | null, scheduler: BackupScheduler | null): void {
  const gauge = (name: string, help: string, read: () => number): void => scrapeGauge(r, name, help, read);
  const counter = (name: string, help: string, read: () => number): void => scrapeCounter(r, name, help, read);
  if (archiver) {
    gauge('kvstore_archive_last_archived_lsn', 'every WAL record up to this LSN is in the archive', () => Number(archiver.status().lastArchivedLsn));
    gauge('kvstore_archive_lag_lsn', 'WAL records flushed but not yet archived', () => Number(archiver.status().lagLsn));
    gauge('kvstore_archive_lag_bytes', 'WAL bytes waiting to be archived at the last look (records waiting times the mean record size: an estimate)', () => archiver.status().lagBytes);
    counter('kvstore_archive_chunks_total', 'archived WAL chunks shipped since start', () => archiver.status().chunks);
    counter('kvstore_archive_bytes_total', 'archived WAL bytes shipped since start', () => archiver.status().bytes);
    counter('kvstore_archive_failures_total', 'failed attempts to ship WAL to the archive since start', () => archiver.status().failures);
    gauge('kvstore_archive_last_success_timestamp_seconds', 'when the archive last took a chunk (0 = never since start)', () => archiver.status().lastSuccessMs / 1000);
  }
  if (scheduler) {
    counter('kvstore_backup_scheduled_runs_total', 'scheduled base backups written since start', () => scheduler.runs);
    counter('kvstore_backup_scheduled_failures_total', 'scheduled base backups that failed since start', () => scheduler.failures);
  }
}
