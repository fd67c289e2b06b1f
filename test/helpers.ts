/** Shared test helpers. ENGINES: which engines every suite runs under (both by default). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type EngineName = 'native' | 'js';

export const ENGINES = (process.env.KVSTORE_TEST_ENGINES ?? 'native,js').split(',') as EngineName[];
/** The repository root (this file runs from dist/test/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DURABILITIES = ['always', 'interval', 'none'] as const;

const made: string[] = [];

/** A fresh empty directory under the OS temp dir, removed at process exit. */
export function tempDir(tag = 'kv'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kvstore-${tag}-`));
  made.push(dir);
  return dir;
}

process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** Expects `fn` to throw or reject with a KvError of `code`. */
export async function rejectsWith(code: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const got = (err as { code?: unknown }).code;
    if (got !== code) throw new Error(`expected error code ${code}, got ${String(got)}: ${(err as Error).message}`);
    return;
  }
  throw new Error(`expected error code ${code}, but nothing was thrown`);
}
