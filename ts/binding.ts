/**
 * The one place that loads the native addon. Order:
 *   1. KVSTORE_NATIVE_PATH, an explicit .node file (when set);
 *   2. the local build, build/Release/kvstore_native.node: it exists only when someone built
 *      it on purpose (a checkout's `npm install`, `npm install --build-from-source`) or the
 *      install script built it because no prebuilt package fit this machine;
 *   3. the prebuilt platform package, @kvstore-plus-plus/native-<platform> (an optional
 *      dependency; npm installs only the one whose os/cpu/libc match), accepted only at this
 *      package's exact version: the addon's calls are internal and change between releases.
 * The first that loads wins. A local build comes before the platform package, as in
 * node-gyp-build and napi-rs's own loader: npm installs the optional platform package even
 * with --build-from-source, and a checkout must test the addon built from its own sources.
 * When none loads, one KvError (NATIVE_UNAVAILABLE) lists every attempt with its reason and
 * what to do; its `cause` is an AggregateError of the attempts. The pure-TS fallback is not
 * decided here: open() with engine 'auto' catches that error and uses the pure-TS engine,
 * engine 'native' passes it on.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvError } from './errors.js';
import type { NativeHandle } from './engine/native.js';
import type { DurableCallback, EngineConfig, LogCallback } from './engine/types.js';
import { currentHost, isPrebuilt, platformId, platformPackageName, PREBUILT_PLATFORMS } from './platform.js';

export interface NativeAddon {
  openEngine(config: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): NativeHandle;
  crc32c(buf: Uint8Array, init?: number): number;
  fdatasyncProbe(path: string, count: number, bytes: number): number;
}

/** Where an addon came from: the env override, the local build or the platform package. */
export type NativeSource = 'env' | 'package' | 'local';

export interface LoadedNative {
  addon: NativeAddon;
  source: NativeSource;
  /** The .node file that was loaded. */
  file: string;
}

export interface LoaderOptions {
  /** The package's root: its package.json, build/Release, and where resolution starts. */
  packageRoot: string;
  /** KVSTORE_NATIVE_PATH, if set. */
  envPath?: string | undefined;
  /**
   * napi-rs platform id (platform.ts), undefined when it could not be told; or a function
   * giving it, called only when the platform package is tried (detection reads a report).
   */
  platform: string | undefined | (() => string | undefined);
}

const require = createRequire(import.meta.url);
/** dist/ts/binding.js → package root. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

class AttemptFailed extends Error {}

interface Attempt {
  source: NativeSource;
  /** What was tried, as the message shows it. */
  label: string;
  load(): { addon: NativeAddon; file: string };
}

/** require() caches by path, so each file is initialised once per thread whatever the callers. */
function requireAddon(file: string): NativeAddon {
  // require() would run any other file as JavaScript.
  if (path.extname(file) !== '.node') throw new AttemptFailed('not a .node file');
  if (!fs.existsSync(file)) throw new AttemptFailed('no such file');
  return require(file) as NativeAddon;
}

/** The places to try, in order; lazily, so the platform is detected only if it is reached. */
function* attempts(opts: LoaderOptions): Generator<Attempt> {
  if (opts.envPath) {
    const file = path.resolve(opts.envPath);
    yield { source: 'env', label: `KVSTORE_NATIVE_PATH=${file}`, load: () => ({ addon: requireAddon(file), file }) };
  }
  const local = path.join(opts.packageRoot, 'build', 'Release', 'kvstore_native.node');
  yield { source: 'local', label: `local build ${local}`, load: () => ({ addon: requireAddon(local), file: local }) };
  const id = typeof opts.platform === 'function' ? opts.platform() : opts.platform;
  yield {
    source: 'package',
    label: id === undefined ? 'platform package' : `package ${platformPackageName(id)}`,
    load: () => loadPrebuilt(opts.packageRoot, id),
  };
}

/**
 * Loads the platform package for `id` as resolved from packageRoot. Throws an Error whose
 * message is the reason when it is not installed, is another version, or does not load.
 * The install script (scripts/build-native.mjs) calls it to decide whether to build.
 */
export function loadPrebuilt(packageRoot: string, id: string | undefined): { addon: NativeAddon; file: string } {
  if (id === undefined) throw new AttemptFailed('could not tell whether this Linux runs glibc or musl');
  if (!isPrebuilt(id)) throw new AttemptFailed(`no prebuilt package for ${id} (there are: ${PREBUILT_PLATFORMS.join(', ')})`);
  const name = platformPackageName(id);
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`, { paths: [packageRoot] });
  } catch {
    throw new AttemptFailed('not installed (an optional dependency: skipped by --omit=optional, --no-optional, or a lockfile made on another platform)');
  }
  const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: unknown; main?: unknown };
  const want = ownVersion(packageRoot);
  if (pkg.version !== want) throw new AttemptFailed(`version ${String(pkg.version)} is installed, this package needs exactly ${want}`);
  if (typeof pkg.main !== 'string') throw new AttemptFailed(`${manifest} names no "main" file`);
  const file = path.join(path.dirname(manifest), pkg.main);
  return { addon: requireAddon(file), file };
}

function ownVersion(packageRoot: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}

/**
 * Tries each place in order (see the file comment) and returns the first addon that loads.
 * Throws KvError NATIVE_UNAVAILABLE, naming every attempt and its reason, when none does.
 */
export function loadNativeFrom(opts: LoaderOptions): LoadedNative {
  const failures: Error[] = [];
  const lines: string[] = [];
  for (const attempt of attempts(opts)) {
    try {
      const { addon, file } = attempt.load();
      return { addon, source: attempt.source, file };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      lines.push(`  ${lines.length + 1}. ${attempt.label}: ${reason}`);
      failures.push(new Error(`${attempt.label}: ${reason}`, err instanceof AttemptFailed ? {} : { cause: err }));
    }
  }
  throw new KvError(
    'NATIVE_UNAVAILABLE',
    `the native engine did not load; tried, in order:\n${lines.join('\n')}\n` +
      `To fix: reinstall without --omit=optional so npm adds the prebuilt package for this platform; ` +
      `or build from source (python3, make and a C++17 compiler): \`npm rebuild kvstore-plus-plus --build-from-source\` ` +
      `in a project that depends on it, \`npm run build:native\` in a checkout; ` +
      `or open the store with engine: 'auto' or 'js' to use the pure-TS engine.`,
    { cause: new AggregateError(failures, 'every attempt to load the addon failed') },
  );
}

let loaded: LoadedNative | undefined;
let failure: KvError | undefined;

/** The process's addon, loaded once (and a failure remembered: retrying cannot help). */
export function loadNative(): NativeAddon {
  if (loaded) return loaded.addon;
  if (failure) throw failure;
  try {
    loaded = loadNativeFrom({ packageRoot: root, envPath: process.env.KVSTORE_NATIVE_PATH, platform: () => platformId(currentHost()) });
    return loaded.addon;
  } catch (err) {
    failure = err as KvError;
    throw failure;
  }
}

/** Which addon loadNative() loaded, if it has. For diagnostics and the packaging test. */
export function loadedNative(): Omit<LoadedNative, 'addon'> | undefined {
  return loaded && { source: loaded.source, file: loaded.file };
}
