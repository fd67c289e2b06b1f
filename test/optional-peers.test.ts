/**
 * The light embedded install (issue 20): `npm install kvstore-plus-plus` does not install the
 * server's libraries (optional peers). The main package's features that use them lazily fail
 * with PACKAGE_UNAVAILABLE naming what to install, and the programs (the `kvstore-plus-plus/bin/*`
 * exports that kvstore-plus-plus-server's bin shims import) print one line and exit 1. The
 * packages are hidden with a resolve hook (children/without-packages.ts); test/pack/run.mjs
 * checks the same on a real embedded install.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from './cli-proc.js';
import { repoRoot } from './helpers.js';
import { childScript } from './proc.js';

const test = suite('optional peers');
const dist = (...p: string[]): string => path.join(repoRoot, 'dist', 'ts', ...p);
const hiding = (packages: string[]): { env: Record<string, string> } => ({ env: { KVSTORE_TEST_HIDE_PACKAGES: packages.join(',') } });

/** Runs an ESM snippet with `packages` hidden; returns what it printed as JSON. */
async function evalWithout(packages: string[], code: string): Promise<Record<string, { code?: string; message?: string }>> {
  const r = await runCli('--input-type=module', ['--import', childScript('without-packages'), '-e', code], hiding(packages));
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, { code?: string; message?: string }>;
}

const caught = `const caught = async (f) => { try { await f(); return {}; } catch (e) { return { code: e.code, message: e.message }; } };`;

test('AuthService crypto without @node-rs/argon2 and jose: PACKAGE_UNAVAILABLE naming each package', async () => {
  const out = await evalWithout(['@node-rs/argon2', 'jose'], `
    import { hashPassword } from ${JSON.stringify(pathToFileURL(dist('auth', 'passwords.js')).href)};
    import { signSession } from ${JSON.stringify(pathToFileURL(dist('auth', 'tokens.js')).href)};
    ${caught}
    console.log(JSON.stringify({
      hash: await caught(() => hashPassword('a password', { memoryKiB: 19456, iterations: 2, parallelism: 1 })),
      sign: await caught(() => signSession('k1', Buffer.alloc(32), { sub: 'ada', uid: 1, ep: 0 }, Date.now(), 60)),
    }));`);
  assert.is(out.hash?.code, 'PACKAGE_UNAVAILABLE');
  assert.match(out.hash?.message ?? '', /password hashing \(AuthService\) needs the optional package @node-rs\/argon2, which is not installed: npm install @node-rs\/argon2 \(or npm install kvstore-plus-plus-server/);
  assert.is(out.sign?.code, 'PACKAGE_UNAVAILABLE');
  assert.match(out.sign?.message ?? '', /session tokens \(AuthService\) needs the optional package jose, which is not installed: npm install jose/);
});

test('a grpc:// client without the gRPC packages: connect() works, its first call fails with PACKAGE_UNAVAILABLE; http:// needs none', async () => {
  const out = await evalWithout(['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'], `
    import { connect } from ${JSON.stringify(pathToFileURL(dist('client', 'index.js')).href)};
    ${caught}
    const kv = connect({ url: 'grpc://127.0.0.1:9', retry: { retries: 0 } });
    const get = await caught(() => kv.get('k'));
    await kv.close();
    const http = connect({ url: 'http://127.0.0.1:9', retry: { retries: 0 }, timeoutMs: 2000 });
    const httpGet = await caught(() => http.get('k'));
    await http.close();
    console.log(JSON.stringify({ get, httpGet }));`);
  assert.is(out.get?.code, 'PACKAGE_UNAVAILABLE', JSON.stringify(out.get));
  assert.match(out.get?.message ?? '', /the grpc:\/\/ client needs the optional packages @grpc\/grpc-js @grpc\/proto-loader protobufjs, which are not installed/);
  assert.is(out.httpGet?.code, 'UNAVAILABLE', `an http:// client loads no gRPC: ${JSON.stringify(out.httpGet)}`);
});

for (const [program, missing] of [['kvstored', 'fastify'], ['kvctl', 'commander'], ['kvb', 'commander']] as const) {
  test(`${program} without ${missing}: one line naming kvstore-plus-plus-server, exit 1, no stack`, async () => {
    const r = await runCli('--import', [childScript('without-packages'), dist('bin', `${program}.js`), '--help'], hiding([missing]));
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr, `${program}: the package ${missing} is not installed; ${program} comes with the server package: npm install kvstore-plus-plus-server\n`);
    assert.is(r.stdout, '');
  });
}

test('with its packages installed, the kvstored and kvctl exports run the programs', async () => {
  const kvstored = await runCli(dist('bin', 'kvstored.js'), ['--version']);
  assert.is(kvstored.code, 0, kvstored.stderr);
  assert.match(kvstored.stdout, /\d+\.\d+\.\d+/);
  const kvctl = await runCli(dist('bin', 'kvctl.js'), ['--help']);
  assert.is(kvctl.code, 0, kvctl.stderr);
  assert.match(kvctl.stdout, /kvctl/);
});

test.run();
