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

export interface ArchiveCheck {
  chunks: number;
  bytes: number;
  /** The archived LSN range (null when empty). */
  first: string | null;
  last: string | null;
  /** LSN ranges missing between chunks: a restore cannot cross them. */
  gaps: { from: string; to: string }[];
}

/** Reads every archived chunk: CRCs, LSN chain inside each, names matching contents, gaps between. */
export async function verifyArchive(repo: Repo): Promise<ArchiveCheck> {
  const chunks: ArchivedChunk[] = await listArchive(repo);
  const out: ArchiveCheck = { chunks: chunks.length, bytes: 0, first: null, last: null, gaps: [] };
  let covered: bigint | null = null;
  for (const c of chunks) {
    const file = `${repo.location}: ${c.key}`;
    const buf = await readAll(repo, c.key);
    let last = c.first - 1n;
    for (const r of records(file, buf, c.first)) last = r.lsn;
    if (last !== c.last) throw corrupt(file, `ends at LSN ${last} but its name says ${c.last}`);
    out.bytes += buf.length;
    if (covered !== null && c.first > covered + 1n) out.gaps.push({ from: (covered + 1n).toString(), to: (c.first - 1n).toString() });
    if (covered === null || c.last > covered) covered = c.last;
    out.first ??= c.first.toString();
  }
  out.last = covered === null ? null : covered.toString();
  return out;
}
