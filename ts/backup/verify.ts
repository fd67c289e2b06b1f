/**
 * `kvctl backup verify`: re-reads every file of a backup and checks it against the
 * manifest (size, SHA-256), the snapshot's own structure and CRC, and the WAL's records
 * (CRC each, consecutive LSNs from the snapshot's redo LSN through endLsn, across files);
 * and the archive's chunks (CRC, LSN chain, gaps). The first problem is thrown as
 * BACKUP_CORRUPT naming the file.
 */
import { BACKUPS_PREFIX, type Manifest } from './manifest.js';
import { type ArchivedChunk, listArchive, readManifest } from './catalog.js';
import { Digest, SnapshotCheck, checkDigest, corrupt, records } from './checks.js';
import { type Repo, readAll } from './repo.js';
import type { KvError } from '../errors.js';

export interface BackupCheck {
  id: string;
  files: number;
  bytes: number;
  startLsn: string;
  endLsn: string;
}

/** Reads a backup file whole, checking size and SHA-256 (WAL files are at most 64 MiB). */
export async function readChecked(repo: Repo, m: Manifest, path: string): Promise<Buffer> {
  const f = m.files.find((x) => x.path === path)!;
  const key = `${BACKUPS_PREFIX}${m.id}/${f.path}`;
  const d = new Digest();
  const parts: Buffer[] = [];
  for await (const c of repo.get(key)) {
    d.update(c);
    parts.push(c);
  }
  checkDigest(`${repo.location}: ${key}`, d, f);
  return Buffer.concat(parts);
}

export async function verifyBackup(repo: Repo, id: string): Promise<BackupCheck> {
  const m = await readManifest(repo, id);
  const redo = BigInt(m.startLsn);
  let bytes = 0;
  for (const f of m.files.filter((x) => x.kind === 'snapshot')) {
    const key = `${BACKUPS_PREFIX}${id}/${f.path}`;
    const file = `${repo.location}: ${key}`;
    const d = new Digest();
    const s = new SnapshotCheck(file, redo);
    for await (const c of repo.get(key)) {
      d.update(c);
      s.update(c);
    }
    checkDigest(file, d, f);
    s.finish();
    bytes += d.bytes;
  }
  let next = redo;
  for (const f of m.files.filter((x) => x.kind === 'wal').sort((a, b) => (BigInt(a.firstLsn!) < BigInt(b.firstLsn!) ? -1 : 1))) {
    const file = `${repo.location}: ${BACKUPS_PREFIX}${id}/${f.path}`;
    if (BigInt(f.firstLsn!) !== next) throw corrupt(file, `starts at LSN ${f.firstLsn} where ${next} was expected (a WAL file is missing)`);
    const buf = await readChecked(repo, m, f.path);
    let last = next - 1n;
    for (const r of records(file, buf, next)) last = r.lsn;
    if (last.toString() !== f.lastLsn) throw corrupt(file, `ends at LSN ${last}, the manifest says ${f.lastLsn}`);
    next = last + 1n;
    bytes += buf.length;
  }
  if (next - 1n !== BigInt(m.endLsn) && !(next === redo && BigInt(m.endLsn) === redo - 1n)) {
    throw corrupt(`${repo.location}: ${BACKUPS_PREFIX}${id}/wal/`, `the WAL ends at LSN ${next - 1n} but the backup needs it through ${m.endLsn} (a WAL file is missing)`);
  }
  return { id, files: m.files.length, bytes, startLsn: m.startLsn, endLsn: m.endLsn };
}

/** An LSN range the archive is missing: a restore that needs it stops before it. */
export interface ArchiveGap {
  /** The missing LSNs, inclusive. */
  from: string;
  to: string;
  /** The archived chunk that ends just before the gap (null: the gap is before the first chunk, right after a backup's end). */
  chunkBefore: string | null;
  /** The archived chunk that starts just after it. */
  chunkAfter: string;
  /**
   * The backups whose restore has to cross the gap (it is after their endLsn): none of them
   * restores to an LSN at or after `from`. Empty when the gap is before every backup's end
   * (no restore needs it): such a gap is reported but is not a failure.
   */
  blocks: string[];
}

export interface ArchiveCheck {
  chunks: number;
  bytes: number;
  /** The archived LSN range (null when empty). */
  first: string | null;
  last: string | null;
  /** LSN ranges missing between chunks (and between a backup's end and the first chunk after it). */
  gaps: ArchiveGap[];
}

/** The backups a verify of the archive weighs gaps against (their manifests' id and endLsn). */
export type BackupEnd = Pick<Manifest, 'id' | 'endLsn'>;

/**
 * Reads every archived chunk: CRCs, LSN chain inside each, names matching contents, gaps
 * between. With `backups`, a gap is also the LSNs between a backup's end and the first
 * chunk after it, and each gap lists the backups it blocks (ArchiveGap.blocks).
 */
export async function verifyArchive(repo: Repo, backups: readonly BackupEnd[] = []): Promise<ArchiveCheck> {
  const chunks: ArchivedChunk[] = await listArchive(repo);
  const out: ArchiveCheck = { chunks: chunks.length, bytes: 0, first: null, last: null, gaps: [] };
  const ends = backups.map((b) => ({ id: b.id, end: BigInt(b.endLsn) }));
  const gap = (from: bigint, to: bigint, before: string | null, after: string): ArchiveGap => ({
    from: from.toString(), to: to.toString(), chunkBefore: before, chunkAfter: after,
    blocks: ends.filter((b) => b.end < to).map((b) => b.id),
  });
  // Where a restore of the oldest backup needs the archive to begin.
  const need = ends.length === 0 ? null : ends.reduce((a, b) => (b.end < a ? b.end : a), ends[0]!.end) + 1n;
  let covered: bigint | null = null;
  let coveredBy: string | null = null;
  for (const c of chunks) {
    const file = `${repo.location}: ${c.key}`;
    const buf = await readAll(repo, c.key);
    let last = c.first - 1n;
    for (const r of records(file, buf, c.first)) last = r.lsn;
    if (last !== c.last) throw corrupt(file, `ends at LSN ${last} but its name says ${c.last}`);
    out.bytes += buf.length;
    if (covered !== null && c.first > covered + 1n) out.gaps.push(gap(covered + 1n, c.first - 1n, coveredBy, c.key));
    else if (covered === null && need !== null && c.first > need) out.gaps.push(gap(need, c.first - 1n, null, c.key));
    if (covered === null || c.last > covered) {
      covered = c.last;
      coveredBy = c.key;
    }
    out.first ??= c.first.toString();
  }
  out.last = covered === null ? null : covered.toString();
  return out;
}

/** BACKUP_CORRUPT naming the first gap that blocks a restore (with the chunks around it), or null. */
export function gapError(repo: Repo, a: ArchiveCheck): KvError | null {
  const bad = a.gaps.filter((g) => g.blocks.length > 0);
  if (bad.length === 0) return null;
  const g = bad[0]!;
  return corrupt(`${repo.location}: wal/`, `archived WAL LSN ${g.from}..${g.to} is missing (${g.chunkBefore === null ? 'before the first chunk' : `after ${g.chunkBefore}`}, before ${g.chunkAfter}): restores cannot cross it (backup${g.blocks.length > 1 ? 's' : ''} ${g.blocks.join(', ')})${bad.length > 1 ? `; ${bad.length - 1} more gap(s): ${bad.slice(1).map((x) => `${x.from}..${x.to}`).join(', ')}` : ''}; take a new base backup`);
}
