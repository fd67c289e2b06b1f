// Consumer check, run by test/pack/run.mjs with the platform package moved away (and no
// local build): engine 'native' fails with NATIVE_UNAVAILABLE naming both places it tried;
// engine 'auto' opens the pure-TS engine and warns.
import assert from 'node:assert/strict';
import path from 'node:path';
import { KvError, open } from 'kvstore-plus-plus';

const dir = process.argv[2];
assert.ok(dir, 'usage: node fallback.mjs DATA_DIR');
await assert.rejects(open({ dir: path.join(dir, 'fallback'), engine: 'native' }), (e) => {
  assert.ok(e instanceof KvError);
  assert.equal(e.code, 'NATIVE_UNAVAILABLE');
  const tried = e.cause.errors.map((a) => a.message);
  assert.equal(tried.length, 2, tried.join('\n'));
  assert.match(tried[0], /^local build .*node_modules\/kvstore-plus-plus\/build\/Release\/kvstore_native\.node: no such file$/);
  assert.match(tried[1], /^package @kvstore-plus-plus\/native-linux-x64-gnu: not installed/);
  return true;
});
const logs = [];
const db = await open({ dir: path.join(dir, 'fallback'), engine: 'auto', onLog: (level, message) => logs.push({ level, message }) });
assert.equal(db.stats().engine, 'js');
await db.put('k', 'v');
assert.equal(db.get('k')?.toString(), 'v');
await db.close();
assert.ok(logs.some((l) => l.level === 'warn' && /native engine unavailable/.test(l.message)), JSON.stringify(logs));
console.log('fallback: ok (native: NATIVE_UNAVAILABLE listing both attempts; auto: pure-TS engine with a warning)');
