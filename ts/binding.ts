/**
 * The one place that loads the native addon. Order: KVSTORE_NATIVE_PATH (an explicit
 * .node file), then the local build (build/Release). Prebuilt per-platform packages join
 * this list in a later issue. When nothing loads, one error says what to run and its
 * `cause` lists every attempt.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvError } from './errors.js';
import type { NativeHandle } from './engine/native.js';
import type { DurableCallback, EngineConfig, LogCallback } from './engine/types.js';

export interface NativeAddon {
  openEngine(config: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): NativeHandle;
  crc32c(buf: Uint8Array, init?: number): number;
  fdatasyncProbe(path: string, count: number, bytes: number): number;
}

const require = createRequire(import.meta.url);
/** dist/ts/binding.js → package root. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeAddon | undefined;
let failure: KvError | undefined;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (failure) throw failure;
  const candidates: string[] = [];
  if (process.env.KVSTORE_NATIVE_PATH) candidates.push(path.resolve(process.env.KVSTORE_NATIVE_PATH));
  candidates.push(path.join(root, 'build', 'Release', 'kvstore_native.node'));
  const errors: Error[] = [];
  for (const file of candidates) {
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (err) {
      errors.push(new Error(`${file}: ${(err as Error).message}`, { cause: err }));
    }
  }
  failure = new KvError(
    'NATIVE_UNAVAILABLE',
    `the native engine did not load (tried ${candidates.join(', ')}); ` +
      `build it with "npm run build:native" (needs cmake and a C++17 compiler), ` +
      `or open the store with engine: 'js' or 'auto'`,
    { cause: new AggregateError(errors, 'every attempt to load the addon failed') },
  );
  throw failure;
}
