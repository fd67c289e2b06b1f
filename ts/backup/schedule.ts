/**
 * Scheduled backups (kvstored's backup_schedule + backup_keep): every interval, a base
 * backup to the configured location, then a prune keeping the newest backup_keep. An
 * interval is "<n>s|m|h|d" (e.g. "6h"); cron syntax is not supported. A failed run is
 * logged and retried at the next tick; runs never overlap.
 */
import { KvError } from '../errors.js';
import { type BackupOptions, type BackupSource, createBackup } from './create.js';
import { pruneRepo } from './prune.js';
import { type Repo } from './repo.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "6h", "1d" → ms. INVALID_ARGUMENT otherwise (at least 1 s, at most 365 d). */
export function parseInterval(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!m) throw new KvError('INVALID_ARGUMENT', `backup_schedule must be an interval like "30m", "6h" or "1d", got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms < 1000 || ms > 365 * 86_400_000) throw new KvError('INVALID_ARGUMENT', `backup_schedule ${text} is out of range (1s .. 365d)`);
  return ms;
}

export class BackupScheduler {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  runs = 0;
  failures = 0;

  constructor(
    private readonly store: BackupSource,
    private readonly repo: Repo,
    private readonly intervalMs: number,
    private readonly keep: number,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
    private readonly options: BackupOptions = {},
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      if (!this.#running) this.#running = this.runOnce().finally(() => (this.#running = null));
    }, this.intervalMs);
    this.#timer.unref();
  }

  async runOnce(): Promise<void> {
    try {
      const m = await createBackup(this.store, this.repo, this.options);
      this.runs++;
      this.log('info', `scheduled backup ${m.id} written to ${this.repo.location} (LSN ${m.startLsn}..${m.endLsn}, ${m.totalBytes} bytes)`);
      if (this.keep > 0) {
        const p = await pruneRepo(this.repo, { keep: this.keep });
        if (p.deletedBackups.length > 0) this.log('info', `backup retention: removed ${p.deletedBackups.length} backup(s) and ${p.deletedArchiveChunks} archived WAL chunk(s)`);
      }
    } catch (err) {
      this.failures++;
      this.log('error', `scheduled backup to ${this.repo.location} failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }
}
