#!/usr/bin/env node
// The benchmark orchestrator. Every trial is a fresh `node dist/bench/<scenario>.js
// --impl X --keys N ...` process printing one JSON line; this script runs the trials,
// takes the median of --trials, prints one markdown table per scenario (ops/s and the
// ratio against the baseline named in the table, the issue's targets and whether they
// are met), writes bench/out/<scenario>.json and, with --results, bench/RESULTS.md.
//
//   node bench/run.mjs                         every scenario, default sizes, 3 trials
//   node bench/run.mjs get --keys 100000       one scenario, one size
//   node bench/run.mjs put batch --trials 1 --impl js,lmdb --quick
//   node bench/run.mjs --keys 20000 --trials 1 --results
// Options: --trials N (3), --keys N (overrides each scenario's size), --impl a,b (only
// these implementations), --quick (fewer cases, shorter timings), --results (write
// bench/RESULTS.md), --dir D (where trial directories go; default the OS temp dir),
// --list (print scenarios and implementations). Any other --name value overrides that
// parameter in every case that has it (e.g. --seconds 1, --inflight 16); a name that no case
// of the chosen scenarios has exits 2.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['get', 'put', 'batch', 'scan', 'checkpoint', 'recovery', 'memory', 'scaling', 'auth', 'http', 'repl-write', 'repl-lag', 'repl-read', 'cluster-write', 'cluster-read'];

// ------------------------------------------------------------------ arguments

const argv = process.argv.slice(2);
const opt = { trials: 3, keys: undefined, impl: undefined, quick: false, results: false, dir: os.tmpdir(), list: false };
const overrides = {};
const chosen = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) {
    if (!SCENARIOS.includes(a)) fail(`unknown scenario "${a}"; one of ${SCENARIOS.join(', ')}`);
    chosen.push(a);
    continue;
  }
  const name = a.slice(2);
  if (name === 'quick' || name === 'results' || name === 'list') {
    opt[name] = true;
    continue;
  }
  const v = argv[++i];
  if (v === undefined) fail(`${a} needs a value`);
  if (name === 'trials' || name === 'keys') opt[name] = positiveInt(a, v);
  else if (name === 'impl') opt.impl = v.split(',');
  else if (name === 'dir') opt.dir = path.resolve(v);
  else overrides[name] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}
const scenarios = chosen.length ? chosen : SCENARIOS;

function fail(msg) {
  console.error(`bench/run.mjs: ${msg}`);
  process.exit(2);
}

function positiveInt(flag, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) fail(`${flag} needs a positive integer, got ${v}`);
  return n;
}

// ------------------------------------------------------------------ build

/** Compiles when a bench/*.ts is newer than its output (tsc errors elsewhere do not stop us if dist exists). */
function ensureBuilt() {
  const stale = fs.readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.ts')).some((f) => {
    const out = path.join(root, 'dist', 'bench', f.replace(/\.ts$/, '.js'));
    return !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(path.join(root, 'bench', f)).mtimeMs;
  });
  if (!stale) return;
  console.log('compiling (npx tsc -p .) ...');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(r.stdout + r.stderr);
    console.log('tsc reported errors; running what dist/ holds');
  }
}

// ------------------------------------------------------------------ machine

function machine() {
  const cpus = os.cpus();
  let fsType = 'unknown';
  try {
    // The mount holding the trial directories: the filesystem the fdatasync numbers are about.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((l) => l.split(' '));
    const real = fs.realpathSync(opt.dir);
    let best = '';
    for (const [dev, mnt, type] of mounts) {
      if ((real === mnt || real.startsWith(mnt.endsWith('/') ? mnt : mnt + '/')) && mnt.length >= best.length) {
        best = mnt;
        fsType = `${type} on ${dev} (${mnt})`;
      }
    }
  } catch {}
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    ramGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    dataDir: `${opt.dir} — ${fsType}`,
  };
}

// ------------------------------------------------------------------ trials

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function child(spec, impl, params, dir, phase) {
  const script = path.join(root, 'dist', 'bench', `${spec.name}.js`);
  const args = [...(spec.nodeArgs ?? []), script, '--impl', impl];
  for (const [k, v] of Object.entries(params)) args.push(`--${k}`, String(v));
  args.push('--dir', dir, '--phase', phase);
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: spec.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) {
    const why = r.error ? r.error.message : `exit ${r.status}${r.signal ? ', signal ' + r.signal : ''}`;
    return { error: `no result (${why}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return JSON.parse(line);
}

function runTrial(spec, impl, params) {
  const dir = fs.mkdtempSync(path.join(opt.dir, `kvbench-${spec.name}-`));
  try {
    if (spec.prepare) {
      const prep = child(spec, impl, params, dir, 'prepare');
      if (prep.error || prep.unavailable) return prep;
    }
    return child(spec, impl, params, dir, 'measure');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function runScenario(spec) {
  const cases = spec.cases({ keys: opt.keys, quick: opt.quick }).map((c) => {
    const o = { ...c };
    for (const [k, v] of Object.entries(overrides)) if (k in o) o[k] = v;
    return o;
  });
  const impls = spec.impls.filter((i) => !opt.impl || opt.impl.includes(i));
  const rows = [];
  const t0 = Date.now();
  for (const params of cases) {
    const caseRows = [];
    for (const impl of impls) {
      const applies = spec.applies ? spec.applies(impl, params) : true;
      if (applies === false) continue;
      const row = { impl, label: spec.labels?.[impl] ?? impl, params, trials: [] };
      rows.push(row);
      caseRows.push(row);
      if (typeof applies === 'string') row.unavailable = applies;
    }
    // spec.interleave: trial 1 of every implementation, then trial 2 of every one, ...: on a
    // shared machine whose load drifts, the rows of one case then see the same drift.
    const order = spec.interleave
      ? Array.from({ length: opt.trials }, () => caseRows).flat()
      : caseRows.flatMap((row) => Array.from({ length: opt.trials }, () => row));
    for (const row of order) {
      if (row.unavailable || row.error) continue;
      const r = runTrial(spec, row.impl, params);
      if (r.unavailable) row.unavailable = r.unavailable;
      else if (r.error) row.error = r.error.split('\n').slice(0, 2).join(' ');
      else row.trials.push(r.metrics);
    }
    for (const row of caseRows) {
      const impl = row.impl;
      if (row.trials.length) {
        row.metrics = {};
        for (const k of Object.keys(row.trials[0])) {
          const vals = row.trials.map((m) => m[k]);
          row.metrics[k] = vals.every((v) => typeof v === 'number') ? median(vals) : vals[0];
        }
      }
      const shown = row.metrics ? spec.columns.map((c) => `${c.key}=${fmt(row.metrics[c.key], c.unit)}`).join(' ') : row.unavailable ? 'unavailable' : 'ERROR';
      process.stderr.write(`  ${spec.name} ${impl} ${JSON.stringify(params)}: ${shown}\n`);
    }
  }
  // Targets.
  const same = (a, b) => Object.keys(a).every((k) => a[k] === b[k]);
  const find = (impl, params) => rows.find((r) => r.impl === impl && same(r.params, params));
  for (const row of rows) {
    for (const t of spec.targets ?? []) {
      if (t.impl !== row.impl || (t.where && !Object.entries(t.where).every(([k, v]) => row.params[k] === v))) continue;
      let verdict;
      try {
        verdict = t.check(row, find);
      } catch (err) {
        verdict = `check failed: ${err.message}`;
      }
      (row.targets ??= []).push({ text: t.text, met: verdict });
    }
  }
  return { spec, cases, rows, seconds: (Date.now() - t0) / 1000, find };
}

// ------------------------------------------------------------------ tables

function fmt(v, unit) {
  if (v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v))) return '—';
  if (typeof v !== 'number') return String(v);
  if (unit === 'ops') return Math.round(v).toLocaleString('en-US');
  if (unit === 'bytes' || unit === 'num') return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toFixed(1)));
  if (unit === 'ms' || unit === 'us') return v >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toFixed(2)));
  return String(v);
}

function table(result) {
  const { spec, cases, rows, find } = result;
  // Long reasons (the native loader's message) become numbered notes under the table.
  const reasons = [];
  const ref = (why) => {
    const text = String(why).split('\n')[0];
    if (text.length <= 60) return text;
    if (!reasons.includes(text)) reasons.push(text);
    return `[${reasons.indexOf(text) + 1}]`;
  };
  const keys = [...new Set(cases.flatMap((c) => Object.keys(c)))];
  const varying = keys.filter((k) => new Set(cases.map((c) => JSON.stringify(c[k]))).size > 1);
  const constant = keys.filter((k) => !varying.includes(k));
  const base = spec.labels?.[spec.baseline] ?? spec.baseline;
  const main = spec.columns[0];
  const hasNote = rows.some((r) => r.metrics?.note !== undefined);
  const hasTargets = rows.some((r) => r.targets);
  const head = [...varying, 'implementation', ...spec.columns.map((c) => c.label), `${main.label} vs ${base}`];
  if (hasTargets) head.push('target', 'met');
  if (hasNote) head.push('note');
  const body = rows.map((r) => {
    const cells = [...varying.map((k) => String(r.params[k])), r.label];
    if (r.metrics) {
      cells.push(...spec.columns.map((c) => fmt(r.metrics[c.key], c.unit)));
      const b = find(spec.baseline, r.params)?.metrics?.[main.key];
      const v = r.metrics[main.key];
      const ratio = typeof b === 'number' && typeof v === 'number' && b > 0 && v > 0 ? (spec.lowerIsBetter ? b / v : v / b) : NaN;
      cells.push(Number.isNaN(ratio) ? '—' : `${ratio.toFixed(2)}×`);
    } else {
      const why = r.unavailable ? `n/a: ${ref(r.unavailable)}` : `ERROR: ${ref(r.error)}`;
      cells.push(why, ...spec.columns.slice(1).map(() => ''), '');
    }
    if (hasTargets) {
      cells.push((r.targets ?? []).map((t) => t.text).join('; '));
      cells.push((r.targets ?? []).map((t) => (t.met === true ? 'yes' : t.met === false ? 'NO' : `n/a (${ref(t.met)})`)).join('; '));
    }
    if (hasNote) cells.push(r.metrics?.note ?? '');
    return cells.map((c) => c.replace(/\|/g, '\\|'));
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  const lines = [
    `### ${spec.name}: ${spec.title}`,
    '',
    `Parameters: ${constant.map((k) => `${k}=${cases[0][k]}`).join(', ') || '(see columns)'}; median of ${opt.trials} trial(s), each in a fresh process; ratio = ${main.label} / ${base}${spec.lowerIsBetter ? ' inverted (lower is better)' : ''}. Took ${result.seconds.toFixed(0)} s.`,
    '',
    line(head),
    '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |',
    ...body.map(line),
    ...(reasons.length ? ['', ...reasons.map((r, i) => `[${i + 1}] ${r}`)] : []),
  ];
  return lines.join('\n');
}

// ------------------------------------------------------------------ main

ensureBuilt();
fs.mkdirSync(opt.dir, { recursive: true });
const info = machine();
const command = `node bench/run.mjs ${argv.join(' ')}`.trim();
const date = new Date().toISOString();
console.log(`machine: ${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB RAM, node ${info.node}, ${info.kernel}`);
console.log(`data: ${info.dataDir}`);

const specs = [];
for (const name of scenarios) {
  const mod = await import(pathToFileURL(path.join(root, 'dist', 'bench', `${name}.js`)).href);
  specs.push(mod.spec);
}
if (opt.list) {
  for (const s of specs) console.log(`${s.name}: ${s.impls.join(', ')} — baseline ${s.baseline}`);
  process.exit(0);
}
// A --name that no case of the chosen scenarios has is a typo (--secnds 1): refuse it, as the
// library refuses unknown options, instead of running the default and labelling it as asked.
const params = [...new Set(specs.flatMap((s) => s.cases({ keys: opt.keys, quick: opt.quick }).flatMap((c) => Object.keys(c))))];
const { nearestName } = await import(pathToFileURL(path.join(root, 'dist', 'ts', 'options.js')).href);
for (const name of Object.keys(overrides)) {
  if (!params.includes(name)) fail(`unknown parameter --${name} for ${scenarios.join(', ')}; did you mean --${nearestName(name, params)}? (parameters: ${params.join(', ')})`);
}

const outDir = path.join(root, 'bench', 'out');
fs.mkdirSync(outDir, { recursive: true });
const tables = [];
for (const spec of specs) {
  console.log(`\n== ${spec.name} ==`);
  const result = runScenario(spec);
  const md = table(result);
  tables.push(md);
  console.log('\n' + md);
  const json = {
    scenario: spec.name,
    title: spec.title,
    date,
    command,
    machine: info,
    trials: opt.trials,
    baseline: spec.baseline,
    seconds: result.seconds,
    rows: result.rows.map(({ impl, label, params, metrics, trials, unavailable, error, targets }) => ({
      impl, label, params, metrics, trials, unavailable, error,
      targets: targets?.map((t) => ({ text: t.text, met: t.met })),
    })),
  };
  fs.writeFileSync(path.join(outDir, `${spec.name}.json`), JSON.stringify(json, null, 2) + '\n');
}

if (opt.results) {
  const md = [
    '# KVStore++ benchmark results',
    '',
    'Generated by `node bench/run.mjs --results` (bench/run.mjs); raw numbers per trial are in `bench/out/*.json` (not committed).',
    '',
    `- Date: ${date}`,
    `- Command: \`${command}\``,
    `- CPU: ${info.cpu}, ${info.cores} cores`,
    `- RAM: ${info.ramGiB} GiB`,
    `- Node: ${info.node}`,
    `- Kernel: ${info.kernel}`,
    `- Trial directories: ${info.dataDir}`,
    '',
    'Every trial runs in a fresh Node process; each table shows the median of the trials. Keys are 16 bytes, values 100 bytes.',
    '"n/a" rows name the reason (for example the native addon not loading).',
    '',
    ...tables.flatMap((t) => [t, '']),
  ].join('\n');
  fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), md);
  console.log('\nwrote bench/RESULTS.md');
}
