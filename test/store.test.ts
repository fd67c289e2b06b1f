import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { DURABILITIES, ENGINES, rejectsWith, tempDir } from './helpers.js';

for (const engine of ENGINES) {
  for (const durability of DURABILITIES) {
    const test = suite(`store [${engine}, ${durability}]`);
    let now = 1_000_000;
    const clock = (): number => now;
    let dir = '';
    let db: Store;
    test.before.each(async () => {
      dir = tempDir('store');
      now = 1_000_000;
      db = await open({ dir, engine, durability, clock });
    });
    test.after.each(async () => {
      await db.close();
    });
    const reopen = async (): Promise<void> => {
      await db.close();
      db = await open({ dir, engine, durability, clock });
    };

    test('put then get returns the bytes; strings are UTF-8', async () => {
      await db.put('héllo', 'wörld');
      await db.put(Buffer.from([0, 255, 1]), Buffer.from([9, 0, 9]));
      assert.is(db.get('héllo')?.toString(), 'wörld');
      assert.equal(db.get(Buffer.from([0, 255, 1])), Buffer.from([9, 0, 9]));
      assert.is(db.get('missing'), undefined);
    });

    test('versions are LSNs and grow with every write', async () => {
      const a = await db.put('k', '1');
      const b = await db.put('k', '2');
      assert.ok(b.version > a.version);
      assert.is(db.getEntry('k')?.version, b.version);
    });

    test('empty values are stored and differ from absent', async () => {
      await db.put('empty', '');
      assert.equal(db.get('empty'), Buffer.alloc(0));
    });

    test('delete reports whether something was deleted', async () => {
      await db.put('k', 'v');
      assert.equal(await db.delete('k'), { deleted: true });
      assert.equal(await db.delete('k'), { deleted: false });
      assert.is(db.get('k'), undefined);
    });

    test('compare-and-swap: ifVersion 0 creates only; a stale version is refused', async () => {
      const { version } = await db.put('cas', 'a', { ifVersion: 0n });
      await rejectsWith('VERSION_MISMATCH', () => db.put('cas', 'b', { ifVersion: 0n }));
      await rejectsWith('VERSION_MISMATCH', () => db.put('cas', 'b', { ifVersion: version + 1n }));
      await db.put('cas', 'c', { ifVersion: version });
      assert.is(db.get('cas')?.toString(), 'c');
    });

    test('CAS sees a write that is submitted but not yet durable', async () => {
      const first = db.put('race', 'a', { ifVersion: 0n });
      await rejectsWith('VERSION_MISMATCH', () => db.put('race', 'b', { ifVersion: 0n }));
      await first;
      assert.is(db.get('race')?.toString(), 'a');
    });

    test('a refusal that reveals a pending write is reported only once that write is acknowledged (linearizable)', async () => {
      // Each refusal below is decided on a write submitted just before and not yet durable. A
      // client hearing the refusal and then reading must see that write: so the write must
      // have settled (and be visible) by the time the refusal does.
      await db.put('r4', 'x');
      const cases: Array<[string, string, () => Promise<unknown>, () => Promise<unknown>, string | undefined]> = [
        ['cas create', 'r1', () => db.put('r1', 'a'), () => db.put('r1', 'b', { ifVersion: 0n }), 'a'],
        ['cas delete', 'r2', () => db.put('r2', 'a'), () => db.delete('r2', { ifVersion: 0n }), 'a'],
        ['incr', 'r3', () => db.put('r3', 'not a number'), () => db.incr('r3'), 'not a number'],
        ['delete of a pending delete', 'r4', () => db.delete('r4'), () => db.delete('r4'), undefined],
      ];
      for (const [name, key, write, refused, expected] of cases) {
        let settled = false;
        const w = write().then(() => void (settled = true));
        const seen = await refused().then(
          (r) => ({ ok: r, settled, value: db.get(key)?.toString() }),
          (e: { code?: string }) => ({ err: e.code, settled, value: db.get(key)?.toString() }),
        );
        assert.ok(seen.settled, `${name}: the refusal (${JSON.stringify(seen)}) came before the write it revealed was acknowledged`);
        assert.is(seen.value, expected, `${name}: a read right after the refusal sees the write`);
        assert.ok('err' in seen || (seen.ok as { deleted?: boolean }).deleted === false, `${name}: refused`);
        await w;
      }
    });

    test('conditional delete', async () => {
      const { version } = await db.put('d', 'v');
      await rejectsWith('VERSION_MISMATCH', () => db.delete('d', { ifVersion: version + 5n }));
      assert.equal(await db.delete('d', { ifVersion: version }), { deleted: true });
    });

    test('incr counts from zero, accepts negatives and refuses non-numbers', async () => {
      assert.is(await db.incr('n'), 1n);
      assert.is(await db.incr('n', 41n), 42n);
      assert.is(await db.incr('n', -50n), -8n);
      await db.put('text', 'abc');
      await rejectsWith('NOT_A_NUMBER', () => db.incr('text'));
      await db.put('big', '9223372036854775807');
      await rejectsWith('NOT_A_NUMBER', () => db.incr('big'));
    });

    test('concurrent incr without awaiting in between loses no increment', async () => {
      await Promise.all(Array.from({ length: 200 }, () => db.incr('c')));
      assert.is(db.get('c')?.toString(), '200');
    });

    test('TTL: invisible once expired, kept before, expiry reported', async () => {
      await db.put('t', 'v', { ttlMs: 1000 });
      assert.is(db.getEntry('t')?.expiresAt, 1_001_000);
      now += 999;
      assert.is(db.get('t')?.toString(), 'v');
      now += 1;
      assert.is(db.get('t'), undefined);
      assert.is(db.count(), 0);
      assert.equal([...db.scan()], []);
    });

    test('expired entries are swept from memory in the background', async () => {
      await db.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: `s${i}`, value: 'v', ttlMs: 5 })));
      await db.put('keep', 'v');
      assert.is(db.stats().keys, 51);
      now += 5;
      await new Promise((r) => setTimeout(r, 350));
      assert.is(db.stats().keys, 1);
    });

    test('an expired key counts as absent for CAS and incr', async () => {
      await db.put('t', '5', { ttlMs: 10 });
      now += 10;
      await db.put('t', 'new', { ifVersion: 0n });
      await db.put('u', '5', { ttlMs: 10 });
      now += 10;
      assert.is(await db.incr('u'), 1n);
    });

    test('batch applies all operations with one version', async () => {
      await db.put('gone', 'x');
      const { version } = await db.batch([
        { type: 'put', key: 'b1', value: '1' },
        { type: 'put', key: 'b2', value: '2', ttlMs: 50 },
        { type: 'del', key: 'gone' },
      ]);
      assert.is(db.getEntry('b1')?.version, version);
      assert.is(db.getEntry('b2')?.version, version);
      assert.is(db.get('gone'), undefined);
    });

    test('scan: prefix, range, limit and reverse in byte order', async () => {
      for (const k of ['a', 'b1', 'b2', 'b3', 'c', '\u00ff']) await db.put(k, k.toUpperCase());
      const keys = (o: Parameters<Store['scan']>[0]): string[] => [...db.scan(o)].map(([k]) => k.toString());
      assert.equal(keys({ prefix: 'b' }), ['b1', 'b2', 'b3']);
      assert.equal(keys({ start: 'b2', end: 'c' }), ['b2', 'b3']);
      assert.equal(keys({ limit: 2 }), ['a', 'b1']);
      assert.equal(keys({ prefix: 'b', reverse: true, limit: 2 }), ['b3', 'b2']);
      assert.equal(keys({})[5], '\u00ff'); // UTF-8 c3 bf sorts after ASCII
      assert.is(db.count('b'), 3);
    });

    test('scan pages through more entries than one engine call returns', async () => {
      await db.batch(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: `p:${String(i).padStart(5, '0')}`, value: 'v' })));
      const keys = [...db.scan({ prefix: 'p:' })].map(([k]) => k.toString());
      assert.is(keys.length, 3000);
      assert.is(keys[2999], 'p:02999');
      assert.is([...db.scan({ prefix: 'p:', reverse: true })].length, 3000);
    });

    test('getInto copies into a caller buffer and reports a short one', async () => {
      await db.put('k', 'hello');
      const buf = Buffer.alloc(16);
      assert.is(db.getInto('k', buf), 5);
      assert.is(buf.subarray(0, 5).toString(), 'hello');
      assert.is(db.getInto('absent', buf), -1);
      await rejectsWith('INVALID_ARGUMENT', () => db.getInto('k', Buffer.alloc(2)));
    });

    test('reads and writes agree across the 64 KiB fast-path boundary, with changing targets', async () => {
      // The native engine passes keys and values of up to 64 KiB through a scratch buffer
      // and larger ones through the plain calls; both must give the same bytes.
      const sizes = [0, 1, 65536 - 5, 65536 - 4, 65536, 65537, 200_000];
      for (const n of sizes) {
        const value = Buffer.alloc(n, n % 251);
        const { version } = await db.put('big:' + n, value);
        assert.equal(db.get('big:' + n), value, `get of ${n} bytes`);
        assert.is(db.getEntry('big:' + n)!.version, version);
        const target = Buffer.alloc(n + 3, 0xee);
        assert.is(db.getInto('big:' + n, target), n);
        assert.equal(target.subarray(0, n), value);
        assert.is(target[n], 0xee, 'nothing written past the value');
        await rejectsWith('VERSION_MISMATCH', () => db.put('big:' + n, 'x', { ifVersion: version + 1n }));
        assert.equal(db.get('big:' + n), value);
      }
      const small = Buffer.alloc(8);
      assert.is(db.getInto('big:1', small), 1);
      await rejectsWith('INVALID_ARGUMENT', () => db.getInto('big:200000', small));
      assert.equal(await db.delete('big:200000', { ifVersion: 1n }).catch((e: { code: string }) => e.code), 'VERSION_MISMATCH');
      assert.equal(await db.delete('big:200000'), { deleted: true });
      assert.is(db.get('big:200000'), undefined);
    });

    test('the _sys. prefix is reserved for the catalog and hidden from data scans', async () => {
      await rejectsWith('RESERVED_KEY', () => db.put('_sys.users:x', 'v'));
      await rejectsWith('RESERVED_KEY', () => db.get('_sys.users:x'));
      const sys = systemView(db);
      await rejectsWith('RESERVED_KEY', () => sys.put('a', '1'));
      await rejectsWith('RESERVED_KEY', () => sys.get('_sys/after'));
      await sys.put('_sys.users:x', 'v');
      await sys.batch([{ type: 'put', key: '_sys.roles:y', value: 'w' }]);
      await db.put('a', '1');
      await db.put('_sys/after', '2'); // '/' follows '.': not reserved
      await reopen();
      assert.equal([...db.scan()].map(([k]) => k.toString()), ['_sys/after', 'a']);
      assert.is(db.count(), 2);
      assert.equal([...systemView(db).scan()].map(([k]) => k.toString()), ['_sys.roles:y', '_sys.users:x']);
      assert.equal([...systemView(db).scan({ prefix: '_sys.users:' })].map(([, v]) => v.toString()), ['v']);
      assert.equal([...systemView(db).scan({ reverse: true, limit: 1 })].map(([k]) => k.toString()), ['_sys.users:x']);
    });

    test('bad input gets a clear code and changes nothing', async () => {
      await db.put('k', 'v');
      await rejectsWith('INVALID_ARGUMENT', () => db.put('', 'v'));
      await rejectsWith('KEY_TOO_LARGE', () => db.put('x'.repeat(4097), 'v'));
      await rejectsWith('VALUE_TOO_LARGE', () => db.put('k', Buffer.alloc(16 * 1024 * 1024 + 1)));
      await rejectsWith('INVALID_ARGUMENT', () => db.put('k', 42 as unknown as string));
      await rejectsWith('INVALID_ARGUMENT', () => db.put('k', 'v', { ttlMs: -1 }));
      await rejectsWith('INVALID_ARGUMENT', () => db.batch([{ type: 'put', key: 'ok', value: 'v' }, { type: 'nope' } as never]));
      assert.is(db.get('k')?.toString(), 'v');
      assert.is(db.get('ok'), undefined);
    });

    test('data survives close and reopen, with and without a checkpoint', async () => {
      await db.put('a', '1');
      await db.checkpoint();
      await db.put('b', '2');
      await db.delete('a');
      await reopen();
      assert.is(db.get('a'), undefined);
      assert.is(db.get('b')?.toString(), '2');
      const { version } = await db.put('c', '3');
      assert.ok(version > db.getEntry('b')!.version);
    });

    test("stats: the last checkpoint's wall-clock time, 0 before the first, kept across a reopen", async () => {
      assert.is(db.stats().lastCheckpointTimeMs, 0);
      await db.put('a', '1');
      const t0 = Date.now();
      await db.checkpoint();
      const t = db.stats().lastCheckpointTimeMs;
      assert.ok(t >= t0 - 1000 && t <= Date.now() + 1000, `${t} is the wall clock, not the store's clock (${now})`);
      await reopen();
      assert.is(db.stats().lastCheckpointTimeMs, t, 'read back from the control file');
      await new Promise((r) => setTimeout(r, 5));
      await db.put('b', '2');
      await db.checkpoint();
      assert.ok(db.stats().lastCheckpointTimeMs > t);
    });

    test('a checkpoint taken while writes continue restores exactly the final state', async () => {
      // Thousands of entries per shard, so the native engine copies each shard in several
      // slices while puts, overwrites and deletes land between them.
      await db.close();
      db = await open({ dir, engine, durability, clock, shards: 2 });
      const expect = new Map<string, string>();
      const put = (k: string, v: string): Promise<unknown> => {
        expect.set(k, v);
        return db.put(k, v);
      };
      const del = (k: string): Promise<unknown> => {
        expect.delete(k);
        return db.delete(k);
      };
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 6000; i++) writes.push(put(`c:${String(i).padStart(5, '0')}`, `v${i}`));
      await Promise.all(writes);
      const ckpt = db.checkpoint();
      const during: Promise<unknown>[] = [];
      for (let i = 0; i < 6000; i += 7) during.push(put(`c:${String(i).padStart(5, '0')}`, `w${i}`));
      for (let i = 3; i < 6000; i += 11) during.push(del(`c:${String(i).padStart(5, '0')}`));
      for (let i = 0; i < 500; i++) during.push(put(`d:${i}`, `n${i}`));
      await Promise.all([ckpt, ...during]);
      await reopen();
      const got = new Map([...db.scan({ prefix: 'c:' }), ...db.scan({ prefix: 'd:' })].map(([k, v]) => [k.toString(), v.toString()]));
      assert.is(got.size, expect.size);
      for (const [k, v] of expect) assert.is(got.get(k), v, k);
    });

    test('every call after close fails with CLOSED', async () => {
      await db.close();
      await rejectsWith('CLOSED', () => db.get('k'));
      await rejectsWith('CLOSED', () => db.put('k', 'v'));
      db = await open({ dir, engine, durability, clock });
    });

    test.run();
  }
}

const opts = suite('open() options');
opts('misspelled options are refused by name', async () => {
  await rejectsWith('UNKNOWN_OPTION', () => open({ dir: tempDir(), durabilty: 'always' } as never));
});
opts('shards must be a power of two; durability must be known', async () => {
  await rejectsWith('INVALID_ARGUMENT', () => open({ dir: tempDir(), shards: 3 }));
  await rejectsWith('INVALID_ARGUMENT', () => open({ dir: tempDir(), durability: 'sometimes' as never }));
});
opts.run();
