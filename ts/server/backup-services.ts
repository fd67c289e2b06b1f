/**
 * kvstored's backup side (docs/backup.md): the WAL archiver (`archive`), scheduled base
 * backups (`backup_schedule`, `backup_keep`, `backup_to`), the hooks of the admin routes
 * (POST /v1/admin/backup, GET /v1/admin/archive) and their metrics.
 */
import type client from 'prom-client';
import { KvError } from '../errors.js';
import { WalArchiver } from '../backup/archiver.js';
import { createBackup } from '../backup/create.js';
import { type S3Settings, openRepo } from '../backup/repo.js';
import { BackupScheduler, parseInterval } from '../backup/schedule.js';
import type { Store } from '../store/store.js';
import type { ServerConfig } from './config.js';
import { registerBackupMetrics } from './backup-metrics.js';
import type { BackupRoutesHooks } from './routes.js';

export interface BackupServices {
  hooks: BackupRoutesHooks;
  registerMetrics(r: client.Registry): void;
  /** Stops the schedule and the archiver (which ships what is left first). */
  stop(): Promise<void>;
}

export function s3Settings(config: Pick<ServerConfig, 's3Endpoint' | 's3ForcePathStyle' | 's3Region'>): S3Settings {
  return {
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    ...(config.s3ForcePathStyle ? { forcePathStyle: true } : {}),
    ...(config.s3Region ? { region: config.s3Region } : {}),
  };
}

export async function startBackupServices(config: ServerConfig, store: Store, log: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<BackupServices> {
  const s3 = s3Settings(config);
  let archiver: WalArchiver | null = null;
  if (config.archive !== undefined) {
    archiver = new WalArchiver(store._replication(), await openRepo(config.archive, s3), {
      partialIntervalMs: config.archivePartialIntervalS * 1000,
      log,
    });
    await archiver.start();
  }
  let scheduler: BackupScheduler | null = null;
  const limit = config.backupMaxMbPerS > 0 ? { maxBytesPerSecond: config.backupMaxMbPerS * 1e6 } : {};
  if (config.backupSchedule !== undefined && config.backupTo !== undefined) {
    scheduler = new BackupScheduler(store, await openRepo(config.backupTo, s3), parseInterval(config.backupSchedule), config.backupKeep, log, limit);
    scheduler.start();
  }
  return {
    hooks: {
      async create(to) {
        const where = to ?? config.backupTo;
        if (where === undefined) throw new KvError('INVALID_ARGUMENT', 'give a target ({"to": "<dir | s3://bucket/prefix>"}) or set backup_to');
        const m = await createBackup(store, await openRepo(where, s3), limit);
        log('info', `backup ${m.id} written to ${where} (LSN ${m.startLsn}..${m.endLsn}, ${m.totalBytes} bytes)`);
        return m;
      },
      archive: () => archiver?.status() ?? null,
    },
    registerMetrics: (r) => registerBackupMetrics(r, archiver, scheduler),
    async stop() {
      await scheduler?.stop();
      await archiver?.stop();
    },
  };
}
