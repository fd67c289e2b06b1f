/**
 * `kvctl backup prune --keep N | --keep-days D` (and backup_keep after a scheduled backup):
 * deletes the backups past the retention, newest kept; then the archived WAL no kept
 * backup needs (chunks wholly before the oldest kept backup's start LSN); then leftovers
 * of interrupted backups older than the newest complete one. Never deletes the newest
 * backup.
 */
import { KvError } from '../errors.js';
import { listRepo } from './catalog.js';
import { BACKUPS_PREFIX } from './manifest.js';
import type { Repo } from './repo.js';

export interface PruneOptions {
  keep?: number;
  keepDays?: number;
  now?: number;
}

export interface PruneResult {
  deletedBackups: string[];
  deletedIncomplete: string[];
  deletedArchiveChunks: number;
  kept: string[];
}

export async function pruneRepo(repo: Repo, o: PruneOptions): Promise<PruneResult> {
  if (o.keep === undefined && o.keepDays === undefined) throw new KvError('INVALID_ARGUMENT', 'prune needs --keep N or --keep-days D');
  if (o.keep !== undefined && (!Number.isInteger(o.keep) || o.keep < 1)) throw new KvError('INVALID_ARGUMENT', 'keep must be an integer >= 1');
  if (o.keepDays !== undefined && (!Number.isFinite(o.keepDays) || o.keepDays <= 0)) throw new KvError('INVALID_ARGUMENT', 'keep-days must be a positive number');
  const now = o.now ?? Date.now();
  const c = await listRepo(repo);
  const newestFirst = [...c.backups].sort((a, b) => (a.id < b.id ? 1 : -1));
  const kept = newestFirst.filter((m, i) => i === 0 || ((o.keep === undefined || i < o.keep) && (o.keepDays === undefined || now - Date.parse(m.createdAt) <= o.keepDays * 86_400_000)));
  const keptIds = new Set(kept.map((m) => m.id));
  const out: PruneResult = { deletedBackups: [], deletedIncomplete: [], deletedArchiveChunks: 0, kept: kept.map((m) => m.id) };
  const all = await repo.list(BACKUPS_PREFIX);
  const keysOf = (id: string): string[] => all.filter((x) => x.key.startsWith(`${BACKUPS_PREFIX}${id}/`)).map((x) => x.key);
  for (const m of newestFirst) {
    if (keptIds.has(m.id)) continue;
    // The manifest goes first: a prune interrupted midway leaves an incomplete backup, never a damaged complete one.
    const keys = keysOf(m.id);
    await repo.delete(keys.filter((k) => k.endsWith('/manifest.json')));
    await repo.delete(keys.filter((k) => !k.endsWith('/manifest.json')));
    out.deletedBackups.push(m.id);
  }
  const newest = newestFirst[0]?.id;
  for (const id of c.incomplete) {
    if (newest !== undefined && id < newest) {
      await repo.delete(keysOf(id));
      out.deletedIncomplete.push(id);
    }
  }
  if (kept.length > 0) {
    const oldestStart = kept.reduce((a, m) => (BigInt(m.startLsn) < a ? BigInt(m.startLsn) : a), BigInt(kept[0]!.startLsn));
    const drop = c.archive.filter((ch) => ch.last < oldestStart).map((ch) => ch.key);
    await repo.delete(drop);
    out.deletedArchiveChunks = drop.length;
  }
  return out;
}
