// `npm install` step. What it does depends on where the package sits:
// - In a project that depends on it (under node_modules): nothing, when the prebuilt
//   platform package (an optional dependency) loads, so no compiler is needed. Otherwise,
//   or with `--build-from-source` (npm_config_build_from_source), it builds the addon from
//   source through binding.gyp with npm's own node-gyp (python3, make, a C++17 compiler).
// - In a checkout (the developer's `npm install`, CI): always builds from source, with
//   cmake-js (a devDependency) and, failing that, node-gyp; the prebuilt package is ignored
//   there, so the tests run against the sources in the checkout.
// A failed build fails the install: a silent fallback would hide a broken addon.
// KVSTORE_SKIP_NATIVE=1 skips all of it on purpose (the pure-TS engine is then the only one).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
if (process.env.KVSTORE_SKIP_NATIVE === '1') {
  console.log('kvstore: KVSTORE_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}
if (!fs.existsSync(path.join(root, 'binding.gyp'))) {
  console.log('kvstore: no native sources in this checkout; the pure-TS engine is the only one');
  process.exit(0);
}
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: false }).status === 0;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const gyp = () => {
  // npm names its bundled node-gyp in npm_config_node_gyp for lifecycle scripts.
  const gypJs = process.env.npm_config_node_gyp;
  return gypJs && fs.existsSync(gypJs)
    ? run(process.execPath, [gypJs, 'rebuild'])
    : run(fs.existsSync(bin('node-gyp')) ? bin('node-gyp') : 'node-gyp', ['rebuild']);
};

const installedAsDependency = fs.realpathSync(root).split(path.sep).includes('node_modules');
if (installedAsDependency) {
  // true for --build-from-source; prebuild-install's convention also accepts the package name.
  const fromSource = ['true', '1', pkg.name].includes(process.env.npm_config_build_from_source ?? '');
  if (!fromSource) {
    const prebuilt = await tryPrebuilt();
    if (prebuilt.ok) {
      console.log(`kvstore: using the prebuilt addon ${prebuilt.file}; nothing to build`);
      process.exit(0);
    }
    console.log(`kvstore: no usable prebuilt addon (${prebuilt.reason}); building from source with node-gyp`);
  } else {
    console.log('kvstore: --build-from-source: building the addon with node-gyp');
  }
  if (gyp()) process.exit(0);
  console.error(
    'kvstore: the native addon did not build (see above). It needs python3, make and a C++17 ' +
      'compiler; or set KVSTORE_SKIP_NATIVE=1 to install without it and use the pure-TS engine (engine: "js" or "auto").',
  );
  process.exit(1);
}

if (fs.existsSync(bin('cmake-js')) && run(bin('cmake-js'), ['compile', '--log-level', 'warn'])) process.exit(0);
console.log('kvstore: cmake-js unavailable or its build failed, trying node-gyp (binding.gyp)');
if (gyp()) process.exit(0);
console.error('kvstore: the native addon did not build (see above); install cmake and a C++17 compiler, or set KVSTORE_SKIP_NATIVE=1 to use the pure-TS engine');
process.exit(1);

/** Loads the platform package with the runtime loader's own code (dist/ts, shipped). */
async function tryPrebuilt() {
  try {
    const { loadPrebuilt } = await import(pathToFileURL(path.join(root, 'dist', 'ts', 'binding.js')).href);
    const { currentHost, platformId, platformPackageName } = await import(pathToFileURL(path.join(root, 'dist', 'ts', 'platform.js')).href);
    const id = platformId(currentHost());
    try {
      return { ok: true, file: loadPrebuilt(root, id).file };
    } catch (err) {
      return { ok: false, reason: `${id === undefined ? 'platform package' : platformPackageName(id)}: ${err.message}` };
    }
  } catch (err) {
    return { ok: false, reason: `the loader did not run: ${err instanceof Error ? err.message : String(err)}` };
  }
}
