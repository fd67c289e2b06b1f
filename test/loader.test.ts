/**
 * The addon loader (ts/binding.ts) and the platform table it uses (ts/platform.ts): the
 * order env override → local build → platform package, the exact-version rule for the
 * platform package, and one NATIVE_UNAVAILABLE error that lists every attempt.
 * Packages are faked in temp directories; the addon itself is the local build (the cases
 * that load it are skipped when it is not built).
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadedNative, loadNative, loadNativeFrom, loadPrebuilt, type LoaderOptions } from '../ts/binding.js';
import { KvError } from '../ts/errors.js';
import { detectLibc, isPrebuilt, libcFromReport, platformId, platformPackageName } from '../ts/platform.js';
import { repoRoot, tempDir } from './helpers.js';

const built = path.join(repoRoot, 'build', 'Release', 'kvstore_native.node');
const haveBuild = fs.existsSync(built);
const ID = 'linux-x64-gnu';

/** A package root with package.json at `version`, optionally a local build and a platform package. */
function fakeRoot(opts: { version?: string; local?: boolean; pkgVersion?: string; pkgBinary?: boolean } = {}): string {
  const root = tempDir('loader');
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'kvstore-plus-plus', version: opts.version ?? '1.2.3' }));
  if (opts.local) {
    fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
    fs.symlinkSync(built, path.join(root, 'build', 'Release', 'kvstore_native.node'));
  }
  if (opts.pkgVersion !== undefined) {
    const dir = path.join(root, 'node_modules', platformPackageName(ID));
    fs.mkdirSync(dir, { recursive: true });
    const main = `kvstore.${ID}.node`;
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: platformPackageName(ID), version: opts.pkgVersion, main }));
    if (opts.pkgBinary !== false) fs.symlinkSync(built, path.join(dir, main));
  }
  return root;
}

function loadError(opts: LoaderOptions): KvError {
  try {
    loadNativeFrom(opts);
  } catch (err) {
    assert.instance(err, KvError);
    return err as KvError;
  }
  throw new Error('expected loadNativeFrom to throw');
}

/** The attempts the error's cause lists, as "what was tried" labels (the text before ': '). */
function attemptLabels(err: KvError): string[] {
  assert.instance(err.cause, AggregateError);
  return (err.cause as AggregateError).errors.map((e: Error) => e.message.slice(0, e.message.indexOf(': ')));
}

const platform = suite('platform ids');

platform('napi-rs ids: os-arch, plus gnu/musl on Linux and msvc on Windows', () => {
  assert.is(platformId({ platform: 'linux', arch: 'x64', libc: 'glibc' }), 'linux-x64-gnu');
  assert.is(platformId({ platform: 'linux', arch: 'x64', libc: 'musl' }), 'linux-x64-musl');
  assert.is(platformId({ platform: 'linux', arch: 'arm64', libc: 'glibc' }), 'linux-arm64-gnu');
  assert.is(platformId({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64');
  assert.is(platformId({ platform: 'darwin', arch: 'x64' }), 'darwin-x64');
  assert.is(platformId({ platform: 'win32', arch: 'x64' }), 'win32-x64-msvc');
  assert.is(platformId({ platform: 'freebsd', arch: 'x64' }), 'freebsd-x64');
});

platform('Linux with an unknown C library has no id (a glibc binary does not load on musl)', () => {
  assert.is(platformId({ platform: 'linux', arch: 'x64', libc: undefined }), undefined);
});

platform('only the six built platforms count as prebuilt', () => {
  for (const id of ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'darwin-arm64', 'darwin-x64', 'win32-x64-msvc']) {
    assert.ok(isPrebuilt(id), id);
  }
  for (const id of ['linux-arm64-musl', 'freebsd-x64', 'win32-arm64-msvc', 'linux-x64']) assert.not.ok(isPrebuilt(id), id);
});

platform('libc from the diagnostic report: glibc by its runtime version, musl by its loader', () => {
  assert.is(libcFromReport({ header: { glibcVersionRuntime: '2.36' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] }), 'glibc');
  assert.is(libcFromReport({ header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1', '/usr/lib/libstdc++.so.6'] }), 'musl');
  assert.is(libcFromReport({ header: {}, sharedObjects: ['/usr/lib/libc.musl-aarch64.so.1'] }), 'musl');
  assert.is(libcFromReport({ header: {}, sharedObjects: ['/opt/not-ld-musl-here/libfoo.so'] }), undefined);
  assert.is(libcFromReport({}), undefined);
});

platform('this Linux machine has a known C library, and reading it leaves report settings alone', () => {
  if (process.platform !== 'linux') return;
  const reporter = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
  const before = reporter.excludeNetwork;
  assert.ok(detectLibc() === 'glibc' || detectLibc() === 'musl');
  assert.is(reporter.excludeNetwork, before);
});

platform.run();

const order = suite('loader order');

order('nothing anywhere: NATIVE_UNAVAILABLE whose cause lists the local build, then the package', () => {
  const root = fakeRoot();
  const err = loadError({ packageRoot: root, platform: ID });
  assert.is(err.code, 'NATIVE_UNAVAILABLE');
  assert.equal(attemptLabels(err), [`local build ${path.join(root, 'build', 'Release', 'kvstore_native.node')}`, `package ${platformPackageName(ID)}`]);
});

order('the env override is tried first and listed first', () => {
  const root = fakeRoot();
  const err = loadError({ packageRoot: root, platform: ID, envPath: path.join(root, 'nope.node') });
  const labels = attemptLabels(err);
  assert.is(labels.length, 3);
  assert.is(labels[0], `KVSTORE_NATIVE_PATH=${path.join(root, 'nope.node')}`);
});

order('an env override that is not a .node file is refused, not run as JavaScript', () => {
  const root = fakeRoot();
  const script = path.join(root, 'evil.js');
  fs.writeFileSync(script, 'globalThis.__kvstoreRan = true;');
  loadError({ packageRoot: root, platform: ID, envPath: script });
  assert.is((globalThis as { __kvstoreRan?: boolean }).__kvstoreRan, undefined);
});

order('a platform without a prebuilt package: both places are tried and listed', () => {
  const err = loadError({ packageRoot: fakeRoot(), platform: 'freebsd-x64' });
  assert.is(attemptLabels(err).length, 2);
  assert.is(attemptLabels(err)[1], `package ${platformPackageName('freebsd-x64')}`);
});

order('a dlopen failure is kept as the attempt\'s cause', () => {
  if (!haveBuild) return;
  const root = fakeRoot({ version: '1.0.0', pkgVersion: '1.0.0', pkgBinary: false });
  const main = path.join(root, 'node_modules', platformPackageName(ID), `kvstore.${ID}.node`);
  fs.writeFileSync(main, 'not an ELF file');
  const err = loadError({ packageRoot: root, platform: ID });
  const pkgAttempt = (err.cause as AggregateError).errors[1] as Error;
  assert.instance(pkgAttempt.cause, Error);
});

order('the platform package loads when there is no local build', () => {
  if (!haveBuild) return;
  const root = fakeRoot({ version: '1.0.0', pkgVersion: '1.0.0' });
  const got = loadNativeFrom({ packageRoot: root, platform: ID });
  assert.is(got.source, 'package');
  assert.is(got.file, path.join(root, 'node_modules', platformPackageName(ID), `kvstore.${ID}.node`));
  assert.is(got.addon.crc32c(Buffer.from('123456789')), 0xe3069283);
});

order('a local build (--build-from-source, a checkout) wins over the platform package', () => {
  if (!haveBuild) return;
  const root = fakeRoot({ version: '1.0.0', pkgVersion: '1.0.0', local: true });
  const got = loadNativeFrom({ packageRoot: root, platform: ID });
  assert.is(got.source, 'local');
  assert.is(got.file, path.join(root, 'build', 'Release', 'kvstore_native.node'));
});

order('the env override wins over the platform package', () => {
  if (!haveBuild) return;
  const root = fakeRoot({ version: '1.0.0', pkgVersion: '1.0.0' });
  const got = loadNativeFrom({ packageRoot: root, platform: ID, envPath: built });
  assert.is(got.source, 'env');
  assert.is(got.file, built);
});

order('a platform package of another version is refused', () => {
  const root = fakeRoot({ version: '1.0.0', pkgVersion: '0.9.0', pkgBinary: false });
  assert.throws(() => loadPrebuilt(root, ID), /0\.9\.0.*1\.0\.0/);
  assert.is(loadError({ packageRoot: root, platform: ID }).code, 'NATIVE_UNAVAILABLE');
});

order('the platform is detected only when the platform package is reached', () => {
  if (!haveBuild) return;
  let asked = 0;
  const platform = (): string => {
    asked += 1;
    return ID;
  };
  assert.is(loadNativeFrom({ packageRoot: fakeRoot({ local: true }), platform }).source, 'local');
  assert.is(asked, 0);
  loadError({ packageRoot: fakeRoot(), platform });
  assert.is(asked, 1);
});

order('in this checkout the process addon is the local build', () => {
  if (!haveBuild || process.env.KVSTORE_NATIVE_PATH) return;
  loadNative();
  assert.equal(loadedNative(), { source: 'local', file: built });
});

order.run();
