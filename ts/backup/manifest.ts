/**
 * manifest.json: what a base backup holds and how to check it (docs/backup.md). Written
 * last, after every file it lists is complete: a backup without one does not exist for
 * list, verify or restore. LSNs are decimal strings (JSON has no 64-bit integers).
 */
import { KvError } from '../errors.js';

export const MANIFEST_FORMAT = 'kvstore-backup';
export const MANIFEST_VERSION = 1;
export const BACKUPS_PREFIX = 'backups/';
export const ARCHIVE_PREFIX = 'wal/';

export interface ManifestFile {
  /** Relative to the backup's directory: `snapshot-<redo>.snap` or `wal/<first lsn>.wal`. */
  path: string;
  kind: 'snapshot' | 'wal';
  bytes: number;
  sha256: string;
  /** WAL files: the LSNs of their first and last record. */
  firstLsn?: string;
  lastLsn?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  id: string;
  /** ISO time the backup started / finished. */
  createdAt: string;
  finishedAt: string;
  /** The checkpoint's redo LSN: the snapshot holds every change before it. */
  startLsn: string;
  /** The last WAL record included; restoring to any LSN >= it (and >= startLsn - 1) is consistent. */
  endLsn: string;
  /** Wall-clock ms when endLsn was read: a restore --until-time earlier than this cannot use this backup. */
  endTimeMs: number;
  catalogVersion: number;
  checkpointTimeMs: number;
  /** The source's replication identity when it has one (timeline.json), else null. */
  systemId: string | null;
  timeline: string | null;
  source: { host: string; dataDir: string; engine: string };
  /** Data-directory format version (docs/on-disk-format.md). */
  dataFormatVersion: number;
  totalBytes: number;
  files: ManifestFile[];
}

const DEC = /^\d{1,20}$/;

/** Parses and checks a manifest; BACKUP_CORRUPT naming `where` when it is not one. */
export function parseManifest(text: string, where: string): Manifest {
  const bad = (why: string): KvError => new KvError('BACKUP_CORRUPT', `${where}: ${why}`);
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw bad('manifest.json is not valid JSON');
  }
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT) throw bad('manifest.json is not a kvstore backup manifest');
  if (m.formatVersion !== MANIFEST_VERSION) throw bad(`manifest format version ${String(m.formatVersion)} is not supported (this build reads ${MANIFEST_VERSION})`);
  if (typeof m.id !== 'string' || !DEC.test(m.startLsn) || !DEC.test(m.endLsn) || !Array.isArray(m.files)) throw bad('manifest.json lacks id, LSNs or files');
  if (BigInt(m.endLsn) < BigInt(m.startLsn) - 1n) throw bad('manifest.json: endLsn is before startLsn');
  const snaps = m.files.filter((f) => f.kind === 'snapshot');
  if (snaps.length !== 1) throw bad('manifest.json must list exactly one snapshot');
  for (const f of m.files) {
    if (typeof f.path !== 'string' || !/^(snapshot-[0-9a-f]{16}\.snap|wal\/[0-9a-f]{16}\.wal)$/.test(f.path)) throw bad(`manifest.json lists a bad path ${JSON.stringify(f.path)}`);
    if (!Number.isSafeInteger(f.bytes) || f.bytes < 0 || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`manifest.json: ${f.path} has no valid size or sha256`);
    if (f.kind === 'wal' && (!DEC.test(f.firstLsn ?? '') || !DEC.test(f.lastLsn ?? ''))) throw bad(`manifest.json: ${f.path} has no LSN range`);
  }
  return m;
}

/** A sortable backup id: UTC time to the millisecond plus a random suffix. */
export function newBackupId(now: Date, random: string): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${random}`;
}

/** Archived WAL object names: wal/<first>-<last>.wal, 16 hex digits each. */
export const ARCHIVE_RE = /^wal\/([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function archiveKey(first: bigint, last: bigint): string {
  return `${ARCHIVE_PREFIX}${first.toString(16).padStart(16, '0')}-${last.toString(16).padStart(16, '0')}.wal`;
}
