/**
 * The README's backup walkthrough, run as written (bash) with kvstored and kvctl on the PATH
 * as a package install puts them, against real processes: archiving, an online base backup,
 * a mistake, the lost data directory, restores to the moment before the mistake and to the
 * latest point, a refused restore, and kvstored serving the restored directory. Only the
 * port changes (to a free one). Docs that do not match the code fail here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort } from './cli-proc.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('README backups');

function binDir(): string {
  const dir = tempDir('readme-bin');
  for (const [name, file] of [['kvstored', 'dist/ts/server/main.js'], ['kvctl', 'dist/ts/cli/kvctl.js']] as const) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, file)}" "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

test('the backup walkthrough works as written: archive, backup, mistake, lost disk, restore to a time and to the latest point', async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Backups\n'));
  assert.ok(section.length > 20, 'the README has a "## Backups" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const port = await closedPort();
  const script = block.replaceAll('8080', String(port));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KVCTL_') && !k.startsWith('KVSTORE_')));
  const bash = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, PATH: `${binDir()}:${env.PATH}`, TMPDIR: tempDir('readme-bk'), KVCTL_CONFIG_DIR: tempDir('readme-bk-kvctl') },
  });
  let out = '';
  let err = '';
  bash.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
  bash.stderr.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const closed = new Promise<void>((resolve) => bash.on('close', () => resolve()));
  const timer = setTimeout(() => process.kill(-bash.pid!, 'SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => bash.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  try {
    process.kill(-bash.pid!, 'SIGKILL');
  } catch {
    // the group is gone: the script stopped everything it started
  }
  await closed;
  const shown = `\n--- stdout\n${out}\n--- stderr\n${err}`;
  assert.is(code, 0, `the walkthrough failed${shown}`);
  assert.match(out, /backup \d{8}T\d{9}Z-[0-9a-f]{6} written to .* consistent at LSN \d+, \d file\(s\)/, `backup create reports the backup${shown}`);
  assert.match(out, /archived WAL: LSN 1\.\.\d+/, `backup list shows the archive${shown}`);
  assert.match(out, /^ok {2}\d{8}T/m, `verify passes${shown}`);
  assert.match(out, /^ok {2}archive: /m);
  assert.is(out.match(/v2/g)?.length, 2, `the restore before the mistake has v2, and so does the server on it${shown}`);
  assert.match(err, /NOT_FOUND/, 'the latest point has the delete');
  assert.match(err, /RESTORE_TARGET_NOT_EMPTY/, 'a second restore into the same directory is refused');
});

test.run();
