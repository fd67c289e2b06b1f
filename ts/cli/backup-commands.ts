/**
 * `kvctl backup create | list | verify | prune` and `kvctl restore` (docs/backup.md).
 * create goes through the server (--url: POST /v1/admin/backup; the server writes the
 * backup with its own S3 settings and credentials) or opens a data directory no server
 * holds (--data-dir). list, verify, prune and restore read the repository themselves
 * (a directory or s3://bucket/prefix); no server is involved.
 *
 * Exit codes as everywhere in kvctl: 0 ok; 1 refused or failed (BACKUP_CORRUPT names the
 * damaged file, or the archived WAL range missing between two chunks; RESTORE_TARGET_NOT_EMPTY; RESTORE_TARGET_UNREACHABLE); 2 usage.
 */
import type { Command } from 'commander';
import type { Backend } from './backend.js';
import { bytes, isoTime, positiveInt, positiveNumber, table, usage } from './common.js';
import type { S3Settings } from '../backup/repo.js';

export interface BackupContext {
  withBackend(cmd: Command, fn: (b: Backend) => Promise<void>): Promise<void>;
  emit(cmd: Command, data: unknown, text: () => string): void;
}

interface S3Flags {
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
}

function s3Of(o: S3Flags): S3Settings {
  return {
    ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}),
    ...(o.s3Region ? { region: o.s3Region } : {}),
    ...(o.s3ForcePathStyle ? { forcePathStyle: true } : {}),
  };
}

function withS3(cmd: Command): Command {
  return cmd
    .option('--s3-endpoint <url>', 'S3-compatible endpoint (or KVSTORE_S3_ENDPOINT); credentials from the AWS environment/profile chain')
    .option('--s3-region <region>', 'S3 region (default AWS_REGION, else us-east-1)')
    .option('--s3-force-path-style', 'path-style S3 addressing (on whenever an endpoint is given)');
}

function parseLsn(v: string): bigint {
  if (!/^\d{1,20}$/.test(v) || BigInt(v) < 1n) throw usage(`--until-lsn takes an LSN (a positive integer), got ${JSON.stringify(v)}`);
  return BigInt(v);
}

function parseTime(v: string): number {
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || !Number.isFinite(t)) throw usage(`--until-time takes an ISO 8601 time like 2026-12-02T03:40:00Z, got ${JSON.stringify(v)}`);
  return t;
}

export function addBackupCommands(program: Command, ctx: BackupContext): void {
  const backup = program.command('backup').description('base backups, their verification and retention (docs/backup.md)');

  withS3(backup
    .command('create')
    .description('take a base backup while the store runs (snapshot + WAL + manifest.json): of the server at --url, or of a --data-dir no server holds')
    .requiredOption('--to <location>', 'backup repository: a directory or s3://bucket/prefix (with --url, as the server sees it)'))
    .action(async (o: { to: string } & S3Flags, cmd: Command) => {
      await ctx.withBackend(cmd, async (b) => {
        const t0 = performance.now();
        const m = await b.backup(o.to, s3Of(o));
        const ms = Math.round(performance.now() - t0);
        ctx.emit(cmd, { ...m, ms }, () => `backup ${m.id} written to ${o.to} in ${ms} ms: consistent at LSN ${m.endLsn}, ${m.files.length} file(s), ${bytes(m.totalBytes)}\n`);
      });
    });

  withS3(backup
    .command('list')
    .description('the backups in a repository (complete ones: with a manifest), interrupted ones, and the archived WAL range')
    .requiredOption('--repo <location>', 'backup repository: a directory or s3://bucket/prefix'))
    .action(async (o: { repo: string } & S3Flags, cmd: Command) => {
      const { openRepo } = await import('../backup/repo.js');
      const { listRepo } = await import('../backup/catalog.js');
      const c = await listRepo(await openRepo(o.repo, s3Of(o)));
      const archive = c.archive.length === 0 ? null : { chunks: c.archive.length, first: String(c.archive[0]!.first), last: String(c.archive.reduce((a, x) => (x.last > a ? x.last : a), 0n)) };
      ctx.emit(cmd, { backups: c.backups.map((m) => ({ id: m.id, createdAt: m.createdAt, startLsn: m.startLsn, endLsn: m.endLsn, totalBytes: m.totalBytes, systemId: m.systemId })), incomplete: c.incomplete, archive }, () =>
        table(['id', 'created', 'consistent at lsn', 'redo lsn', 'files', 'size'], c.backups.map((m) => [m.id, isoTime(Date.parse(m.createdAt)), m.endLsn, m.startLsn, String(m.files.length), bytes(m.totalBytes)])) +
        (c.backups.length === 0 ? '(no complete backup)\n' : '') +
        (c.incomplete.length > 0 ? `incomplete (no manifest: interrupted or being written): ${c.incomplete.join(', ')}\n` : '') +
        (archive ? `archived WAL: LSN ${archive.first}..${archive.last} in ${archive.chunks} chunk(s)\n` : 'archived WAL: none\n'));
    });

  withS3(backup
    .command('verify')
    .description('re-read every file of the backups (or one) and check sizes, SHA-256, the snapshot CRC and the WAL LSN chain; then the archived WAL')
    .requiredOption('--repo <location>', 'backup repository: a directory or s3://bucket/prefix')
    .option('--id <backup>', 'only this backup (and not the archive)'))
    .action(async (o: { repo: string; id?: string } & S3Flags, cmd: Command) => {
      const { openRepo } = await import('../backup/repo.js');
      const { listRepo } = await import('../backup/catalog.js');
      const { gapError, verifyArchive, verifyBackup } = await import('../backup/verify.js');
      const repo = await openRepo(o.repo, s3Of(o));
      const manifests = o.id !== undefined ? [] : (await listRepo(repo)).backups;
      const ids = o.id !== undefined ? [o.id] : manifests.map((m) => m.id);
      const checked: Awaited<ReturnType<typeof verifyBackup>>[] = [];
      for (const id of ids) checked.push(await verifyBackup(repo, id));
      const archive = o.id === undefined ? await verifyArchive(repo, manifests) : null;
      // A gap a restore has to cross fails the verify (exit 1, BACKUP_CORRUPT on stderr)
      // after the report, which names every gap and the chunks around it.
      const failure = archive ? gapError(repo, archive) : null;
      const gapText = (g: NonNullable<typeof archive>['gaps'][number]): string =>
        `${g.from}..${g.to} (${g.chunkBefore ?? 'start'} .. ${g.chunkAfter})${g.blocks.length === 0 ? ' before every backup: harmless' : ''}`;
      ctx.emit(cmd, { ok: failure === null, backups: checked, archive }, () =>
        checked.map((c) => `ok  ${c.id}: ${c.files} file(s), ${bytes(c.bytes)}, consistent at LSN ${c.endLsn}\n`).join('') +
        (checked.length === 0 ? '(no complete backup to verify)\n' : '') +
        (archive ? `${failure ? 'BAD' : 'ok '} archive: ${archive.chunks} chunk(s), ${bytes(archive.bytes)}${archive.first ? `, LSN ${archive.first}..${archive.last}` : ''}${archive.gaps.length > 0 ? `; missing LSNs: ${archive.gaps.map(gapText).join(', ')}` : ''}\n` : ''));
      if (failure) throw failure;
    });

  withS3(backup
    .command('prune')
    .description('delete backups past the retention (the newest is always kept), the archived WAL no kept backup needs, and interrupted backups')
    .requiredOption('--repo <location>', 'backup repository: a directory or s3://bucket/prefix')
    .option('--keep <n>', 'keep the n newest backups', positiveInt('--keep'))
    .option('--keep-days <d>', 'keep backups younger than d days', positiveNumber('--keep-days')))
    .action(async (o: { repo: string; keep?: number; keepDays?: number } & S3Flags, cmd: Command) => {
      if (o.keep === undefined && o.keepDays === undefined) throw usage('backup prune needs --keep N or --keep-days D');
      const { openRepo } = await import('../backup/repo.js');
      const { pruneRepo } = await import('../backup/prune.js');
      const r = await pruneRepo(await openRepo(o.repo, s3Of(o)), { ...(o.keep !== undefined ? { keep: o.keep } : {}), ...(o.keepDays !== undefined ? { keepDays: o.keepDays } : {}) });
      ctx.emit(cmd, r, () => `kept ${r.kept.length} backup(s); deleted ${r.deletedBackups.length} backup(s)${r.deletedBackups.length ? ` (${r.deletedBackups.join(', ')})` : ''}, ${r.deletedIncomplete.length} interrupted, ${r.deletedArchiveChunks} archived WAL chunk(s)\n`);
    });

  withS3(program
    .command('restore')
    .description('build a new data directory from a base backup plus archived WAL, to the latest point, an LSN or a time; then start kvstored (or open()) on it')
    .requiredOption('--from <location>', 'backup repository: a directory or s3://bucket/prefix')
    .requiredOption('--to-dir <dir>', 'the new data directory (must not exist or be empty)')
    .option('--backup <id>', 'restore this backup (default: the newest that ends before the target)')
    .option('--until-lsn <n>', 'keep WAL records up to and including this LSN', parseLsn)
    .option('--until-time <iso>', 'keep WAL records up to the last time marker at or before this time', parseTime)
    .option('--no-archive', 'use the backup alone, not the archived WAL'))
    .action(async (o: { from: string; toDir: string; backup?: string; untilLsn?: bigint; untilTime?: number; archive: boolean } & S3Flags, cmd: Command) => {
      if (o.untilLsn !== undefined && o.untilTime !== undefined) throw usage('give --until-lsn or --until-time, not both');
      const { restoreBackup } = await import('../backup/restore.js');
      const t0 = performance.now();
      const r = await restoreBackup(o.from, o.toDir, {
        ...(o.backup !== undefined ? { backupId: o.backup } : {}),
        ...(o.untilLsn !== undefined ? { untilLsn: o.untilLsn } : {}),
        ...(o.untilTime !== undefined ? { untilTime: o.untilTime } : {}),
        noArchive: !o.archive,
        s3: s3Of(o),
      });
      const ms = Math.round(performance.now() - t0);
      ctx.emit(cmd, { ...r, startLsn: String(r.startLsn), lastLsn: String(r.lastLsn), gapAfter: r.gapAfter === null ? null : String(r.gapAfter), ms }, () =>
        `restored backup ${r.backupId} into ${r.dir} in ${ms} ms: to LSN ${r.lastLsn} (snapshot redo LSN ${r.startLsn}; stopped by ${r.stoppedBy === 'end' ? 'the end of the WAL' : `the target ${r.stoppedBy}`}; ${r.archiveChunks} archived chunk(s) read)\n` +
        (r.gapAfter !== null ? `warning: the archive has a gap after LSN ${r.gapAfter}; later WAL was not restored\n` : '') +
        (r.droppedAfterLastMarker > 0 ? `note: ${r.droppedAfterLastMarker} record(s) after the last time marker before the target were left out\n` : '') +
        `start it: kvstored --data-dir ${r.dir}\n`);
    });
}
