/**
 * Secrets at rest (issue 19): every secret the catalog holds is sealed under the master key,
 * so a data directory copied without its key yields nothing that verifies or forges a
 * session; plaintext catalogs are sealed on the first open with a key; the master key is
 * rotated online; and it is loaded from a file, an environment variable or a command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT } from 'jose';
import { AuthService, open, type Store } from '../ts/index.js';
import { loadMasterKey } from '../ts/auth/service.js';
import { open as openBox } from '../ts/auth/seal.js';
import type { SigningKeyRecord } from '../ts/catalog/schema.js';
import { systemView } from '../ts/store/store.js';
import { allBytes, encodings } from './secret-grep.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const PW = 'correct horse battery';
const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);

function signingKeys(db: Store): SigningKeyRecord[] {
  return [...systemView(db).scan({ prefix: '_sys.signing_keys:' })].map(([, v]) => JSON.parse(v.toString()) as SigningKeyRecord);
}

/** The plaintext of every signing key, opened with the master key (as only its holder can). */
function plainKeys(db: Store, key: string): Buffer[] {
  return signingKeys(db).map((k) => (k.sealed ? openBox(Buffer.from(key, 'hex'), `signing_key:${k.kid}`, k.sealed) : Buffer.from(k.secret!, 'base64url')));
}

/** Every string value of the catalog's JSON records and every ≥16-byte run of the directory's files, tried as an HS256 key. */
function candidates(dir: string, db: Store): Buffer[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.add(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const [, v] of systemView(db).scan()) {
    try {
      walk(JSON.parse(v.toString()));
    } catch {
      out.add(v.toString('latin1'));
    }
  }
  for (const m of allBytes(dir).toString('latin1').matchAll(/[A-Za-z0-9+/_=-]{16,}/g)) out.add(m[0]);
  const keys: Buffer[] = [];
  for (const s of out) keys.push(Buffer.from(s, 'latin1'), Buffer.from(s, 'base64url'), Buffer.from(s, 'base64'));
  return keys.filter((k) => k.length > 0);
}

for (const engine of ENGINES) {
  const test = suite(`secrets at rest [${engine}]`);

  test('signing keys are sealed: the plaintext is nowhere in the WAL or the snapshot', async () => {
    const dir = tempDir('sealed');
    const db = await open({ dir, engine });
    const auth = await AuthService.open(db, { masterKey: KEY_A });
    await auth.createUser('alice', { password: PW, roles: ['reader'], metadata: { email: 'alice@example.com' } });
    await auth.rotateSigningKey();
    await auth.verifyToken((await auth.login('alice', PW)).token);
    assert.ok(signingKeys(db).every((k) => k.secret === undefined && k.sealed?.mk !== undefined));
    const plain = plainKeys(db, KEY_A);
    assert.is(plain.length, 2);
    await db.checkpoint();
    const bytes = allBytes(dir);
    for (const p of plain) for (const enc of encodings(p)) assert.is(bytes.indexOf(enc), -1, 'a signing key in plaintext on disk');
    assert.is(bytes.indexOf(Buffer.from('alice@example.com')), -1);
    assert.is(bytes.indexOf(Buffer.from(KEY_A)), -1);
    assert.equal(auth.sealing, { sealed: true, masterKeyId: auth.sealing.masterKeyId });
    assert.equal(auth.checkCatalog(), []);
    await auth.close();
    await db.close();
  });

  test('a copy of the directory without its master key: no token verifies, none can be forged from its bytes', async () => {
    const dir = tempDir('sealed-src');
    let db = await open({ dir, engine });
    let auth = await AuthService.open(db, { masterKey: KEY_A });
    await auth.createUser('alice', { password: PW, roles: ['admin'] });
    const { token } = await auth.login('alice', PW);
    await auth.close();
    await db.close();
    const copy = tempDir('sealed-copy');
    fs.cpSync(dir, copy, { recursive: true });

    db = await open({ dir: copy, engine });
    await rejectsWith('MASTER_KEY_MISMATCH', () => AuthService.open(db, { masterKey: KEY_B }));
    auth = await AuthService.open(db);
    await rejectsWith('MASTER_KEY_REQUIRED', () => auth.verifyToken(token));
    await rejectsWith('MASTER_KEY_REQUIRED', () => auth.login('alice', PW));
    // Forge: sign alice's claims with every candidate key found in the directory; the real key must reject all.
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string };
    const forged: string[] = [];
    for (const k of candidates(copy, db)) forged.push(await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: header.kid, typ: 'JWT' }).sign(k));
    assert.ok(forged.length > 50, `only ${forged.length} candidates`);
    await auth.close();
    await db.close();

    db = await open({ dir: copy, engine });
    auth = await AuthService.open(db, { masterKey: KEY_A }); // the holder of the key
    await auth.verifyToken(token);
    let accepted = 0;
    for (const f of forged) {
      try {
        await auth.verifyToken(f);
        accepted++;
      } catch (err) {
        assert.is((err as { code?: string }).code, 'AUTH_FAILED');
      }
    }
    assert.is(accepted, 0);
    await auth.close();
    await db.close();
  });

  test('a catalog with plaintext signing keys is sealed on the first open with a master key', async () => {
    const dir = tempDir('migrate');
    let db = await open({ dir, engine });
    let auth = await AuthService.open(db); // no key: an unsealed (version 1) catalog, as before
    await auth.createUser('alice', { password: PW, roles: ['reader'] });
    const old = await auth.login('alice', PW);
    assert.equal(auth.sealing, { sealed: false, masterKeyId: null });
    const legacy = signingKeys(db);
    assert.ok(legacy.length === 1 && typeof legacy[0]!.secret === 'string');
    await auth.close();
    await db.close();

    db = await open({ dir, engine });
    auth = await AuthService.open(db, { masterKey: KEY_A });
    assert.is(auth.sealing.sealed, true);
    const keys = signingKeys(db);
    assert.ok(keys.every((k) => k.secret === undefined && k.sealed !== undefined), 'no plaintext key left in the catalog');
    const migrated = keys.find((k) => k.kid === legacy[0]!.kid)!;
    assert.type(migrated.retiredAt, 'number', 'the key that was on disk in plaintext is retired');
    const fresh = await auth.login('alice', PW);
    assert.is.not(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid, legacy[0]!.kid);
    await auth.verifyToken(old.token); // sessions signed before go on until the old key retires
    assert.ok(auth.listAudit().entries.some((e) => e.action === 'master_key.seal'));
    assert.equal(JSON.parse(systemView(db).get('_sys.catalog:version')!.toString()).version, 2);
    assert.equal(auth.checkCatalog(), []);
    await auth.close();
    await db.close();
    // the new active key's plaintext never reached the disk
    const bytes = allBytes(dir);
    db = await open({ dir, engine });
    const active = signingKeys(db).find((k) => k.retiredAt === null)!;
    await db.close();
    const secret = openBox(Buffer.from(KEY_A, 'hex'), `signing_key:${active.kid}`, active.sealed!);
    for (const enc of encodings(secret)) assert.is(bytes.indexOf(enc), -1);
  });

  test('rotateMasterKey re-seals every secret online, audited; the old key then opens nothing', async () => {
    const dir = tempDir('rotate-mk');
    let db = await open({ dir, engine });
    let auth = await AuthService.open(db, { masterKey: KEY_A });
    await auth.createUser('alice', { password: PW, roles: ['reader'], metadata: { team: 7 } });
    const before = await auth.login('alice', PW);
    const ids = await auth.rotateMasterKey(KEY_B, { actor: 'ops' });
    assert.is.not(ids.from, ids.to);
    assert.is(auth.sealing.masterKeyId, ids.to);
    await auth.verifyToken(before.token); // sessions survive a master key rotation
    assert.equal(auth.getUserMetadata('alice'), { team: 7 });
    const rec = auth.listAudit().entries.find((e) => e.action === 'master_key.rotate');
    assert.ok(rec && rec.actor === 'ops' && rec.target === ids.to);
    for (const k of signingKeys(db)) assert.is(k.sealed!.mk, ids.to);
    assert.equal(auth.checkCatalog(), []);
    await auth.close();
    await db.close();
    db = await open({ dir, engine });
    await rejectsWith('MASTER_KEY_MISMATCH', () => AuthService.open(db, { masterKey: KEY_A }));
    auth = await AuthService.open(db, { masterKey: KEY_B });
    await auth.verifyToken(before.token);
    await auth.close();
    await db.close();
  });

  test('a loader is asked again after another service rotated the master key', async () => {
    const dir = tempDir('rotate-loader');
    const db = await open({ dir, engine });
    let current = KEY_A;
    const calls: string[] = [];
    const a = await AuthService.open(db, { masterKey: async () => (calls.push(current), current) });
    const b = await AuthService.open(db, { masterKey: KEY_A });
    const fixed = await AuthService.open(db, { masterKey: KEY_A });
    await a.createUser('alice', { password: PW, roles: ['reader'] });
    await b.rotateMasterKey(KEY_B);
    current = KEY_B; // the operator put the new key where the loader reads it
    await a.rotateSigningKey(); // needs the key: the loader is asked again
    await a.verifyToken((await a.login('alice', PW)).token);
    assert.is(calls.length, 2);
    await rejectsWith('MASTER_KEY_MISMATCH', () => fixed.login('alice', PW));
    await fixed.close();
    await b.close();
    await a.close();
    await db.close();
  });

  test.run();
}

const load = suite('loadMasterKey: file, environment, command; never a flag');

load('a 0600 file of hex, base64 or 32 raw bytes', async () => {
  const dir = tempDir('mk');
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 200) % 256)); // not text
  for (const [name, body] of [['hex', key.toString('hex') + '\n'], ['b64', key.toString('base64')], ['raw', key]] as const) {
    const f = path.join(dir, name);
    fs.writeFileSync(f, body, { mode: 0o600 });
    assert.equal(await loadMasterKey({ file: f }), key, name);
  }
});

load('a file that group or others may read, or that does not hold 32 bytes, is MASTER_KEY_UNAVAILABLE', async () => {
  const dir = tempDir('mk-bad');
  const f = path.join(dir, 'key');
  fs.writeFileSync(f, 'ab'.repeat(32), { mode: 0o600 });
  fs.chmodSync(f, 0o644);
  if (process.getuid?.() !== 0) await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ file: f }));
  fs.chmodSync(f, 0o604);
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ file: f }));
  fs.chmodSync(f, 0o600);
  fs.writeFileSync(f, 'too short');
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ file: f }));
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ file: path.join(dir, 'absent') }));
});

load('an environment variable; unset is MASTER_KEY_UNAVAILABLE', async () => {
  process.env.KVSTORE_TEST_MK = 'cd'.repeat(32);
  assert.equal(await loadMasterKey({ env: 'KVSTORE_TEST_MK' }), Buffer.from('cd'.repeat(32), 'hex'));
  delete process.env.KVSTORE_TEST_MK;
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ env: 'KVSTORE_TEST_MK' }));
});

load('a command (master_key_command): its output is the key; failure, timeout or bad output is MASTER_KEY_UNAVAILABLE', async () => {
  assert.equal(await loadMasterKey({ command: `printf '%s\\n' ${'ef'.repeat(32)}` }), Buffer.from('ef'.repeat(32), 'hex'));
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ command: 'exit 3' }));
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ command: 'echo not-a-key' }));
  await rejectsWith('MASTER_KEY_UNAVAILABLE', () => loadMasterKey({ command: 'sleep 5', timeoutMs: 200 }));
});

load.run();
