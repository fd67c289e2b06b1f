// Crash-recovery check of an installed package, run by test/pack/arm64.mjs under qemu-user
// (and usable anywhere): `write DIR` puts key:N = value:N with durability 'always' on the
// native engine, one awaited put at a time, and prints "acked N" after each; it stops by
// itself after 60 s or 100000 puts, but is meant to be killed with SIGKILL mid-stream.
// `check DIR N` reopens the store (WAL replay) and asserts key:0 … key:N are all there.
import assert from 'node:assert/strict';
import { open } from 'kvstore-plus-plus';

const [mode, dir, last] = process.argv.slice(2);
assert.ok((mode === 'write' || mode === 'check') && dir, 'usage: node crash.mjs write DIR | check DIR LAST_ACKED');
const db = await open({ dir, engine: 'native', durability: 'always' });
assert.equal(db.stats().engine, 'native');
if (mode === 'write') {
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    await db.put(`key:${i}`, `value:${i}`);
    process.stdout.write(`acked ${i}\n`);
  }
  await db.close();
} else {
  const n = Number(last);
  assert.ok(Number.isInteger(n) && n >= 0, `LAST_ACKED must be a count, not ${last}`);
  for (let i = 0; i <= n; i++) assert.equal(db.get(`key:${i}`)?.toString(), `value:${i}`, `acked key:${i} lost in the crash`);
  console.log(`crash: all ${n + 1} acknowledged puts survived kill -9 (native engine, ${process.arch})`);
  await db.close();
}
