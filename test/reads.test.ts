/**
 * Reads as users write them (issue 20): iterator() with Level's range options, its async and
 * sync forms, has, getMany, and Symbol.asyncDispose on stores and iterators.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const str = (e: [Buffer | undefined, Buffer | undefined]): [string | undefined, string | undefined] => [e[0]?.toString(), e[1]?.toString()];

for (const engine of ENGINES) {
  const test = suite(`reads [${engine}]`);
  let db: Store;
  test.before.each(async () => {
    db = await open({ dir: tempDir('reads'), engine, durability: 'none' });
    await db.batch(['a', 'b', 'c', 'd', 'e'].map((k) => ({ type: 'put' as const, key: k, value: k.toUpperCase() })));
  });
  test.after.each(async () => {
    await db.close();
  });
  const keysOf = async (o: Parameters<Store['iterator']>[0]): Promise<string[]> => (await db.iterator(o).all()).map(([k]) => String(k));

  test('gt / gte / lt / lte bound the range, exclusive and inclusive', async () => {
    assert.equal(await keysOf({ gt: 'b' }), ['c', 'd', 'e']);
    assert.equal(await keysOf({ gte: 'b' }), ['b', 'c', 'd', 'e']);
    assert.equal(await keysOf({ lt: 'd' }), ['a', 'b', 'c']);
    assert.equal(await keysOf({ lte: 'd' }), ['a', 'b', 'c', 'd']);
    assert.equal(await keysOf({ gt: 'a', lte: 'c' }), ['b', 'c']);
    assert.equal(await keysOf({ gt: 'bb', lt: 'd' }), ['c'], 'bounds need not be stored keys');
    assert.equal(await keysOf({ gt: 'c', lt: 'b' }), [], 'an empty range');
  });

  test('reverse and limit; limit counts entries in the chosen order', async () => {
    assert.equal(await keysOf({ reverse: true }), ['e', 'd', 'c', 'b', 'a']);
    assert.equal(await keysOf({ reverse: true, lte: 'c', limit: 2 }), ['c', 'b']);
    assert.equal(await keysOf({ gte: 'b', limit: 2 }), ['b', 'c']);
    assert.equal(await keysOf({ limit: 0 }), []);
  });

  test('keys: false / values: false leave that part undefined (and typed so)', async () => {
    const noKeys: Array<[undefined, Buffer]> = await db.iterator({ keys: false }).all();
    assert.is(noKeys.length, 5);
    assert.equal((await db.iterator({ lt: 'c', keys: false }).all()).map(str), [[undefined, 'A'], [undefined, 'B']]);
    assert.equal((await db.iterator({ lt: 'c', values: false }).all()).map(str), [['a', undefined], ['b', undefined]]);
  });

  test('a prefix combines with the bounds', async () => {
    await db.put('ab', 'AB');
    assert.equal(await keysOf({ prefix: 'a' }), ['a', 'ab']);
    assert.equal(await keysOf({ prefix: 'a', gt: 'a' }), ['ab']);
  });

  test('catalog keys (_sys.) are never yielded, whatever the range', async () => {
    await systemView(db).put('_sys.x', 'secret');
    assert.equal(await keysOf({ gte: '_', lt: '_t' }), []);
    assert.equal(await keysOf({}), ['a', 'b', 'c', 'd', 'e']);
  });

  test('for await walks the range; breaking out closes the iterator', async () => {
    const it = db.iterator({ gte: 'b' });
    const seen: string[] = [];
    for await (const [k] of it) {
      seen.push(k.toString());
      if (seen.length === 2) break;
    }
    assert.equal(seen, ['b', 'c']);
    assert.equal(await it.next(), { done: true, value: undefined }, 'closed by break');
  });

  test('the sync form: for...of over the same cursor', () => {
    const seen: string[] = [];
    for (const [k, v] of db.iterator({ lt: 'c' })) seen.push(`${k}=${v}`);
    assert.equal(seen, ['a=A', 'b=B']);
    const it = db.iterator();
    assert.is(it.nextSync().value?.[0].toString(), 'a');
    assert.equal([...it].map(([k]) => k.toString()), ['b', 'c', 'd', 'e'], 'sync iteration continues where next stopped');
  });

  test('overlapping next() calls get entries in call order', async () => {
    const it = db.iterator();
    const got = await Promise.all([it.next(), it.next(), it.next()]);
    assert.equal(got.map((r) => r.value?.[0].toString()), ['a', 'b', 'c']);
  });

  test('a long async iteration gives the event loop turns (timers run meanwhile)', async () => {
    const ops = Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(5, '0')}`, value: 'v' }));
    await db.batch(ops);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let n = 0;
    for await (const _ of db.iterator({ gte: 'k' })) n++;
    clearInterval(timer);
    assert.is(n, 5000);
    assert.ok(ticks >= 2, `timers ran ${ticks} times during the iteration`);
  });

  test('bad options fail at the call: unknown name, gt with gte, lt with lte, non-boolean flags, bad limit', async () => {
    const never = <T>(v: unknown): T => v as T;
    await rejectsWith('UNKNOWN_OPTION', () => db.iterator(never({ gtee: 'a' })));
    await rejectsWith('INVALID_ARGUMENT', () => db.iterator({ gt: 'a', gte: 'a' }));
    await rejectsWith('INVALID_ARGUMENT', () => db.iterator({ lt: 'a', lte: 'a' }));
    await rejectsWith('INVALID_ARGUMENT', () => db.iterator(never({ keys: 'no' })));
    await rejectsWith('INVALID_ARGUMENT', () => db.iterator({ limit: -1 }));
    await rejectsWith('INVALID_ARGUMENT', () => db.iterator(never(null)));
  });

  test('has: present, absent, empty value, expired', async () => {
    let now = 1_000;
    const t = await open({ dir: tempDir('reads'), engine, clock: () => now });
    try {
      await t.put('empty', '');
      await t.put('ttl', 'v', { ttlMs: 10 });
      assert.is(t.has('empty'), true);
      assert.is(t.has('ttl'), true);
      assert.is(t.has('nope'), false);
      now += 11;
      assert.is(t.has('ttl'), false);
      await rejectsWith('RESERVED_KEY', () => t.has('_sys.x'));
    } finally {
      await t.close();
    }
  });

  test('getMany: values in key order, undefined for the absent; bad input is INVALID_ARGUMENT', async () => {
    assert.equal(db.getMany(['b', 'zz', 'a']).map((v) => v?.toString()), ['B', undefined, 'A']);
    assert.equal(db.getMany([]), []);
    await rejectsWith('INVALID_ARGUMENT', () => db.getMany('a' as unknown as string[]));
    await rejectsWith('RESERVED_KEY', () => db.getMany(['a', '_sys.x']));
  });

  test('await using closes the store at the end of the scope', async () => {
    const dir = tempDir('reads');
    let leaked: Store | undefined;
    {
      await using s = await open({ dir, engine });
      await s.put('k', 'v');
      leaked = s;
    }
    await rejectsWith('CLOSED', () => leaked!.get('k'));
    const again = await open({ dir, engine });
    assert.is(again.get('k')?.toString(), 'v', 'the directory was released');
    await again.close();
  });

  test('using / await using close an iterator', async () => {
    let it: ReturnType<Store['iterator']> | undefined;
    {
      await using i = db.iterator();
      await i.next();
      it = i;
    }
    assert.equal(await it.next(), { done: true, value: undefined });
    {
      using i = db.iterator();
      it = i;
    }
    assert.is(it.nextSync().done, true);
  });

  test('an iterator of a closed store fails with CLOSED when it reads', async () => {
    const s = await open({ dir: tempDir('reads'), engine });
    await s.put('k', 'v');
    const it = s.iterator();
    await s.close();
    await rejectsWith('CLOSED', () => it.next());
  });

  test.run();
}
