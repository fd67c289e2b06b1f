/**
 * Small helpers shared by the pure-TS engine's files: engine errors with a string `code`
 * (the codes of ts/errors.ts; the store wraps them into KvError) and directory fsyncs.
 */
import fs from 'node:fs';

export function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** fsync of a directory, so a created, renamed or removed name in it is durable. */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fd = await fs.promises.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Cuts `file` to `size` bytes and fsyncs it. */
export function truncateFileSync(file: string, size: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
