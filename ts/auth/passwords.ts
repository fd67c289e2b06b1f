/**
 * Passwords: argon2id hashes (PHC strings) computed on libuv's thread pool, never on the JS
 * thread, with parameters from `_sys.settings:auth` (OWASP's minimum or stronger).
 */
import * as argon2 from 'argon2';
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

const options = (p: Argon2Settings): argon2.HashOptions => ({
  type: argon2.argon2id, memoryCost: p.memoryKiB, timeCost: p.iterations, parallelism: p.parallelism,
});

export function hashPassword(password: string, params: Argon2Settings): Promise<string> {
  return argon2.hash(password, options(params));
}

/** Constant-time comparison inside argon2's verify. A malformed hash verifies as false. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function needsRehash(hash: string, params: Argon2Settings): boolean {
  try {
    return argon2.needsRehash(hash, { memoryCost: params.memoryKiB, timeCost: params.iterations, parallelism: params.parallelism });
  } catch {
    return true;
  }
}
