/**
 * Key and value encodings (issue 20): what each encoding stores and returns through every read
 * and write path, the errors of bad input and undecodable bytes, and the types open() gives
 * (checked by the compiler: this file does not build if they drift).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Encoding, type OpenOptions, type Store } from '../ts/index.js';
import { ENGINES, rejectsWith, repoRoot, tempDir } from './helpers.js';

interface User {
  name: string;
  age: number;
}

/** A custom encoding: "name|age". */
const userCodec: Encoding<User> = {
  encode: (u) => `${u.name}|${u.age}`,
  decode: (b) => {
    const [name, age] = b.toString('utf8').split('|');
    if (name === undefined || age === undefined) throw new Error('not name|age');
    return { name, age: Number(age) };
  },
};

for (const engine of ENGINES) {
  const test = suite(`encodings [${engine}]`);
  const closing: Array<{ close(): Promise<void> }> = [];
  const at = async <S extends { close(): Promise<void> }>(s: S): Promise<S> => {
    closing.push(s);
    return s;
  };
  test.after.each(async () => {
    for (const s of closing.splice(0)) await s.close();
  });

  test('default (binary): strings and bytes in, Buffers out, as before encodings existed', async () => {
    const db = await at(await open({ dir: tempDir('enc'), engine }));
    await db.put('k', 'v');
    const v: Buffer | undefined = db.get('k');
    assert.ok(Buffer.isBuffer(v));
    assert.is(v!.toString(), 'v');
  });

  test("valueEncoding 'utf8': get, getEntry, getMany, scan and iterator return strings", async () => {
    const db = await at(await open({ dir: tempDir('enc'), engine, valueEncoding: 'utf8' }));
    await db.put('a', 'héllo');
    await db.batch([{ type: 'put', key: 'b', value: 'wörld' }]);
    const got: string | undefined = db.get('a');
    assert.is(got, 'héllo');
    assert.is(db.getEntry('b')?.value, 'wörld');
    assert.equal(db.getMany(['a', 'b', 'c']), ['héllo', 'wörld', undefined]);
    assert.equal([...db.scan()].map(([k, v]) => [k.toString(), v]), [['a', 'héllo'], ['b', 'wörld']]);
    assert.equal(await db.iterator({ keys: false }).all(), [[undefined, 'héllo'], [undefined, 'wörld']]);
  });

  test("valueEncoding 'json': values round-trip as JSON and are stored as JSON text", async () => {
    const dir = tempDir('enc');
    const db = await open<User>({ dir, engine, valueEncoding: 'json' });
    await db.put('u1', { name: 'ada', age: 36 });
    await db.batch([{ type: 'put', key: 'u2', value: { name: 'bob', age: 7 } }]);
    const u: User | undefined = db.get('u1');
    assert.equal(u, { name: 'ada', age: 36 });
    assert.equal([...db.scan()].map(([, v]) => v.name), ['ada', 'bob']);
    await db.close();
    const raw = await at(await open({ dir, engine }));
    assert.is(raw.get('u1')?.toString(), '{"name":"ada","age":36}');
  });

  test("'json': a value with no JSON form fails with INVALID_ARGUMENT and writes nothing", async () => {
    const db = await at(await open<unknown>({ dir: tempDir('enc'), engine, valueEncoding: 'json' }));
    await rejectsWith('INVALID_ARGUMENT', () => db.put('k', undefined));
    await rejectsWith('INVALID_ARGUMENT', () => db.put('k', 1n));
    await rejectsWith('INVALID_ARGUMENT', () => db.batch([{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'k', value: () => 1 }]));
    assert.is(db.has('k'), false);
    assert.is(db.has('a'), false, 'no part of the batch was written');
  });

  test('stored bytes the encoding cannot decode fail the read with DECODE_ERROR', async () => {
    const dir = tempDir('enc');
    const raw = await open({ dir, engine });
    await raw.put('bad', 'not json {');
    await raw.close();
    const db = await at(await open<unknown>({ dir, engine, valueEncoding: 'json' }));
    await rejectsWith('DECODE_ERROR', () => db.get('bad'));
    await rejectsWith('DECODE_ERROR', () => db.getEntry('bad'));
    await rejectsWith('DECODE_ERROR', () => [...db.scan()]);
    await rejectsWith('DECODE_ERROR', () => db.iterator().all());
    assert.is(db.has('bad'), true, 'has() decodes nothing');
    assert.equal(await db.iterator({ values: false }).all(), [[Buffer.from('bad'), undefined]], 'an iterator without values decodes none');
  });

  test("valueEncoding 'msgpack' (msgpackr): values round-trip, stored as plain MessagePack", async () => {
    const dir = tempDir('enc');
    const db = await open<{ n: number; tags: string[] }>({ dir, engine, valueEncoding: 'msgpack' });
    await db.put('k', { n: 1, tags: ['a'] });
    assert.equal(db.get('k'), { n: 1, tags: ['a'] });
    await db.close();
    const raw = await at(await open({ dir, engine }));
    const first = raw.get('k')![0]!;
    assert.ok((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf, `a MessagePack map, not a msgpackr record (0x${first.toString(16)})`);
  });

  test("'msgpack' without msgpackr installed: open() fails with ENCODING_UNAVAILABLE and creates nothing", () => {
    // A child whose resolver cannot find msgpackr, as in an install without the optional peer.
    const hide = `export async function resolve(s, c, n) { if (s === 'msgpackr') { const e = new Error('not installed'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
    const dir = path.join(tempDir('enc'), 'db');
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hide)}));
      const { open } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'ts', 'index.js'))});
      try { await open({ dir: ${JSON.stringify(dir)}, engine: ${JSON.stringify(engine)}, valueEncoding: 'msgpack' }); console.log('opened'); }
      catch (err) { console.log(err.code, err.cause?.code); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.stdout.trim(), 'ENCODING_UNAVAILABLE ERR_MODULE_NOT_FOUND', r.stderr);
    assert.not.ok(fs.existsSync(dir), 'the directory was not created');
  });

  test('a custom { encode, decode } encoding; its encode error is INVALID_ARGUMENT, its decode error DECODE_ERROR', async () => {
    const dir = tempDir('enc');
    const db = await open({ dir, engine, valueEncoding: userCodec });
    await db.put('u', { name: 'ada', age: 36 });
    const u: User | undefined = db.get('u');
    assert.equal(u, { name: 'ada', age: 36 });
    await db.close();
    const raw = await open({ dir, engine });
    assert.is(raw.get('u')?.toString(), 'ada|36');
    await raw.put('junk', 'no separator');
    await raw.close();
    const again = await at(await open({ dir, engine, valueEncoding: userCodec }));
    await rejectsWith('DECODE_ERROR', () => again.get('junk'));
    const throwing: Encoding<number> = { encode: () => { throw new Error('no'); }, decode: () => 0 };
    const db2 = await at(await open({ dir: tempDir('enc'), engine, valueEncoding: throwing }));
    await rejectsWith('INVALID_ARGUMENT', () => db2.put('k', 1));
    assert.is(db2.has('k'), false);
  });

  test("keyEncoding 'utf8': scan and iterator keys are strings; bounds are keys", async () => {
    const db = await at(await open({ dir: tempDir('enc'), engine, keyEncoding: 'utf8', valueEncoding: 'utf8' }));
    for (const k of ['a', 'b', 'c', 'd']) await db.put(k, k.toUpperCase());
    const keys: string[] = [...db.scan({ start: 'b', end: 'd' })].map(([k]) => k);
    assert.equal(keys, ['b', 'c']);
    assert.equal(await db.iterator({ gt: 'a', lte: 'c' }).all(), [['b', 'B'], ['c', 'C']]);
  });

  test("keyEncoding 'json': keys are encoded (and sort by their JSON text)", async () => {
    const db = await at(await open<string, [string, number]>({ dir: tempDir('enc'), engine, keyEncoding: 'json', valueEncoding: 'utf8' }));
    await db.put(['user', 2], 'two');
    await db.put(['user', 10], 'ten');
    assert.is(db.get(['user', 2]), 'two');
    assert.is(db.has(['user', 3]), false);
    const keys: Array<[string, number]> = [...db.scan()].map(([k]) => k);
    assert.equal(keys, [['user', 10], ['user', 2]], '"[\\"user\\",10]" < "[\\"user\\",2]" as bytes');
    assert.equal(await db.delete(['user', 2]), { deleted: true });
  });

  test('open() refuses an unknown encoding name or a half custom encoding, before touching the directory', async () => {
    const never = <T>(v: unknown): T => v as T;
    await rejectsWith('INVALID_ARGUMENT', () => open(never<OpenOptions>({ dir: tempDir('enc'), engine, valueEncoding: 'base64' })));
    await rejectsWith('INVALID_ARGUMENT', () => open(never<OpenOptions>({ dir: tempDir('enc'), engine, keyEncoding: { encode: String } })));
  });

  test('types follow the encodings (compile-time checks)', async () => {
    const db = await at(await open({ dir: tempDir('enc'), engine, valueEncoding: 'utf8' }));
    // @ts-expect-error a utf8 store takes strings, not numbers
    await rejectsWith('INVALID_ARGUMENT', () => db.put('k', 1));
    const typed = await at(await open<User>({ dir: tempDir('enc'), engine, valueEncoding: 'json' }));
    // @ts-expect-error a Store<User> takes Users
    await typed.put('k', { name: 'x' }).catch(() => undefined);
    // @ts-expect-error 'utf8' does not decode to a User
    await open<User>({ dir: tempDir('enc'), engine, valueEncoding: 'utf8' }).then((s) => at(s));
    const plain: Store = await at(await open({ dir: tempDir('enc'), engine }));
    assert.ok(plain);
  });
  test.run();
}
