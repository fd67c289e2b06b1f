/**
 * Passwords: argon2id hashes (PHC strings) computed on libuv's thread pool, never on the JS
 * thread, with parameters from `_sys.settings:auth` (OWASP's minimum or stronger).
 * @node-rs/argon2 (RustCrypto's argon2 behind N-API) ships prebuilt per-platform packages, so
 * installing needs no compiler; its verify compares in constant time.
 *
 * The addon is loaded on the first hash or verify, not when this module is imported: an
 * embedded user who never touches auth (`import { open } from 'kvstore-plus-plus'`) loads no
 * argon2 (issue 20, "light embedded install"; scripts/import-cost.mjs measures it).
 */
import type * as Argon2 from '@node-rs/argon2';
import { KvError } from '../errors.js';
import { importOptional } from '../optional-package.js';
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

let argon2: Promise<typeof Argon2> | undefined;
/**
 * The addon, imported once; a failed import is retried on the next call, not cached. It is an
 * optional peer of this package: absent, the call fails with PACKAGE_UNAVAILABLE.
 */
function loadArgon2(): Promise<typeof Argon2> {
  argon2 ??= importOptional('password hashing (AuthService)', ['@node-rs/argon2'], () => import('@node-rs/argon2')).catch((err: unknown) => {
    argon2 = undefined;
    throw err;
  });
  return argon2;
}

/** argon2's `Algorithm.Argon2id` (a const enum: its value, so the type-only import stays type-only). */
const ARGON2ID = 2 satisfies Argon2.Algorithm.Argon2id;

export async function hashPassword(password: string, params: Argon2Settings): Promise<string> {
  const { hash } = await loadArgon2();
  return hash(password, { algorithm: ARGON2ID, memoryCost: params.memoryKiB, timeCost: params.iterations, parallelism: params.parallelism });
}

/** Constant-time comparison inside argon2's verify. A malformed hash verifies as false. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  const { verify } = await loadArgon2();
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
