#!/usr/bin/env node
// What `import { open } from 'kvstore-plus-plus'` costs: wall time of the import in fresh
// processes (median of --runs, default 15) and which modules it loads (ESM and CommonJS,
// grouped by package). Run after `npm run build:ts`; README's "Embedded install" quotes it.
//   node scripts/import-cost.mjs [--entry dist/ts/index.js] [--runs 15] [--json]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1];
};
const entry = pathToFileURL(path.resolve(root, arg('entry', 'dist/ts/index.js'))).href;
const runs = Number(arg('runs', '15'));
if (!Number.isInteger(runs) || runs < 1 || runs > 200) throw new Error('--runs must be an integer in [1, 200]');

// The child times the import alone (not Node's own start-up), then lists every module it
// loaded: ESM through a load hook registered before the import, CommonJS from require.cache.
const child = `
import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const esm = [];
port1.on('message', (u) => esm.push(u));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(
  'let port; export function initialize(d) { port = d.port; }' +
  'export async function load(u, c, n) { if (!u.startsWith("node:")) port.postMessage(u); return n(u, c); }'),
  { data: { port: port2 }, transferList: [port2] });
const t0 = performance.now();
await import(${JSON.stringify(entry)});
const ms = performance.now() - t0;
await new Promise((r) => setImmediate(r));
const cjs = Object.keys(createRequire(import.meta.url).cache).map((f) => 'file://' + f);
console.log(JSON.stringify({ ms, modules: [...new Set([...esm, ...cjs])] }));
`;

const samples = [];
let modules = [];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (exit ${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  samples.push(out.ms);
  modules = out.modules;
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];

const byPackage = new Map();
for (const url of modules) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const name = m ? m[1] : '(this package)';
  byPackage.set(name, (byPackage.get(name) ?? 0) + 1);
}
const result = { entry: path.relative(root, fileURLToPath(entry)), runs, medianMs: Number(median.toFixed(1)), modules: modules.length, packages: Object.fromEntries([...byPackage].sort()), urls: modules };
if (process.argv.includes('--json')) console.log(JSON.stringify(result)); // with every module's URL
else {
  console.log(`${result.entry}: median ${result.medianMs} ms over ${runs} fresh processes; ${result.modules} modules`);
  for (const [name, n] of Object.entries(result.packages)) console.log(`  ${String(n).padStart(4)}  ${name}`);
}
