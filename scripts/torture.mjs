#!/usr/bin/env node
// Torture runs at scale (not part of `npm test`, which runs a bounded count of each):
// compiles the TypeScript, then runs one of test/torture/*.ts with the remaining arguments.
//   node scripts/torture.mjs --rounds 1000 --engines native,js              crash (the default)
//   node scripts/torture.mjs crash --rounds 200 --durability interval --interval-ms 40
//   node scripts/torture.mjs replication --rounds 20 --engines native,js
// Each run's file says every option and what each round checks.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KINDS = { crash: 'torture.ts', replication: 'replication-torture.ts' };
const args = process.argv.slice(2);
const kind = args[0] && !args[0].startsWith('-') ? args.shift() : 'crash';
if (!(kind in KINDS)) {
  console.error(`scripts/torture.mjs: unknown torture "${kind}"; one of ${Object.keys(KINDS).join(', ')}`);
  process.exit(2);
}
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const script = path.join(root, 'dist', 'test', 'torture', KINDS[kind].replace(/\.ts$/, '.js'));
if (!fs.existsSync(script)) {
  console.error(`scripts/torture.mjs: ${script} was not built`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
