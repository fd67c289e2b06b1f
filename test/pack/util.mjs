// What the pack tests (run.mjs, arm64.mjs) share: commands that fail the test loudly, and the
// size of an install's node_modules.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function fail(msg, output) {
  if (output) console.error(output.trimEnd());
  console.error(`pack test: FAILED: ${msg}`);
  process.exit(1);
}

/** Runs a command; fails the test unless it exits 0. Returns its stdout and its whole output. */
export function run(what, cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) fail(`${what}: ${r.error.message}`, output);
  if (r.status !== 0) fail(`${what}: exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`, output);
  return { stdout: r.stdout, output };
}

export function check(cond, msg, output) {
  if (!cond) fail(msg, output);
}

export const kb = (n) => `${(n / 1024).toFixed(1)} kB`;

/**
 * What an install put in `<project>/node_modules`: the packages (directories holding a
 * package.json, nested node_modules included, .bin and dot-directories not) and its size on
 * disk in MB (`du -sk`), as the README's "Embedded install" counts them.
 */
export function nodeModulesSize(project) {
  const root = path.join(project, 'node_modules');
  let packages = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        walk(full);
        continue;
      }
      if (fs.existsSync(path.join(full, 'package.json'))) packages++;
      if (fs.existsSync(path.join(full, 'node_modules'))) walk(path.join(full, 'node_modules'));
    }
  };
  walk(root);
  const du = run('du -sk node_modules', 'du', ['-sk', root]).stdout;
  return { packages, mb: Number(du.split(/\s/)[0]) / 1024 };
}
