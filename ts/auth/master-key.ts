/**
 * Where the master key comes from: a file, an environment variable or a command (as
 * PostgreSQL's ssl_passphrase_command), never a command-line flag (flags show in `ps` and
 * in shell history). The key is 32 bytes: 64 hex digits or base64 text (surrounding white
 * space ignored), or a file of exactly 32 raw bytes. Every failure is MASTER_KEY_UNAVAILABLE
 * and never quotes what was read.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { KvError } from '../errors.js';
import { parseMasterKey } from './seal.js';

export type MasterKeySource =
  | { file: string }
  | { env: string }
  /** Run with /bin/sh -c; its standard output is the key. Standard error goes to ours (for prompts and messages). */
  | { command: string; timeoutMs?: number };

const MAX_KEY_TEXT = 4096;

function unavailable(what: string, cause?: unknown): KvError {
  return new KvError('MASTER_KEY_UNAVAILABLE', `master key: ${what}`, cause === undefined ? undefined : { cause });
}

function parse(bytes: Buffer, where: string): Buffer {
  const text = bytes.toString('utf8').trim();
  try {
    return bytes.length === 32 && !/^[0-9A-Za-z+/_=-]+$/.test(text) ? Buffer.from(bytes) : parseMasterKey(text);
  } catch {
    throw unavailable(`${where} does not hold 32 bytes (64 hex digits or base64)`);
  }
}

/**
 * Reads the master key from `source`. A file must be a regular file that neither group nor
 * others may read or write (mode 0600 or stricter), as PostgreSQL asks of its key files,
 * unless it belongs to root and the group may only read it (0640, for a key managed by root).
 */
export async function loadMasterKey(source: MasterKeySource): Promise<Buffer> {
  if (typeof source !== 'object' || source === null) throw new KvError('INVALID_ARGUMENT', 'a master key source is { file } | { env } | { command }');
  if ('file' in source) {
    let st;
    try {
      st = await fs.stat(source.file);
    } catch (err) {
      throw unavailable(`cannot read ${source.file}`, err);
    }
    if (!st.isFile()) throw unavailable(`${source.file} is not a regular file`);
    const loose = st.uid === 0 ? st.mode & 0o037 : st.mode & 0o077;
    if (loose !== 0) throw unavailable(`${source.file} has mode ${(st.mode & 0o777).toString(8)}; it must be 0600 (or 0640 owned by root)`);
    if (st.size > MAX_KEY_TEXT) throw unavailable(`${source.file} is larger than ${MAX_KEY_TEXT} bytes`);
    return parse(await fs.readFile(source.file), source.file);
  }
  if ('env' in source) {
    const v = process.env[source.env];
    if (v === undefined || v === '') throw unavailable(`the environment variable ${source.env} is not set`);
    return parse(Buffer.from(v, 'utf8'), `the environment variable ${source.env}`);
  }
  if ('command' in source) {
    const timeout = source.timeoutMs ?? 10_000;
    const out = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile('/bin/sh', ['-c', source.command], { encoding: 'buffer', timeout, maxBuffer: MAX_KEY_TEXT, windowsHide: true }, (err, stdout) => {
        if (err) reject(unavailable(`the command failed (${(err as { code?: unknown }).code ?? (err as { signal?: unknown }).signal ?? 'error'})`, err));
        else resolve(stdout);
      });
      child.stdin?.end();
      child.stderr?.pipe(process.stderr, { end: false });
    });
    return parse(out, 'the command output');
  }
  throw new KvError('INVALID_ARGUMENT', 'a master key source is { file } | { env } | { command }');
}
