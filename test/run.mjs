// Runs every uvu suite in dist/test and ends with the line CI reads: "N passed, N failed".
// uvu prints Total/Passed/Skipped per run; each test file runs in its own process so one
// crashing file cannot hide the others' results.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'test');
const only = process.argv[2] ? new RegExp(process.argv[2]) : null;
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.js') && (!only || only.test(f))).sort();
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of files) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [uvu, dir, `^${f.replace(/\./g, '\\.')}$`], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(r.stdout);
  const num = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(r.stdout)?.[1] ?? NaN);
  const total = num('Total');
  const ok = num('Passed');
  const skip = num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    console.log(`${f}: no uvu summary (exit ${r.status}, signal ${r.signal}): counted as 1 failure`);
    failed += 1;
    continue;
  }
  passed += ok;
  failed += total - ok;
  skipped += Number.isNaN(skip) ? 0 : skip;
  if (r.status !== 0 && total === ok) failed += 1; // a crash after the summary still fails
  console.log(`${f}: ${ok}/${total} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
