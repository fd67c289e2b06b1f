// Consumer check (ESM), run by test/pack/run.mjs inside a project that installed the packed
// tarballs: the native engine (forced), write, close, reopen, read, in the main thread and in
// a worker_thread; the addon comes from the platform package (or, with a third argument
// "local", from the package's own source build); the exports map hides internals. AuthService
// and the fastify plugin use the server's libraries, optional peers (issue 20): with them
// installed (kvstore-plus-plus-server) they work; in an embedded install AuthService says
// PACKAGE_UNAVAILABLE and kvstore-plus-plus/server does not load.
import assert from 'node:assert/strict';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AuthService, ERRORS, KvError, open } from 'kvstore-plus-plus';
import * as errors from 'kvstore-plus-plus/errors';

/** Which .node file the package's loader loaded (its module, by file URL: same instance). */
async function loadedAddon() {
  const { loadedNative } = await import(new URL('./binding.js', import.meta.resolve('kvstore-plus-plus')).href);
  return loadedNative();
}

const ADDON_FILES = {
  package: /node_modules\/@kvstore-plus-plus\/native-([a-z0-9-]+)\/kvstore\.\1\.node$/,
  local: /node_modules\/kvstore-plus-plus\/build\/Release\/kvstore_native\.node$/,
};

async function roundTrip(dir, tag, expect) {
  let db = await open({ dir, engine: 'native' });
  assert.equal(db.stats().engine, 'native');
  await db.put(`key:${tag}`, `value:${tag}`);
  await db.close();
  db = await open({ dir, engine: 'native' });
  assert.equal(db.get(`key:${tag}`)?.toString(), `value:${tag}`);
  await db.close();
  const addon = await loadedAddon();
  assert.equal(addon?.source, expect, `${tag}: the addon came from ${JSON.stringify(addon)}`);
  assert.match(addon.file, ADDON_FILES[expect]);
  return addon.file;
}

if (isMainThread) {
  const [dir, expect = 'package'] = process.argv.slice(2);
  assert.ok(dir && expect in ADDON_FILES, 'usage: node esm.mjs DATA_DIR [package|local]');
  const file = await roundTrip(path.join(dir, 'esm-main'), 'esm-main', expect);
  const fromWorker = await new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { dir: path.join(dir, 'esm-worker'), expect } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
  assert.equal(fromWorker, file);
  assert.equal(errors.KvError, KvError, 'one KvError class behind both entry points');
  assert.equal(errors.ERRORS, ERRORS);
  await assert.rejects(open({ dir: path.join(dir, 'x'), engin: 'native' }), (e) => e instanceof KvError && e.code === 'UNKNOWN_OPTION');
  await assert.rejects(import('kvstore-plus-plus/dist/ts/binding.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  await assert.rejects(import('kvstore-plus-plus/ts/index.ts'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  const serverLibraries = await import('fastify').then(() => true, () => false);
  const db = await open({ dir: path.join(dir, 'auth'), engine: 'native' });
  const auth = await AuthService.open(db);
  if (serverLibraries) {
    // The catalog's dependencies load without a compiler too: argon2id (a prebuilt package) and jose.
    await auth.createUser('alice', { password: 'a long passphrase', roles: ['reader'] });
    assert.equal(await auth.verifyPassword('alice', 'a long passphrase'), true);
    assert.equal(await auth.verifyPassword('alice', 'a wrong passphrase'), false);
    const { principal } = await auth.login('alice', 'a long passphrase');
    assert.equal(auth.authorize(principal, 'read', 'k').allow, true);
    const { kvstoreRoutes } = await import('kvstore-plus-plus/server');
    assert.equal(typeof kvstoreRoutes, 'function');
  } else {
    await assert.rejects(
      auth.createUser('alice', { password: 'a long passphrase', roles: ['reader'] }),
      (e) => e instanceof KvError && e.code === 'PACKAGE_UNAVAILABLE' && /npm install @node-rs\/argon2 /.test(e.message),
    );
    await assert.rejects(import('kvstore-plus-plus/server'), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  await auth.close();
  await db.close();
  const extras = serverLibraries ? 'AuthService and the fastify plugin work' : 'no server libraries: AuthService says PACKAGE_UNAVAILABLE';
  console.log(`esm: ok (main thread and worker_thread, native addon ${file}; ${extras})`);
} else {
  parentPort.postMessage(await roundTrip(workerData.dir, 'esm-worker', workerData.expect));
}
