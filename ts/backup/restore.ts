/**
 * `kvctl restore`: builds a data directory from a base backup plus archived WAL, up to the
 * latest record, an LSN or a time, and the store opens it as any other (recovery replays
 * the WAL over the snapshot). Everything is written into a sibling temp directory and
 * renamed onto the target at the end, so an interrupted restore leaves no directory that
 * looks restored. The target must be absent or empty (RESTORE_TARGET_NOT_EMPTY); a live
 * store's directory is never empty (LOCK), so it is refused too.
 *
 * Point in time: records after the target are dropped at a record boundary. --until-lsn N
 * keeps records <= N. --until-time T keeps records up to the last TIME marker (kind 129,
 * written by the archiver about once a second while writes happen) whose time is <= T:
 * every record kept was written before T; writes in the last marker interval before T may
 * be dropped with the rest (docs/backup.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KvError, toKvError } from '../errors.js';
import { KIND_TIME, encodeControl, segmentName, snapshotName } from '../engine/format.js';
import { BACKUPS_PREFIX, type Manifest } from './manifest.js';
import { listRepo, readManifest } from './catalog.js';
import { Digest, SnapshotCheck, checkDigest, corrupt, records, type RecordView } from './checks.js';
import { type Location, type S3Settings, openRepo, readAll } from './repo.js';
import { readChecked } from './verify.js';

export interface RestoreOptions {
  /** Restore this backup (default: the newest that ends at or before the target). */
  backupId?: string;
  untilLsn?: bigint;
  /** ms since the epoch (or a Date). */
  untilTime?: number | Date;
  /** Don't use archived WAL: the backup alone (its endLsn). */
  noArchive?: boolean;
  walSegmentBytes?: number;
  s3?: S3Settings;
}

export interface RestoreResult {
  backupId: string;
  dir: string;
  startLsn: bigint;
  /** The last record restored (the store opens with nextLsn = lastLsn + 1). */
  lastLsn: bigint;
  /** Why replay stopped: the target LSN, a time marker past the target time, or the end of the archive. */
  stoppedBy: 'lsn' | 'time' | 'end';
  /** Archived WAL chunks read. */
  archiveChunks: number;
  /** Records the time target dropped after the last marker <= it (ambiguous time). */
  droppedAfterLastMarker: number;
  /** A gap in the archive that ended replay early, if any. */
  gapAfter: bigint | null;
}

/** Throws RESTORE_TARGET_NOT_EMPTY unless `dir` is absent or an empty directory. */
export function checkRestoreTarget(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new KvError('RESTORE_TARGET_NOT_EMPTY', `${dir} cannot be restored into: ${(err as Error).message}`);
  }
  if (names.includes('LOCK')) throw new KvError('RESTORE_TARGET_NOT_EMPTY', `${dir} is in use by a running store (LOCK): restore into a new directory`);
  if (names.length > 0) throw new KvError('RESTORE_TARGET_NOT_EMPTY', `${dir} is not empty (${names.length} entries): restore into a new or empty directory`);
}

/** Writes records into WAL segments named after their first LSN, rolling at segmentBytes. */
class SegmentWriter {
  #fd: number | null = null;
  #size = 0;
  readonly files: string[] = [];

  constructor(private readonly walDir: string, private readonly segmentBytes: number) {}

  write(r: RecordView): void {
    if (this.#fd !== null && this.#size > 0 && this.#size + r.bytes.length > this.segmentBytes) this.#close();
    if (this.#fd === null) {
      const f = path.join(this.walDir, segmentName(r.lsn));
      this.#fd = fs.openSync(f, 'wx', 0o600);
      this.files.push(f);
      this.#size = 0;
    }
    fs.writeSync(this.#fd, r.bytes);
    this.#size += r.bytes.length;
  }

  #close(): void {
    if (this.#fd === null) return;
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
    this.#fd = null;
  }

  finish(): void {
    this.#close();
  }

  abort(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function pickBackup(backups: Manifest[], untilLsn: bigint | undefined, untilMs: number | undefined): Manifest {
  const fits = backups.filter((m) => (untilLsn === undefined || BigInt(m.endLsn) <= untilLsn) && (untilMs === undefined || m.endTimeMs <= untilMs));
  if (fits.length === 0) {
    const what = untilLsn !== undefined ? `LSN ${untilLsn}` : untilMs !== undefined ? new Date(untilMs).toISOString() : 'the latest point';
    throw new KvError('RESTORE_TARGET_UNREACHABLE', `no complete backup ends at or before ${what} (${backups.length} backup(s) in the repository)`);
  }
  return fits.reduce((a, b) => (BigInt(b.endLsn) > BigInt(a.endLsn) ? b : a));
}

export async function restoreBackup(from: Location, toDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const target = path.resolve(toDir);
  checkRestoreTarget(target);
  if (options.untilLsn !== undefined && options.untilTime !== undefined) throw new KvError('INVALID_ARGUMENT', 'give an LSN or a time to restore to, not both');
  const untilLsn = options.untilLsn;
  const untilMs = options.untilTime === undefined ? undefined : typeof options.untilTime === 'number' ? options.untilTime : options.untilTime.getTime();
  if (untilMs !== undefined && !Number.isFinite(untilMs)) throw new KvError('INVALID_ARGUMENT', 'untilTime is not a valid time');
  const repo = await openRepo(from, options.s3);
  const contents = await listRepo(repo);
  let m: Manifest;
  if (options.backupId !== undefined) {
    m = await readManifest(repo, options.backupId);
    if (untilLsn !== undefined && BigInt(m.endLsn) > untilLsn) throw new KvError('RESTORE_TARGET_UNREACHABLE', `backup ${m.id} ends at LSN ${m.endLsn}, after ${untilLsn}: pick an older backup`);
    if (untilMs !== undefined && m.endTimeMs > untilMs) throw new KvError('RESTORE_TARGET_UNREACHABLE', `backup ${m.id} ends at ${new Date(m.endTimeMs).toISOString()}, after the target time: pick an older backup`);
  } else {
    m = pickBackup(contents.backups, untilLsn, untilMs);
  }
  const redo = BigInt(m.startLsn);
  const endLsn = BigInt(m.endLsn);
  const tmp = `${target}.restoring-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'wal'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(tmp, 'base'), { mode: 0o700 });
  const out = new SegmentWriter(path.join(tmp, 'wal'), options.walSegmentBytes ?? 64 * 1024 * 1024);
  const result: RestoreResult = { backupId: m.id, dir: target, startLsn: redo, lastLsn: redo - 1n, stoppedBy: 'end', archiveChunks: 0, droppedAfterLastMarker: 0, gapAfter: null };
  try {
    // 1. The snapshot, streamed and checked.
    const snap = m.files.find((f) => f.kind === 'snapshot')!;
    const key = `${BACKUPS_PREFIX}${m.id}/${snap.path}`;
    const file = `${repo.location}: ${key}`;
    const d = new Digest();
    const sc = new SnapshotCheck(file, redo);
    const fd = fs.openSync(path.join(tmp, 'base', snapshotName(redo)), 'wx', 0o600);
    try {
      for await (const c of repo.get(key)) {
        d.update(c);
        sc.update(c);
        fs.writeSync(fd, c);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    checkDigest(file, d, snap);
    sc.finish();

    // 2. The WAL: the backup's own, then the archive's, cut at the target.
    let next = redo;
    let pending: RecordView[] = [];
    let done = false;
    const take = (r: RecordView): void => {
      if (r.lsn < next) return;
      if (untilLsn !== undefined && r.lsn > untilLsn) {
        result.stoppedBy = 'lsn';
        done = true;
        return;
      }
      next = r.lsn + 1n;
      if (untilMs === undefined || r.lsn <= endLsn) {
        for (const p of pending) out.write(p);
        pending = [];
        out.write(r);
        result.lastLsn = r.lsn;
        return;
      }
      if (r.kind === KIND_TIME && r.body.length === 8) {
        const t = Number(r.body.readBigUInt64LE(0));
        if (t > untilMs) {
          result.stoppedBy = 'time';
          done = true;
          return;
        }
        for (const p of pending) out.write(p);
        pending = [];
        out.write(r);
        result.lastLsn = r.lsn;
        return;
      }
      pending.push({ ...r, bytes: Buffer.from(r.bytes) });
    };
    let walNext = redo;
    for (const f of m.files.filter((x) => x.kind === 'wal').sort((a, b) => (BigInt(a.firstLsn!) < BigInt(b.firstLsn!) ? -1 : 1))) {
      const wfile = `${repo.location}: ${BACKUPS_PREFIX}${m.id}/${f.path}`;
      if (BigInt(f.firstLsn!) !== walNext) throw corrupt(wfile, `starts at LSN ${f.firstLsn} where ${walNext} was expected (a WAL file is missing)`);
      const buf = await readChecked(repo, m, f.path);
      for (const r of records(wfile, buf, walNext)) {
        walNext = r.lsn + 1n;
        if (!done) take(r);
      }
    }
    if (walNext <= endLsn) throw corrupt(`${repo.location}: ${BACKUPS_PREFIX}${m.id}/wal/`, `the WAL ends at LSN ${walNext - 1n} but the backup needs it through ${endLsn} (a WAL file is missing)`);
    let gapAt = '';
    if (!options.noArchive) {
      for (const c of contents.archive) {
        if (done) break;
        if (c.last < next) continue;
        if (c.first > next) {
          result.gapAfter = next - 1n;
          gapAt = `archived WAL LSN ${next}..${c.first - 1n} is missing, before ${repo.location}: ${c.key}`;
          break;
        }
        const buf = await readAll(repo, c.key);
        result.archiveChunks++;
        for (const r of records(`${repo.location}: ${c.key}`, buf, c.first)) {
          take(r);
          if (done) break;
        }
      }
    }
    result.droppedAfterLastMarker = pending.length;
    if (untilLsn !== undefined && result.lastLsn < untilLsn && result.stoppedBy !== 'lsn') {
      throw new KvError('RESTORE_TARGET_UNREACHABLE', `the backup and the archive reach LSN ${result.lastLsn}, not ${untilLsn}${result.gapAfter !== null ? ` (the archive has a gap after LSN ${result.gapAfter}: ${gapAt})` : ''}`);
    }
    out.finish();
    fsyncPath(path.join(tmp, 'wal'));
    fsyncPath(path.join(tmp, 'base'));
    // 3. control last: it names the snapshot and makes the directory a store.
    const control = path.join(tmp, 'control');
    fs.writeFileSync(control, encodeControl({ catalogVersion: m.catalogVersion, redoLsn: redo, checkpointTimeMs: m.checkpointTimeMs }), { mode: 0o600 });
    fsyncPath(control);
    fsyncPath(tmp);
    checkRestoreTarget(target);
    fs.renameSync(tmp, target);
    fsyncPath(path.dirname(target));
    return result;
  } catch (err) {
    out.abort();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw toKvError(err);
  }
}
