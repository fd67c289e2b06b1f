/**
 * KvLevel beyond abstract-level's suite (test/level.tape.ts): how Level keys map onto the
 * store, open's createIfMissing / errorIfExists codes, persistence across reopen, and the
 * store behind it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { KvLevel } from '../ts/level/index.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

for (const engine of ENGINES) {
  const test = suite(`level adapter [${engine}]`);
  const store = { engine, durability: 'always' as const };

  test('a Level key k is the store key 0x00 + k; empty and "_sys." keys are ordinary Level keys', async () => {
    const dir = tempDir('level');
    const db = new KvLevel(dir, { store });
    await db.put('', 'empty');
    await db.put('_sys.x', 'not the catalog');
    assert.is(await db.get(''), 'empty');
    assert.is(await db.get('_sys.x'), 'not the catalog');
    await db.close();
    const raw = await open({ dir, engine });
    assert.equal([...raw.scan()].map(([k, v]) => [k.toString('latin1'), v.toString()]), [['\x00', 'empty'], ['\x00_sys.x', 'not the catalog']]);
    assert.is(raw.count(), 2);
    await raw.close();
  });

  test('writes survive a reopen (durability always)', async () => {
    const dir = tempDir('level');
    const db = new KvLevel<string, { n: number }>(dir, { valueEncoding: 'json', store });
    await db.batch([{ type: 'put', key: 'a', value: { n: 1 } }, { type: 'put', key: 'b', value: { n: 2 } }]);
    await db.del('a');
    await db.close();
    const again = new KvLevel<string, { n: number }>(dir, { valueEncoding: 'json', store });
    assert.equal(await again.iterator().all(), [['b', { n: 2 }]]);
    await again.close();
  });

  test('createIfMissing: false on a missing directory fails with NOT_FOUND as the cause', async () => {
    const db = new KvLevel(path.join(tempDir('level'), 'missing'), { createIfMissing: false, store });
    await rejectsWith('LEVEL_DATABASE_NOT_OPEN', () => db.open());
    const err = await db.open().catch((e: unknown) => e as { cause?: { code?: string } });
    assert.is(err?.cause?.code, 'NOT_FOUND');
    assert.not.ok(fs.existsSync(db.location), 'nothing was created');
  });

  test('errorIfExists on a directory holding a store fails with ALREADY_EXISTS as the cause', async () => {
    const dir = tempDir('level');
    const db = new KvLevel(dir, { store });
    await db.open();
    await db.close();
    const err = await db.open({ errorIfExists: true }).catch((e: unknown) => e as { code?: string; cause?: { code?: string } });
    assert.is(err?.code, 'LEVEL_DATABASE_NOT_OPEN');
    assert.is(err?.cause?.code, 'ALREADY_EXISTS');
  });

  test('a Level key is at most 4095 bytes (one byte goes to the namespace)', async () => {
    const db = new KvLevel(tempDir('level'), { store });
    await db.put('k'.repeat(4095), 'v');
    await rejectsWith('KEY_TOO_LARGE', () => db.put('k'.repeat(4096), 'v'));
    await db.close();
  });

  test('db.store is the open store; it throws CLOSED once the database is closed', async () => {
    const db = new KvLevel(tempDir('level'), { store });
    await db.open();
    await db.put('k', 'v');
    assert.is(db.store.stats().engine, engine);
    await db.close();
    await rejectsWith('CLOSED', () => db.store);
  });

  test.run();
}
