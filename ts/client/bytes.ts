/** Keys, values and bounds as the client sends them. */
import { KvError } from '../errors.js';

/** A key, value or bound as bytes; the embedded store's type rule (string as UTF-8, Buffer, Uint8Array). */
export function bytes(v: unknown, what: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new KvError('INVALID_ARGUMENT', `${what} must be a string, Buffer or Uint8Array`);
}
