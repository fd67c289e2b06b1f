/**
 * Key and value encodings (issue 20): what open()'s `keyEncoding` / `valueEncoding` name, the
 * types they give `Store<V, K>`, and the codecs the store applies in TypeScript before a key
 * or value reaches the engine and after bytes come back. The engine only ever sees bytes.
 *
 * `binary` (the default) is no codec at all (null): the store then takes the same path it took
 * before encodings existed, with one null check per call, so the binary path does not slow down.
 * `msgpack` needs the optional peer dependency msgpackr, imported only when a store asks for it.
 */
import { KvError } from '../errors.js';
import type { Key, Value } from './keys.js';

/** A custom encoding: how a T becomes bytes (or a string, stored as UTF-8) and back. */
export interface Encoding<T> {
  /** Throwing here fails the call with INVALID_ARGUMENT (the error as its cause); nothing is written. */
  encode(value: T): Uint8Array | string;
  /** Throwing here fails the read with DECODE_ERROR (the error as its cause). */
  decode(bytes: Buffer): T;
}

export type EncodingName = 'utf8' | 'binary' | 'json' | 'msgpack';

/**
 * The encodings open() accepts for keys or values typed T: `binary` only where a Buffer is a T,
 * `utf8` only where a string is, `json` and `msgpack` for any T but Buffer (their types are what
 * you say they are), or a custom Encoding<T>. So OpenOptions (T = Buffer) takes only `binary`
 * or a custom Encoding<Buffer>, and a store opened with it is a Store<Buffer>.
 */
export type EncodingFor<T> =
  | Encoding<T>
  | ([T] extends [Buffer] ? never : 'json' | 'msgpack')
  | ([Buffer] extends [T] ? 'binary' : never)
  | ([string] extends [T] ? 'utf8' : never);

/** The type an encoding option decodes to: what get() returns for values, scans for keys. */
export type DecodedBy<E> = E extends undefined | 'binary'
  ? Buffer
  : E extends 'utf8'
    ? string
    : E extends Encoding<infer T>
      ? T
      : unknown;

/**
 * What the store takes for a key decoded as K: with binary keys, a string (as UTF-8) or bytes,
 * as before encodings existed; otherwise a K.
 */
export type KeyInput<K> = [K] extends [Buffer] ? Key : K;
/** What the store takes for a value decoded as V (as KeyInput, for values). */
export type ValueInput<V> = [V] extends [Buffer] ? Value : V;

/**
 * A resolved encoding. `encode` null: the input goes to the store's key/value checks as is (a
 * string or bytes); `decode` null: the engine's Buffer is the result.
 */
export interface Codec {
  readonly name: string;
  readonly encode: ((v: unknown) => Key) | null;
  readonly decode: ((b: Buffer) => unknown) | null;
}

/** The default: no codec (strings in as UTF-8, Buffers out). */
export const BINARY: Codec = { name: 'binary', encode: null, decode: null };
const UTF8: Codec = { name: 'utf8', encode: null, decode: (b) => b.toString('utf8') };
const JSON_CODEC: Codec = {
  name: 'json',
  encode: (v) => {
    const s = JSON.stringify(v);
    if (s === undefined) throw new TypeError(`${typeof v} has no JSON form`);
    return s;
  },
  decode: (b) => JSON.parse(b.toString('utf8')) as unknown,
};

/** Imported on first use: msgpackr is an optional peer dependency. */
let msgpack: Promise<Codec> | undefined;
function loadMsgpack(): Promise<Codec> {
  msgpack ??= import('msgpackr').then(
    ({ Packr }) => {
      // Plain MessagePack maps (no msgpackr record extension), so other MessagePack readers can
      // read what is stored.
      const packr = new Packr({ useRecords: false });
      return { name: 'msgpack', encode: (v: unknown) => packr.pack(v), decode: (b: Buffer) => packr.unpack(b) as unknown };
    },
    (err: unknown) => {
      msgpack = undefined;
      throw new KvError('ENCODING_UNAVAILABLE', "the 'msgpack' encoding needs the msgpackr package: npm install msgpackr", { cause: err });
    },
  );
  return msgpack;
}

const BAD_ENCODING = "must be 'utf8', 'binary', 'json', 'msgpack' or an object with encode and decode functions";

/** Checks an option without loading anything (open() validates every option before any I/O). */
export function checkEncodingOption(option: unknown, what: 'keyEncoding' | 'valueEncoding'): void {
  if (option === undefined || option === 'binary' || option === 'utf8' || option === 'json' || option === 'msgpack') return;
  if (typeof option === 'object' && option !== null) {
    const o = option as Partial<Encoding<unknown>>;
    if (typeof o.encode === 'function' && typeof o.decode === 'function') return;
  }
  throw new KvError('INVALID_ARGUMENT', `${what} ${BAD_ENCODING}`);
}

/**
 * The codec for an open() option that checkEncodingOption accepted (undefined = binary).
 * Throws ENCODING_UNAVAILABLE for 'msgpack' when msgpackr is not installed.
 */
export async function resolveEncoding(option: unknown): Promise<Codec> {
  switch (option) {
    case undefined:
    case 'binary':
      return BINARY;
    case 'utf8':
      return UTF8;
    case 'json':
      return JSON_CODEC;
    case 'msgpack':
      return loadMsgpack();
  }
  const custom = option as Encoding<unknown>;
  return { name: 'custom', encode: (v) => custom.encode(v), decode: (b) => custom.decode(b) };
}

/** `v` encoded by `c`; an encoder's error becomes INVALID_ARGUMENT (nothing was written). */
export function encodeWith(c: Codec, v: unknown, what: 'key' | 'value'): Key {
  if (c.encode === null) return v as Key;
  try {
    return c.encode(v);
  } catch (err) {
    throw new KvError('INVALID_ARGUMENT', `the ${what} cannot be encoded as ${c.name}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/** Stored bytes decoded by `c`; a decoder's error becomes DECODE_ERROR. */
export function decodeWith(c: Codec, b: Buffer, what: 'key' | 'value'): unknown {
  if (c.decode === null) return b;
  try {
    return c.decode(b);
  } catch (err) {
    throw new KvError('DECODE_ERROR', `a stored ${what} cannot be decoded as ${c.name}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
