// What the pack tests (run.mjs, arm64.mjs) share: commands that fail the test loudly.
import { spawnSync } from 'node:child_process';

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
