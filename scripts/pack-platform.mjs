// Packs this machine's prebuilt platform package: copies the local build
// (build/Release/kvstore_native.node, from `npm install` or `npm run build:native`) into
// npm/<platform>/ under its napi-rs name (kvstore.<platform>.node) and runs `npm pack` there.
//   node scripts/pack-platform.mjs [--out DIR] [--json] [--id PLATFORM --binary FILE]
// --out: where the tarball goes (default: the repository root). --json: print npm pack's
// JSON report on stdout (progress goes to stderr). --id with --binary packs another
// platform's package from a cross-compiled addon (test/pack/arm64.mjs: linux-arm64-gnu).
// Fails when the platform has no package folder, the versions differ, or there is no build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const outIdx = args.indexOf('--out');
const out = path.resolve(outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1] : root);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const fail = (msg) => {
  console.error(`pack-platform: ${msg}`);
  process.exit(1);
};

const platformJs = path.join(root, 'dist', 'ts', 'platform.js');
if (!fs.existsSync(platformJs)) fail('dist/ts/platform.js is missing: run `npm run build:ts` first');
const { currentHost, platformId, platformBinaryName, isPrebuilt } = await import(pathToFileURL(platformJs).href);
if ((opt('--id') === undefined) !== (opt('--binary') === undefined)) fail('--id and --binary go together');
const id = opt('--id') ?? platformId(currentHost());
if (id === undefined || !isPrebuilt(id)) fail(`${opt('--id') ? `--id ${id}` : `this machine (${id ?? 'unknown libc'})`} has no prebuilt package`);
const dir = path.join(root, 'npm', id);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
if (manifest.version !== main.version) fail(`npm/${id} is at ${manifest.version}, the package at ${main.version}`);
if (manifest.main !== platformBinaryName(id)) fail(`npm/${id}/package.json main is ${manifest.main}, expected ${platformBinaryName(id)}`);

const built = opt('--binary') ? path.resolve(opt('--binary')) : path.join(root, 'build', 'Release', 'kvstore_native.node');
if (!fs.existsSync(built)) fail(`${built} is missing${opt('--binary') ? '' : ': run `npm run build:native` first'}`);
fs.copyFileSync(built, path.join(dir, manifest.main));
fs.mkdirSync(out, { recursive: true });
// npm is npm.cmd on Windows (the release workflow packs there), which only a shell runs.
const r = spawnSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
if (r.status !== 0) fail(`npm pack in npm/${id} failed (${r.error?.message ?? `exit ${r.status}`})`);
const [report] = JSON.parse(r.stdout);
if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
console.error(`pack-platform: ${path.join(out, report.filename)}: ${report.size} bytes packed, ${report.unpackedSize} unpacked, ${report.entryCount} files`);
