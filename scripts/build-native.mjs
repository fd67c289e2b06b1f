// `npm install` step: builds the native addon from source with cmake-js (the developer
// build), falling back to node-gyp (binding.gyp, the same sources). A failed build fails
// the install: a silent fallback would hide a broken addon. KVSTORE_SKIP_NATIVE=1 skips it
// on purpose (the pure-TS engine is then the only one).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.KVSTORE_SKIP_NATIVE === '1') {
  console.log('kvstore: KVSTORE_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}
if (!fs.existsSync(path.join(root, 'CMakeLists.txt'))) {
  console.log('kvstore: no native sources in this checkout; the pure-TS engine is the only one');
  process.exit(0);
}
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: false }).status === 0;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
if (run(bin('cmake-js'), ['compile', '--log-level', 'warn'])) process.exit(0);
console.log('kvstore: cmake-js build failed, trying node-gyp (binding.gyp)');
// npm names its bundled node-gyp in npm_config_node_gyp for lifecycle scripts.
const gypJs = process.env.npm_config_node_gyp;
const built = gypJs && fs.existsSync(gypJs)
  ? run(process.execPath, [gypJs, 'rebuild'])
  : run(fs.existsSync(bin('node-gyp')) ? bin('node-gyp') : 'node-gyp', ['rebuild']);
if (built) process.exit(0);
console.error('kvstore: the native addon did not build (see above); install cmake and a C++17 compiler, or set KVSTORE_SKIP_NATIVE=1 to use the pure-TS engine');
process.exit(1);
