/**
 * A backup repository: where base backups and archived WAL live, a directory or an S3
 * bucket/prefix behind one small object-store interface. Objects are written whole or not
 * at all (a directory writes a temp file, fsyncs and renames it; S3 publishes an object only
 * when its upload completes), so a reader never sees half an object. Layout (docs/backup.md):
 *
 *   backups/<id>/manifest.json          written last: a backup exists iff its manifest does
 *   backups/<id>/snapshot-<redo>.snap
 *   backups/<id>/wal/<first lsn>.wal
 *   wal/<first lsn>-<last lsn>.wal      the continuous archive
 */
import path from 'node:path';
import { KvError } from '../errors.js';

export interface RepoObject {
  key: string;
  size: number;
}

export interface Repo {
  /** For messages: the directory or s3://bucket/prefix (never credentials). */
  readonly location: string;
  /** Writes `key` whole: readers see the old object (or none) until it is complete. */
  put(key: string, body: Buffer | AsyncIterable<Buffer>): Promise<void>;
  /** The object's bytes in chunks; BACKUP_CORRUPT naming the key when it is missing. */
  get(key: string): AsyncIterable<Buffer>;
  /** Every object under `prefix` (recursively), in key order. */
  list(prefix: string): Promise<RepoObject[]>;
  /** Removes the objects (missing ones are ignored). */
  delete(keys: readonly string[]): Promise<void>;
}

/** Settings for s3:// locations; credentials come from the standard AWS chain, never from here. */
export interface S3Settings {
  /** Endpoint of an S3-compatible store (default: AWS for the region). Env: KVSTORE_S3_ENDPOINT. */
  endpoint?: string;
  /** Path-style addressing (bucket in the path); default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Default: AWS_REGION, else us-east-1. */
  region?: string;
}

export type Location = string | Repo;

export function isS3(location: string): boolean {
  return location.startsWith('s3://');
}

/** Opens a repository: `s3://bucket/prefix` (S3, loaded on demand) or a directory path. */
export async function openRepo(location: Location, s3: S3Settings = {}): Promise<Repo> {
  if (typeof location !== 'string') return location;
  if (location.length === 0) throw new KvError('INVALID_ARGUMENT', 'a backup location must not be empty');
  if (isS3(location)) {
    const { S3Repo } = await import('./s3-repo.js');
    return S3Repo.open(location, s3);
  }
  const { DirRepo } = await import('./dir-repo.js');
  return new DirRepo(path.resolve(location));
}

/** Reads a whole (small) object. */
export async function readAll(repo: Repo, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of repo.get(key)) parts.push(c);
  return Buffer.concat(parts);
}

export function missing(repo: Repo, key: string, cause?: unknown): KvError {
  return new KvError('BACKUP_CORRUPT', `${repo.location}: ${key} is missing`, cause === undefined ? undefined : { cause });
}
