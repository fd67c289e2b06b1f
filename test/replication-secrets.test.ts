/**
 * The sealed form is what replicates (issue 19): a primary with a master key and its
 * standbys. `_sys.*` travels as raw WAL, so a standby's data directory (WAL and snapshot)
 * holds the signing keys sealed, never in plaintext in any encoding, and never the master
 * key. A standby given the same master key verifies the primary's session tokens itself and
 * serves logins (forwarded to the primary, which writes the catalog); one given no master key
 * still authenticates API keys (their hashes need no key) but refuses every session token
 * with 503 MASTER_KEY_REQUIRED, a token it fetched for a login included; one given another
 * key does not start (MASTER_KEY_MISMATCH). docs/security.md, "Secrets at rest".
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open as openBox } from '../ts/auth/seal.js';
import { SEGMENT_RE, SNAPSHOT_RE } from '../ts/engine/format.js';
import type { SigningKeyRecord } from '../ts/catalog/schema.js';
import { open } from '../ts/store/store.js';
import { systemView } from '../ts/store/store.js';
import { allBytes, encodings } from './secret-grep.js';
import { ENGINES, tempDir } from './helpers.js';
import { ADMIN_PASSWORD, type KvNode, caughtUp, credentials, flushedLsn, killAll, startNode } from './repl-cluster.js';

const test = suite('replication: the sealed form is what travels');
test.after.each(killAll);
const engine = ENGINES[0]!;

const keys = tempDir('repl-mk');
const MASTER = crypto.randomBytes(32);
const keyFile = path.join(keys, 'master.key');
fs.writeFileSync(keyFile, `${MASTER.toString('hex')}\n`, { mode: 0o600 });
const otherFile = path.join(keys, 'other.key');
fs.writeFileSync(otherFile, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

/** Files under dir whose names match re. */
function filesLike(dir: string, re: RegExp): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && re.test(e.name)).map((e) => e.name);
}

async function login(node: KvNode, name = 'admin', password = ADMIN_PASSWORD): Promise<string> {
  const r = await node.api('POST', '/v1/auth/login', { body: { name, password } });
  assert.is(r.status, 200, `login on ${node.url}: ${r.text}`);
  return r.json<{ token: string }>().token;
}

test('a standby holds the signing keys only sealed; with the master key it verifies tokens, without it refuses them, with another it does not start', async () => {
  const primary = await startNode(tempDir('repl-p'), { engine, args: ['--master-key-file', keyFile] });
  const creds = await credentials(primary);
  const first = await login(primary);
  assert.is((await primary.api('POST', '/v1/admin/signing-keys/rotate', { key: creds.admin })).status, 200);
  assert.is((await primary.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'carol', password: 'carol password 123', roles: ['reader'] } })).status, 201);
  const carol = await login(primary, 'carol', 'carol password 123');
  assert.is((await primary.api('PUT', '/v1/kv/doc', { key: creds.admin, raw: 'D' })).status, 200);

  const keyed = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'keyed', args: ['--master-key-file', keyFile] });
  const keyless = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'keyless' });
  const lsn = await flushedLsn(primary, creds.admin);
  await caughtUp(keyed, creds.admin, lsn);
  await caughtUp(keyless, creds.admin, lsn);

  // With the key: the primary's tokens (signed before and after the rotation) verify on the standby.
  for (const token of [first, carol]) {
    const r = await keyed.api('GET', '/v1/kv/doc', { token });
    assert.is(r.status, 200, r.text);
    assert.is(r.text, 'D');
  }
  // A login there is forwarded to the primary; its token works on the standby once replicated.
  const viaKeyed = await login(keyed, 'carol', 'carol password 123');
  await caughtUp(keyed, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is((await keyed.api('GET', '/v1/kv/doc', { token: viaKeyed })).text, 'D');
  assert.is((await keyed.api('GET', '/v1/auth/whoami', { token: viaKeyed })).json<{ user: string }>().user, 'carol');

  // Without the key: API keys (hashes) still work; no session token verifies.
  assert.is((await keyless.api('GET', '/v1/kv/doc', { key: creds.admin })).text, 'D');
  for (const token of [first, carol, viaKeyed]) {
    const r = await keyless.api('GET', '/v1/kv/doc', { token });
    assert.is(r.status, 503, r.text);
    assert.is(r.json<{ code: string }>().code, 'MASTER_KEY_REQUIRED');
  }
  // Its login is forwarded, so the primary issues a token, and this standby cannot use it.
  const viaKeyless = await login(keyless);
  assert.is((await primary.api('GET', '/v1/kv/doc', { token: viaKeyless })).text, 'D');
  assert.is((await keyless.api('GET', '/v1/kv/doc', { token: viaKeyless })).status, 503);

  // Another key: the standby refuses to start rather than serve with keys it cannot open.
  const wrong = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'wrong', args: ['--master-key-file', otherFile], noWait: true });
  const exit = await Promise.race([wrong.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  assert.ok(exit !== null && exit.code !== 0, `a standby with another master key exits (${JSON.stringify(exit)}): ${wrong.tail()}`);
  assert.match(wrong.stderr() + wrong.stdout(), 'MASTER_KEY_MISMATCH');

  // The standbys' directories after a checkpoint there (a snapshot as well as the WAL) and a clean stop.
  for (const s of [keyed, keyless]) assert.is((await s.api('POST', '/v1/admin/checkpoint', { key: creds.admin })).status, 200);
  await caughtUp(keyed, creds.admin, await flushedLsn(primary, creds.admin));
  await caughtUp(keyless, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is(await keyed.stop(), 0, keyed.tail());
  assert.is(await keyless.stop(), 0, keyless.tail());
  assert.is(await primary.stop(), 0, primary.tail());

  for (const s of [keyed, keyless]) {
    assert.ok(filesLike(s.dir, SNAPSHOT_RE).length > 0, `${s.opts.standbyId}: a snapshot was written`);
    assert.ok(filesLike(s.dir, SEGMENT_RE).length > 0, `${s.opts.standbyId}: WAL segments`);
    const bytes = allBytes(s.dir); // before anything opens the directory
    const db = await open({ dir: s.dir, engine });
    let records: SigningKeyRecord[];
    try {
      records = [...systemView(db).scan({ prefix: '_sys.signing_keys:' })].map(([, v]) => JSON.parse(v.toString()) as SigningKeyRecord);
    } finally {
      await db.close();
    }
    assert.is(records.length, 2, 'both signing keys replicated');
    for (const k of records) {
      assert.is(k.secret, undefined, `${k.kid}: no plaintext field`);
      assert.type(k.sealed?.mk, 'string', `${k.kid}: sealed under a key id`);
      const plain = openBox(MASTER, `signing_key:${k.kid}`, k.sealed!);
      assert.is(plain.length >= 32, true);
      for (const enc of encodings(plain)) assert.is(bytes.indexOf(enc), -1, `${s.opts.standbyId}: signing key ${k.kid} in plaintext on disk`);
    }
    for (const enc of encodings(MASTER)) assert.is(bytes.indexOf(enc), -1, `${s.opts.standbyId}: the master key on disk`);
    assert.is(bytes.indexOf(Buffer.from('carol password 123')), -1);
  }
});

test.run();
