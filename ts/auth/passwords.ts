/**
 * Passwords: argon2id hashes (PHC strings) computed on libuv's thread pool, never on the JS
 * thread, with parameters from `_sys.settings:auth` (OWASP's minimum or stronger).
 * @node-rs/argon2 (RustCrypto's argon2 behind N-API) ships prebuilt per-platform packages, so
 * installing needs no compiler; its verify compares in constant time.
 */
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { KvError } from '../errors.js';
import type { Argon2Settings, AuthSettings } from '../catalog/schema.js';

/** Longer passwords are refused: hashing cost must not be the caller's to choose. */
export const MAX_PASSWORD_BYTES = 1024;

export function checkPassword(password: unknown, settings: AuthSettings): string {
  if (typeof password !== 'string') throw new KvError('INVALID_ARGUMENT', 'password must be a string');
  const chars = [...password].length;
  if (chars < settings.minPasswordLength) {
    throw new KvError('PASSWORD_POLICY', `the password has ${chars} characters; the minimum is ${settings.minPasswordLength}`);
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new KvError('PASSWORD_POLICY', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  return password;
}

export function hashPassword(password: string, params: Argon2Settings): Promise<string> {
  return hash(password, { algorithm: Algorithm.Argon2id, memoryCost: params.memoryKiB, timeCost: params.iterations, parallelism: params.parallelism });
}

/** Constant-time comparison inside argon2's verify. A malformed hash verifies as false. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** Whether a stored hash is not argon2id or uses weaker parameters than `params` (then login rehashes it). */
export function needsRehash(phc: string, params: Argon2Settings): boolean {
  const m = /^\$argon2id\$v=19\$([^$]+)\$/.exec(phc);
  if (!m) return true;
  const got = Object.fromEntries(m[1]!.split(',').map((kv) => kv.split('=') as [string, string]));
  return Number(got.m) < params.memoryKiB || Number(got.t) < params.iterations || Number(got.p) < params.parallelism;
}
