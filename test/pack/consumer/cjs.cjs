// Consumer check (CommonJS), run by test/pack/run.mjs: require() of the package (Node's
// require(esm)), the native engine from the platform package, write, close, reopen, read;
// require and import share one module instance (no dual-package hazard).
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { KvError, open } = require('kvstore-plus-plus');
const errors = require('kvstore-plus-plus/errors');

async function main() {
  const dir = process.argv[2];
  assert.ok(dir, 'usage: node cjs.cjs DATA_DIR');
  const data = path.join(dir, 'cjs');
  let db = await open({ dir: data, engine: 'native' });
  assert.equal(db.stats().engine, 'native');
  await db.put('key:cjs', 'value:cjs');
  await db.close();
  db = await open({ dir: data, engine: 'native' });
  assert.equal(db.get('key:cjs')?.toString(), 'value:cjs');
  await db.close();
  assert.equal(errors.KvError, KvError);
  const esm = await import('kvstore-plus-plus');
  assert.equal(esm.KvError, KvError, 'require and import give the same module');
  assert.throws(() => require('kvstore-plus-plus/dist/ts/binding.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  console.log('cjs: ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
