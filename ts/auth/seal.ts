/**
 * AES-256-GCM boxes for the catalog's secrets (signing keys, user metadata). The master key
 * comes from configuration (master-key.ts) and never reaches the store; each box has a fresh
 * 96-bit IV, names the master key that sealed it by its key id (`mk`), and is bound to its
 * record by the associated data (`signing_key:<kid>`, `user:<name>`), so a box copied onto
 * another record does not open.
 */
import crypto from 'node:crypto';
import { KvError } from '../errors.js';
import type { SealedBox } from '../catalog/schema.js';

/** A 32-byte key: a Buffer, or a string of 64 hex digits or 43-44 base64/base64url characters. */
export function parseMasterKey(key: Buffer | string): Buffer {
  let k: Buffer;
  if (Buffer.isBuffer(key)) k = key;
  else if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) k = Buffer.from(key, 'hex');
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]{43}=?$/.test(key)) k = Buffer.from(key.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  else throw new KvError('INVALID_ARGUMENT', 'masterKey must be 32 bytes: a Buffer, 64 hex digits, or base64');
  if (k.length !== 32) throw new KvError('INVALID_ARGUMENT', `masterKey must be 32 bytes, got ${k.length}`);
  return Buffer.from(k);
}

/**
 * The key id of a master key: 64 bits of HMAC-SHA256(key, label). It names the key in the
 * catalog and in every box without telling anything about it (the key has 256 random bits).
 */
export function keyId(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('kvstore master key id v1').digest('hex').slice(0, 16);
}

export function seal(key: Buffer, context: string, plaintext: Buffer): SealedBox {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { v: 2, mk: keyId(key), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') };
}

/** MASTER_KEY_MISMATCH when the box names another master key; AUTH_FAILED when it does not open (wrong key for a v1 box, or altered). */
export function open(key: Buffer, context: string, box: SealedBox): Buffer {
  if (box.mk !== undefined && box.mk !== keyId(key)) {
    throw new KvError('MASTER_KEY_MISMATCH', `the box was sealed under master key ${box.mk}, not ${keyId(key)}`);
  }
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'));
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(Buffer.from(box.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(box.ct, 'base64')), d.final()]);
  } catch (err) {
    throw new KvError('AUTH_FAILED', `the sealed box of ${context} does not open with this master key (wrong key, or the box was altered)`, { cause: err });
  }
}
