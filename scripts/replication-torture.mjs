#!/usr/bin/env node
// Replication torture (not part of `npm test`): compiles the TypeScript, then runs
// dist/test/torture/replication-torture.js with the given arguments, e.g.
//   node scripts/replication-torture.mjs --rounds 20 --engines native,js
// See test/torture/replication-torture.ts for every option and what each round checks.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const r = spawnSync(process.execPath, [path.join(root, 'dist', 'test', 'torture', 'replication-torture.js'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
