/**
 * What a repository holds: its backups (those with a manifest; directories without one are
 * interrupted backups, reported as incomplete) and its archived WAL chunks.
 */
import { ARCHIVE_RE, BACKUPS_PREFIX, type Manifest, parseManifest } from './manifest.js';
import { type Repo, readAll } from './repo.js';
import { KvError } from '../errors.js';

export interface ArchivedChunk {
  key: string;
  first: bigint;
  last: bigint;
  size: number;
}

export interface RepoContents {
  backups: Manifest[];
  /** Backup ids with files but no manifest (interrupted, or being written now). */
  incomplete: string[];
  archive: ArchivedChunk[];
}

export async function readManifest(repo: Repo, id: string): Promise<Manifest> {
  const key = `${BACKUPS_PREFIX}${id}/manifest.json`;
  return parseManifest((await readAll(repo, key)).toString('utf8'), `${repo.location}: ${key}`);
}

export async function listArchive(repo: Repo): Promise<ArchivedChunk[]> {
  const out: ArchivedChunk[] = [];
  for (const o of await repo.list('wal/')) {
    const m = ARCHIVE_RE.exec(o.key);
    if (m) out.push({ key: o.key, first: BigInt(`0x${m[1]}`), last: BigInt(`0x${m[2]}`), size: o.size });
  }
  return out.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.last < b.last ? -1 : 1));
}

export async function listRepo(repo: Repo): Promise<RepoContents> {
  const ids = new Map<string, boolean>();
  for (const o of await repo.list(BACKUPS_PREFIX)) {
    const rest = o.key.slice(BACKUPS_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const id = rest.slice(0, slash);
    ids.set(id, (ids.get(id) ?? false) || rest.slice(slash + 1) === 'manifest.json');
  }
  const backups: Manifest[] = [];
  const incomplete: string[] = [];
  for (const [id, hasManifest] of [...ids].sort()) {
    if (!hasManifest) {
      incomplete.push(id);
      continue;
    }
    try {
      backups.push(await readManifest(repo, id));
    } catch (err) {
      // A damaged manifest: the backup is listed as incomplete; verify names the problem.
      if ((err as KvError).code !== 'BACKUP_CORRUPT') throw err;
      incomplete.push(id);
    }
  }
  return { backups, incomplete, archive: await listArchive(repo) };
}
