/**
 * Online base backup: the newest checkpoint's snapshot plus the WAL from its redo LSN to
 * the flushed LSN read at the start, copied into a repository while reads and writes go
 * on. The snapshot and WAL are pinned the way a standby's bootstrap pins them
 * (openBaseBackup in ts/replication/wal-sender.ts: the snapshot's fd stays readable if a
 * checkpoint unlinks it; retainWal keeps every segment from the redo LSN). Files stream in
 * chunks, hashed as they pass; manifest.json goes last, so an interrupted backup has none
 * and does not exist for list, verify or restore.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { KvError, toKvError } from '../errors.js';
import { FORMAT_VERSION, segmentName, snapshotName } from '../engine/format.js';
import type { ReplicationPort } from '../replication/port.js';
import { openBaseBackup, lastLsn } from '../replication/wal-sender.js';
import { readHistory } from '../replication/history-file.js';
import { Digest } from './checks.js';
import { BACKUPS_PREFIX, MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest, type ManifestFile, newBackupId } from './manifest.js';
import { type Location, type Repo, type S3Settings, openRepo } from './repo.js';

const readFd = promisify(fs.read);
const CHUNK = 4 << 20;
/** WAL read per call (and the largest WAL file a backup holds, below). */
const WAL_READ = 4 << 20;
export const BACKUP_WAL_FILE_BYTES = 64 << 20;

/** What createBackup needs of an open store (Store satisfies it). */
export interface BackupSource {
  checkpoint(): Promise<{ redoLsn: bigint }>;
  _replication(): ReplicationPort;
}

export interface BackupOptions {
  /** Run a checkpoint first, so the backup's WAL part is short (default true). */
  checkpoint?: boolean;
  s3?: S3Settings;
  /**
   * Read at most this many bytes per second (default: no limit), so a backup leaves disk
   * bandwidth to the store's own WAL fdatasyncs.
   */
  maxBytesPerSecond?: number;
  /** Largest WAL file in the backup (default 64 MiB; tests make it small to get several). */
  walFileBytes?: number;
  /** Test hook: called after each file is stored (a test kills the process here). */
  onFile?: (path: string) => void;
}

/** Sleeps as needed to keep the bytes copied since `start` at or under `rate` per second. */
export class Throttle {
  #bytes = 0;
  readonly #start = performance.now();

  constructor(private readonly rate: number | undefined) {
    if (rate !== undefined && (!Number.isFinite(rate) || rate <= 0)) throw new KvError('INVALID_ARGUMENT', 'maxBytesPerSecond must be a positive number');
  }

  async pass(bytes: number): Promise<void> {
    this.#bytes += bytes;
    if (this.rate === undefined) return;
    const ahead = (this.#bytes / this.rate) * 1000 - (performance.now() - this.#start);
    if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
  }
}

async function* snapshotChunks(fd: number, size: number, digest: Digest, throttle: Throttle): AsyncGenerator<Buffer> {
  // One read ahead: the next chunk is read while the consumer writes this one.
  const readAt = async (off: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - off));
    const { bytesRead } = await readFd(fd, buf, 0, buf.length, off);
    if (bytesRead <= 0) throw new KvError('IO_ERROR', `snapshot ended after ${off} of ${size} bytes`);
    return buf.subarray(0, bytesRead);
  };
  let off = 0;
  let next: Promise<Buffer> | null = size > 0 ? readAt(0) : null;
  while (next) {
    const chunk = await next;
    off += chunk.length;
    next = off < size ? readAt(off) : null;
    next?.catch(() => undefined); // awaited on the next turn; never an unhandled rejection
    digest.update(chunk);
    yield chunk;
    await throttle.pass(chunk.length);
  }
}

/** Creates a base backup of `store` in `location`; resolves with its manifest. */
export async function createBackup(store: BackupSource, location: Location, options: BackupOptions = {}): Promise<Manifest> {
  const repo: Repo = await openRepo(location, options.s3);
  const throttle = new Throttle(options.maxBytesPerSecond);
  const port = store._replication();
  // A store that never checkpointed has no snapshot to copy: make one even when asked not to.
  if (options.checkpoint !== false || !fs.existsSync(path.join(port.dir, 'control'))) await store.checkpoint();
  const started = new Date();
  const base = openBaseBackup(port);
  const id = newBackupId(started, randomBytes(3).toString('hex'));
  const dir = `${BACKUPS_PREFIX}${id}/`;
  const files: ManifestFile[] = [];
  const stored: string[] = [];
  const redo = BigInt(base.begin.redoLsn);
  const endLsn = port.positions().flushedLsn;
  const endTimeMs = Date.now();
  try {
    try {
      const snap = snapshotName(redo);
      const d = new Digest();
      await repo.put(dir + snap, snapshotChunks(base.fd, base.begin.snapshotBytes, d, throttle));
      stored.push(dir + snap);
      files.push({ path: snap, kind: 'snapshot', bytes: d.bytes, sha256: d.hex() });
      options.onFile?.(snap);
    } finally {
      fs.closeSync(base.fd);
    }
    // The WAL from redo through endLsn, in files of at most BACKUP_WAL_FILE_BYTES.
    let next = redo;
    while (next <= endLsn) {
      const first = next;
      const d = new Digest();
      let last = first - 1n;
      const limit = options.walFileBytes ?? BACKUP_WAL_FILE_BYTES;
      const chunks = async function* (): AsyncGenerator<Buffer> {
        while (next <= endLsn && d.bytes < limit) {
          let recs = await port.readWal(next, Math.min(WAL_READ, limit - d.bytes));
          if (recs.length === 0) throw new KvError('INTERNAL', `the WAL returned nothing at LSN ${next} (flushed ${endLsn})`);
          recs = cutAfter(recs, endLsn);
          const l = lastLsn(recs);
          d.update(recs);
          last = l;
          next = l + 1n;
          yield recs;
          await throttle.pass(recs.length);
        }
      };
      const p = `wal/${segmentName(first)}`;
      await repo.put(dir + p, chunks());
      stored.push(dir + p);
      files.push({ path: p, kind: 'wal', bytes: d.bytes, sha256: d.hex(), firstLsn: first.toString(), lastLsn: last.toString() });
      options.onFile?.(p);
    }
  } catch (err) {
    base.release();
    await repo.delete(stored).catch(() => undefined);
    throw toKvError(err);
  }
  base.release();
  const history = readHistory(port.dir);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    id,
    createdAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    startLsn: redo.toString(),
    endLsn: (endLsn < redo - 1n ? redo - 1n : endLsn).toString(),
    endTimeMs,
    catalogVersion: base.begin.catalogVersion,
    checkpointTimeMs: base.begin.checkpointTimeMs,
    systemId: history?.systemId ?? null,
    timeline: history?.entries.at(-1)?.id ?? null,
    source: { host: hostname(), dataDir: port.dir, engine: port.engineKind },
    dataFormatVersion: FORMAT_VERSION,
    totalBytes: files.reduce((s, f) => s + f.bytes, 0),
    files,
  };
  await repo.put(`${dir}manifest.json`, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  return manifest;
}

/** The records of `recs` up to and including `last`. */
function cutAfter(recs: Buffer, last: bigint): Buffer {
  let at = 0;
  while (at < recs.length) {
    const lsn = recs.readBigUInt64LE(at + 8);
    if (lsn > last) return recs.subarray(0, at);
    at += 17 + recs.readUInt32LE(at + 4);
  }
  return recs;
}
