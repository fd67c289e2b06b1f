/**
 * Running a README walkthrough as written: the first ```sh block of a section, in bash -euo
 * pipefail, with kvstored and kvctl on the PATH as a package install links them, in its own
 * process group (what a failed script leaves running is killed with it), bounded in time.
 * Used by test/readme-{replication,backup,cluster}.test.ts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';

/** The first ```sh block after the heading line `## <title>` (or `### <title>` with level 3). */
export function readmeBlock(title: string, level: 2 | 3 = 2): string {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const heading = `${'#'.repeat(level)} ${title}`;
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `the README has a "${heading}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `the "${heading}" section has a sh block`);
  return block[1]!;
}

/** Executables named like the package's bins, as npm links them (exec: $! is node's own pid). */
function binDir(): string {
  const dir = tempDir('readme-bin');
  for (const [name, file] of [['kvstored', 'dist/ts/server/main.js'], ['kvctl', 'dist/ts/cli/kvctl.js']] as const) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, file)}" "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

export interface WalkthroughRun {
  code: number | null;
  out: string;
  err: string;
  /** stdout and stderr, for assertion messages. */
  shown: string;
}

/**
 * Runs `script`; `env` adds to the environment (less KVCTL_*, KVSTORE_* and npm_* of this
 * process). `afterExit` runs once bash has exited (with its stdout so far), before its
 * process group is killed.
 */
export async function runWalkthrough(script: string, o: { env?: Record<string, string>; timeoutMs: number; afterExit?: (out: string) => void }): Promise<WalkthroughRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KVCTL_') && !k.startsWith('KVSTORE_') && !k.startsWith('npm_')));
  const bash = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...base, KVCTL_CONFIG_DIR: tempDir('readme-kvctl'), ...o.env, PATH: `${binDir()}:${base.PATH}` },
  });
  let out = '';
  let err = '';
  bash.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  bash.stderr.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const closed = new Promise<void>((resolve) => bash.on('close', () => resolve()));
  const timer = setTimeout(() => process.kill(-bash.pid!, 'SIGKILL'), o.timeoutMs);
  const code = await new Promise<number | null>((resolve) => bash.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  o.afterExit?.(out);
  try {
    process.kill(-bash.pid!, 'SIGKILL'); // what a failed script left running (it holds the pipes)
  } catch {
    // the group is gone: the script stopped everything it started
  }
  await closed;
  return { code, out, err, shown: `\n--- stdout\n${out}\n--- stderr\n${err}` };
}
