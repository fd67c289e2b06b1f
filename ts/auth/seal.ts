/**
 * AES-256-GCM for user metadata: the master key comes from configuration and never reaches
 * the store; each box has a fresh 96-bit IV and is bound to its user by the associated data,
 * so a box copied onto another user does not open.
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

export function seal(key: Buffer, context: string, plaintext: Buffer): SealedBox {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') };
}

export function open(key: Buffer, context: string, box: SealedBox): Buffer {
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'));
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(Buffer.from(box.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(box.ct, 'base64')), d.final()]);
  } catch (err) {
    throw new KvError('AUTH_FAILED', 'the metadata does not open with this master key (wrong key, or the box was altered)', { cause: err });
  }
}
