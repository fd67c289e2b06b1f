/** Key and value conversion and validation: cheap errors never cross into the engine. */
import { KvError } from '../errors.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../engine/format.js';

export type Key = string | Uint8Array;
export type Value = string | Uint8Array;

/** Keys under this prefix belong to the system catalog. */
export const SYSTEM_PREFIX = Buffer.from('_sys.', 'latin1');
/** The first key after every key that starts with SYSTEM_PREFIX ('.' + 1 = '/'). */
export const SYSTEM_END = Buffer.from('_sys/', 'latin1');

function asBuffer(v: unknown, what: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new KvError('INVALID_ARGUMENT', `${what} must be a string, Buffer or Uint8Array`);
}

/** Byte-wise: on every read and write path, so no subarray and no call into C++. */
export function isSystemKey(k: Uint8Array): boolean {
  return k.length >= 5 && k[0] === 0x5f && k[1] === 0x73 && k[2] === 0x79 && k[3] === 0x73 && k[4] === 0x2e; // "_sys."
}

export function toKey(key: unknown, allowSystem: boolean): Buffer {
  const k = asBuffer(key, 'key');
  if (k.length === 0) throw new KvError('INVALID_ARGUMENT', 'key must not be empty');
  if (k.length > MAX_KEY_BYTES) throw new KvError('KEY_TOO_LARGE', `key is ${k.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  if (!allowSystem && isSystemKey(k)) throw new KvError('RESERVED_KEY');
  return k;
}

/** A key for the system view: it must lie under `_sys.`. */
export function toSystemKey(key: unknown): Buffer {
  const k = toKey(key, true);
  if (!isSystemKey(k)) throw new KvError('RESERVED_KEY', 'the system view only reaches keys under "_sys."');
  return k;
}

export function toValue(value: unknown): Buffer {
  const v = asBuffer(value, 'value');
  if (v.length > MAX_VALUE_BYTES) throw new KvError('VALUE_TOO_LARGE', `value is ${v.length} bytes; the limit is ${MAX_VALUE_BYTES}`);
  return v;
}

/** Optional bound for scans (may be empty, never reserved-checked: scans filter instead). */
export function toBound(v: unknown, what: string): Buffer | null {
  return v === undefined ? null : asBuffer(v, what);
}

/** The smallest key greater than every key starting with prefix; null if none exists. */
export function prefixEnd(prefix: Buffer): Buffer | null {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return null;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1]! += 1;
  return end;
}

export function compareBytes(a: Buffer | null, b: Buffer | null, nullIs: 'low' | 'high'): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === (nullIs === 'low') ? -1 : 1;
  }
  return Buffer.compare(a, b);
}
