/**
 * The API reference (typedoc over the package's entry points, typedoc.json) builds with no
 * warning: every type a public signature names is exported, and every comment link resolves.
 * `npm run docs:api` writes it to dist/api-reference/ (not packed).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './helpers.js';

test('typedoc builds the API reference with no warnings, covering every entry point', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-typedoc-'));
  try {
    const bin = path.join(repoRoot, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [bin, '--out', out, '--logLevel', 'Warn'], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
    const log = `${r.stdout}${r.stderr}`;
    assert.is(r.status, 0, log);
    assert.not.match(log, /warning|error/i, log);
    const index = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    // One module page per entry point (package.json's exports), and the main functions documented.
    for (const mod of ['index', 'server', 'client', 'level', 'errors']) assert.match(index, new RegExp(`modules/${mod}\\.html`), `no page for ${mod}`);
    const mainPage = fs.readFileSync(path.join(out, 'modules', 'index.html'), 'utf8');
    for (const name of ['open', 'Store', 'KvError']) assert.match(mainPage, new RegExp(`>${name}<`), `${name} missing from the reference`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test.run();
