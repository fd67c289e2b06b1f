// Runs every uvu suite in dist/test and ends with the line CI reads: "N passed, N failed".
// uvu prints Total/Passed/Skipped per run; each test file runs in its own process so one
// crashing file cannot hide the others' results. *.tape.js files (abstract-level's compliance
// suite, which is written for tape) run with plain node; their TAP summary's assertion
// counts (# pass / # fail / # skip) are added to the same totals.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'test');
const only = process.argv[2] ? new RegExp(process.argv[2]) : null;
const files = fs.readdirSync(dir).filter((f) => (f.endsWith('.test.js') || f.endsWith('.tape.js')) && (!only || only.test(f))).sort();
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const FILE_TIMEOUT_MS = Number(process.env.KVSTORE_TEST_FILE_TIMEOUT_S ?? 900) * 1000;

let passed = 0;
let failed = 0;
let skipped = 0;
// The files that failed and what they printed about it, recapped just above the last line, so
// a log cut to its tail still names them.
const recap = [];
for (const f of files) {
  const t0 = Date.now();
  const tap = f.endsWith('.tape.js');
  const args = tap ? [path.join(dir, f)] : [uvu, dir, `^${f.replace(/\./g, '\\.')}$`];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    // Every loop in a test is bounded; this bounds a file that hangs anyway (it fails, the
    // run goes on). The reaper (test/reaper.ts) cleans up what a killed file started.
    timeout: FILE_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (r.error?.code === 'ETIMEDOUT') console.log(`${f}: killed after ${FILE_TIMEOUT_MS / 1000} s (a hang?)`);
  // A TAP stream lists every assertion: print only what failed and the summary.
  process.stdout.write(tap ? tapDigest(r.stdout) : r.stdout);
  const num = tap
    ? (label) => (label === 'Total' ? tapNum(r.stdout, 'tests') : label === 'Passed' ? tapNum(r.stdout, 'pass') : tapNum(r.stdout, 'skip', 0))
    : (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(r.stdout)?.[1] ?? NaN);
  const total = num('Total');
  const ok = num('Passed');
  const skip = num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    console.log(`${f}: no ${tap ? 'TAP' : 'uvu'} summary (exit ${r.status}, signal ${r.signal}): counted as 1 failure`);
    failed += 1;
    recap.push(`${f}: no summary (exit ${r.status}, signal ${r.signal})`);
    continue;
  }
  passed += ok;
  failed += total - ok;
  skipped += Number.isNaN(skip) ? 0 : skip;
  if (r.status !== 0 && total === ok) failed += 1; // a crash after the summary still fails
  if (total !== ok || r.status !== 0) recap.push(`${f}: ${ok}/${total}, exit ${r.status}\n${failureLines(r.stdout)}`);
  console.log(`${f}: ${ok}/${total}${tap ? ' assertions' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
if (recap.length > 0) console.log(`== failed files (${recap.length}):\n${recap.join('\n')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);

/** uvu's FAIL blocks (or TAP's not-ok lines) from a file's output, colour codes stripped, at most 40 lines. */
function failureLines(out) {
  // eslint-disable-next-line no-control-regex
  const lines = out.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const start = lines.findIndex((l) => /FAIL|^not ok/.test(l));
  return start < 0 ? '  (no FAIL block printed)' : lines.slice(start, start + 40).map((l) => `  ${l}`).join('\n');
}

/** A count from tape's closing summary ("# pass  12"); `dflt` when the line is absent (tape omits zero skips). */
function tapNum(out, label, dflt = NaN) {
  const m = new RegExp(`^# ${label}\\s+(\\d+)$`, 'm').exec(out);
  return m ? Number(m[1]) : dflt;
}

/** The failed assertions (with their test's name and YAML details) and the summary of a TAP stream. */
function tapDigest(out) {
  const lines = out.split('\n');
  const keep = [];
  let test = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('# ') && !/^# (tests|pass|fail|skip|todo|ok)\b/.test(l)) test = l;
    if (l.startsWith('not ok')) {
      keep.push(test, l);
      while (i + 1 < lines.length && lines[i + 1].startsWith('  ')) keep.push(lines[++i]);
    }
    if (/^# (tests|pass|fail|skip|todo|ok)\b/.test(l)) keep.push(l);
  }
  return keep.join('\n') + '\n';
}
process.exit(failed === 0 && passed > 0 ? 0 : 1);
