/**
 * The light embedded install (issue 20): `import { open } from 'kvstore-plus-plus'` loads this
 * package's own modules and nothing else — no server, no argon2, no jose — while AuthService
 * stays exported from the main entry and loads its crypto on first use. The module list comes
 * from scripts/import-cost.mjs (fresh process, ESM load hook + require.cache), the same tool
 * whose numbers the README quotes.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './helpers.js';

const test = suite('embedded import');

interface Cost {
  modules: number;
  packages: Record<string, number>;
  urls: string[];
}

function cost(entry: string): Cost {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'import-cost.mjs'), '--entry', entry, '--runs', '1', '--json'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Cost;
}

test('the main entry loads no third-party package (no argon2, no jose, no fastify)', () => {
  const c = cost('dist/ts/index.js');
  assert.equal(Object.keys(c.packages), ['(this package)']);
});

test('the main entry loads none of the server\'s or the CLI\'s modules', () => {
  const own = cost('dist/ts/index.js').urls.filter((u) => u.includes('/dist/ts/'));
  assert.ok(own.some((u) => u.endsWith('/dist/ts/store/store.js')), 'sanity: the store is loaded');
  assert.equal(own.filter((u) => /\/dist\/ts\/(server|cli)\//.test(u)), []);
});

test('AuthService is still exported from the main entry', async () => {
  const main = await import('../ts/index.js');
  assert.type(main.AuthService, 'function');
  assert.type(main.AuthService.open, 'function');
});

test.run();
