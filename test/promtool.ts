/**
 * `promtool check metrics` (Debian's `prometheus` package) over a scrape. Under CI=true a
 * missing promtool is a failure; elsewhere the check is skipped with a note on stdout.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';

export const promtoolFound = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
/** Run the promtool checks: it is installed, or CI requires it (and they then fail). */
export const runPromtool = promtoolFound || process.env.CI === 'true';

let noted = false;

/** Prints, once per process, why promtool checks are skipped (when they are). */
export function notePromtoolSkipped(): void {
  if (runPromtool || noted) return;
  noted = true;
  console.log('promtool not found (Debian package "prometheus"): `promtool check metrics` skipped; CI=true makes this a failure');
}

/** Asserts that promtool accepts `text`; returns false when it was skipped (not installed, not CI). */
export function assertPromtoolAccepts(text: string, what: string): boolean {
  if (!promtoolFound) {
    if (process.env.CI === 'true') assert.unreachable('promtool is not installed: CI needs it (Debian package "prometheus", /usr/bin/promtool)');
    notePromtoolSkipped();
    return false;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.is(r.status, 0, `promtool check metrics on ${what}:\n${r.stdout}${r.stderr}`);
  return true;
}
