/**
 * A backup repository in a local (or mounted) directory. Each object is written to a
 * temp name beside its final one, fsynced, renamed into place, and the directory fsynced:
 * a crash leaves the old object or the new one, plus at worst a `*.tmp-*` file that
 * list() never shows and prune removes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KvError } from '../errors.js';
import { type Repo, type RepoObject, missing } from './repo.js';

const TMP_MARK = '.tmp-';
const READ_CHUNK = 1 << 20;
const SYNC_EVERY = 4 << 20;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class DirRepo implements Repo {
  constructor(readonly location: string) {}

  #file(key: string): string {
    if (key.length === 0 || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new KvError('INVALID_ARGUMENT', `bad object key ${JSON.stringify(key)}`);
    }
    return path.join(this.location, ...key.split('/'));
  }

  async put(key: string, body: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const file = this.#file(key);
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    const fh = await fs.promises.open(tmp, 'wx', 0o600);
    try {
      try {
        if (Buffer.isBuffer(body)) {
          await fh.write(body, 0, body.length);
        } else {
          // Synced every SYNC_EVERY bytes: the writeback comes in small steps instead of one
          // burst at the end that would stall the store's own WAL fdatasyncs on the same disk.
          let unsynced = 0;
          for await (const chunk of body) {
            await fh.write(chunk, 0, chunk.length);
            unsynced += chunk.length;
            if (unsynced >= SYNC_EVERY) {
              await fh.datasync();
              unsynced = 0;
            }
          }
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err instanceof KvError ? err : new KvError('IO_ERROR', `${this.location}: writing ${key}: ${(err as Error).message}`, { cause: err });
    }
    await fsyncDir(dir);
  }

  async *get(key: string): AsyncIterable<Buffer> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.#file(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(this, key, err);
      throw new KvError('IO_ERROR', `${this.location}: reading ${key}: ${(err as Error).message}`, { cause: err });
    }
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) break;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  async list(prefix: string): Promise<RepoObject[]> {
    const out: RepoObject[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let names: fs.Dirent[];
      try {
        names = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw new KvError('IO_ERROR', `${this.location}: listing ${rel}: ${(err as Error).message}`, { cause: err });
      }
      for (const d of names) {
        const key = rel === '' ? d.name : `${rel}/${d.name}`;
        if (d.isDirectory()) await walk(path.join(dir, d.name), key);
        else if (d.isFile() && !d.name.includes(TMP_MARK) && key.startsWith(prefix)) {
          out.push({ key, size: (await fs.promises.stat(path.join(dir, d.name))).size });
        }
      }
    };
    // Walk from the deepest directory the prefix names whole.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    await walk(base === '' ? this.location : path.join(this.location, ...base.split('/')), base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const k of keys) {
      const f = this.#file(k);
      await fs.promises.rm(f, { force: true });
      dirs.add(path.dirname(f));
    }
    // Leave no empty backup directories behind (deepest first; a non-empty one stays).
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      for (let cur = d; cur.startsWith(this.location + path.sep); cur = path.dirname(cur)) {
        try {
          const left = await fs.promises.readdir(cur);
          for (const n of left) if (n.includes(TMP_MARK)) await fs.promises.rm(path.join(cur, n), { force: true });
          await fs.promises.rmdir(cur);
        } catch {
          break;
        }
      }
    }
  }

  /** Backup directories with leftovers of an interrupted write (temp files): prune removes them. */
  async tempFiles(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let names: fs.Dirent[];
      try {
        names = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const d of names) {
        const key = rel === '' ? d.name : `${rel}/${d.name}`;
        if (d.isDirectory()) await walk(path.join(dir, d.name), key);
        else if (d.name.includes(TMP_MARK) && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(this.location, '');
    return out;
  }
}
