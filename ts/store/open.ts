/**
 * open(): resolves the options, picks the engine (native, or the pure-TS one when the addon
 * does not load and engine is 'auto'), loads the encodings, opens the engine and wraps it in a
 * Store; a replica also starts following its primary. Split from store.ts, whose Store class
 * is the data API.
 */
import { loadNative } from '../binding.js';
import { JsEngine } from '../engine/js/js-engine.js';
import { NativeEngine } from '../engine/native.js';
import type { Engine } from '../engine/types.js';
import { toKvError } from '../errors.js';
import { type DecodedBy, resolveEncoding } from './encoding.js';
import { type OpenOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Store } from './store.js';

/** Opens the engine for opts; its durable callback reaches the store once `store.ref` is set. */
export function openEngine(kind: 'native' | 'js', opts: ResolvedOptions, store: { ref?: Store<unknown, unknown> }): Engine {
  const onDurable = (lsn: bigint, code?: string, message?: string): void => store.ref?._onDurable(lsn, code, message);
  if (kind === 'native') return NativeEngine.open(loadNative(), opts.config, onDurable, opts.onLog);
  return JsEngine.open(opts.config, onDurable, opts.onLog);
}

/** What a store opened with options O decodes an encoding option's part to (Buffer when absent). */
type DecodedPart<O, P extends 'valueEncoding' | 'keyEncoding'> = P extends keyof O ? DecodedBy<O[P]> : Buffer;

/** Unknown option names, each typed never. */
type NoExtraKeys<O> = { readonly [P in Exclude<keyof O, keyof OpenOptions<unknown, unknown>>]: never };

/**
 * Opens (creating or recovering) the store in options.dir. The store's types follow its
 * encodings: `open({ dir, valueEncoding: 'utf8' })` is a Store<string>; or name them,
 * `open<User>({ dir, valueEncoding: 'json' })`. (NoExtraKeys: a generic parameter loses
 * TypeScript's excess-property check, so a misspelled option such as `engin` would type-check;
 * typing every unknown key never keeps it a type error, as the runtime's UNKNOWN_OPTION.)
 */
export function open<const O extends OpenOptions<unknown, unknown>>(options: O & NoExtraKeys<O>): Promise<Store<DecodedPart<O, 'valueEncoding'>, DecodedPart<O, 'keyEncoding'>>>;
export function open<V, K = Buffer>(options: OpenOptions<V, K>): Promise<Store<V, K>>;
export async function open(options: OpenOptions<unknown, unknown>): Promise<Store<unknown, unknown>> {
  const opts = resolveOptions(options);
  const keys = await resolveEncoding(opts.keyEncoding);
  const values = await resolveEncoding(opts.valueEncoding);
  let kind: 'native' | 'js' = opts.engine === 'js' ? 'js' : 'native';
  if (opts.engine === 'auto') {
    try {
      loadNative();
    } catch (err) {
      kind = 'js';
      opts.onLog('warn', `native engine unavailable, using the pure-TS engine: ${(err as Error).message}`);
    }
  }
  const holder: { ref?: Store<unknown, unknown> } = {};
  let engine: Engine;
  try {
    engine = openEngine(kind, opts, holder);
  } catch (err) {
    throw toKvError(err);
  }
  holder.ref = new Store<unknown, unknown>(engine, kind, opts, keys, values);
  if (opts.replica) {
    // Loaded only for replicas: a plain embedded store never loads the replication client.
    const { startReplica } = await import('../replication/replica.js');
    startReplica(holder.ref, opts.replica, opts.onLog);
  }
  return holder.ref;
}
