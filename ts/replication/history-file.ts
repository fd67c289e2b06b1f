/**
 * `<data>/timeline.json`: the node's replication identity (system id) and timeline history
 * (timeline.ts). Written whole and atomically (temp file, fsync, rename, fsync of the
 * directory), so a crash leaves the old file or the new one. Absent: the directory never
 * took part in replication.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KvError } from '../errors.js';
import { historyFromJson, historyToJson, type History } from './timeline.js';

export const HISTORY_FILE = 'timeline.json';

export function readHistory(dir: string): History | null {
  const file = path.join(dir, HISTORY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KvError('IO_ERROR', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KvError('CORRUPT', `${file} is not valid JSON`);
  }
  const h = historyFromJson(json);
  if (typeof h === 'string') throw new KvError('CORRUPT', `${file}: ${h}`);
  return h;
}

export function writeHistory(dir: string, h: History): void {
  const file = path.join(dir, HISTORY_FILE);
  const tmp = `${file}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(historyToJson(h), null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch (err) {
    throw new KvError('IO_ERROR', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}
