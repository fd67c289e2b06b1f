/**
 * audit_stream: a real kvstored writes every audit record it commits as one JSON line
 * ({"type":"audit",...}) to stdout or stderr, for a SIEM shipper, and never a secret: a
 * failed login with a known password, a user's password, a session token and an API key
 * (used rightly, with a wrong secret and outside its scope) leave their records in the
 * stream and none of their secret text in anything the process printed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../ts/server/config.js';
import { ADMIN_PASSWORD, type Kvstored, adminCall, loginToken, startKvstored } from './kvstored-child.js';

const test = suite('audit_stream');
const ALICE_PW = 'alice correct horse 31';
const WRONG_PW = 'a known wrong password 7';
let kvd: Kvstored | undefined;
let errd: Kvstored | undefined;
test.after(async () => {
  await kvd?.stop();
  await errd?.stop();
});

interface Line { type: string; id: string; at: number; actor: string; action: string; target: string; ip: string | null; ok: boolean; detail?: string }

/** The audit lines of `text` (other lines are the server's own log). */
function auditLines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    const o = JSON.parse(l) as Partial<Line>;
    if (o.type === 'audit') out.push(o as Line);
  }
  return out;
}

/** Polls `read` until `pred` holds of its audit lines, 10 s at most (deferred records are batched every second). */
async function waitFor(read: () => string, pred: (lines: Line[]) => boolean, what: string): Promise<Line[]> {
  const until = Date.now() + 10_000;
  for (let i = 0; i < 200; i++) {
    const lines = auditLines(read());
    if (pred(lines)) return lines;
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not in the stream within 10 s:\n${read()}`);
}

test('the config key: none | stdout | stderr, default none; refused with auth off', () => {
  assert.is(loadConfig([], {}).config.auditStream, 'none');
  assert.is(loadConfig(['--audit-stream', 'stdout'], {}).config.auditStream, 'stdout');
  assert.is(loadConfig([], { KVSTORE_AUDIT_STREAM: 'stderr' }).config.auditStream, 'stderr');
  assert.throws(() => loadConfig(['--audit-stream', 'syslog'], {}), /audit_stream .*must be one of none, stdout, stderr/);
  assert.throws(() => loadConfig(['--audit-stream', 'stdout', '--no-auth'], {}), /audit_stream = stdout needs authentication on/);
  assert.not.throws(() => loadConfig(['--audit-stream', 'none', '--no-auth'], {}));
});

test('stdout: a record per change, login and key use, and no password, token or key secret anywhere', async () => {
  kvd = await startKvstored(['--audit-stream', 'stdout'], { grpc: false });
  // The first admin, created before the server listened, is already in the stream.
  await waitFor(kvd.stdout, (ls) => ls.some((l) => l.action === 'user.create' && l.target === 'admin' && l.actor === 'kvstored'), 'the first admin');
  const admin = await loginToken(kvd.url);
  await adminCall(kvd.url, admin, 'POST', 'users', { name: 'alice', password: ALICE_PW, roles: ['reader'] });
  const alice = await loginToken(kvd.url, 'alice', ALICE_PW);
  const failed = await fetch(`${kvd.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: WRONG_PW }) });
  assert.is(failed.status, 401);
  const key = (await adminCall(kvd.url, admin, 'POST', 'apikeys', { owner: 'alice', name: 'alice-app' }) as { token: string }).token;
  assert.is((await fetch(`${kvd.url}/v1/kv/k1`, { headers: { 'x-api-key': key } })).status, 404);
  // Outside its scope (a reader's key writing), and the key's id with a wrong secret.
  assert.is((await fetch(`${kvd.url}/v1/kv/k1`, { method: 'PUT', headers: { 'x-api-key': key, 'content-type': 'application/octet-stream' }, body: 'v' })).status, 403);
  const forged = `${key.slice(0, 21)}${'A'.repeat(43)}`;
  assert.is((await fetch(`${kvd.url}/v1/kv/k1`, { headers: { 'x-api-key': forged } })).status, 401);

  const lines = await waitFor(kvd.stdout, (ls) => ls.some((l) => l.action === 'apikey.denied') && ls.some((l) => l.action === 'auth.apikey' && !l.ok), 'the key records');
  const has = (action: string, pred: (l: Line) => boolean): boolean => lines.some((l) => l.action === action && pred(l));
  assert.ok(has('user.create', (l) => l.target === 'alice' && l.actor === 'admin' && l.ok));
  assert.ok(has('auth.login', (l) => l.target === 'alice' && l.ok));
  assert.ok(has('auth.login', (l) => l.target === 'alice' && !l.ok && l.ip === '127.0.0.1'), 'the failed login');
  assert.ok(has('apikey.create', (l) => l.target === 'alice-app'));
  assert.ok(has('apikey.denied', (l) => l.target === 'alice-app' && /^write: /.test(l.detail ?? '')));
  assert.ok(has('auth.apikey', (l) => l.target === 'alice-app' && l.detail === 'wrong secret'));
  for (const l of lines) {
    assert.type(l.id, 'string');
    assert.type(l.at, 'number');
  }
  const ids = lines.map((l) => l.id);
  assert.is(new Set(ids).size, ids.length, 'each record once');
  assert.equal([...ids].sort(), ids, 'in commit order');
  // The records match the log the server keeps.
  const kept = (await adminCall(kvd.url, admin, 'GET', 'audit?limit=1000') as { entries: Array<{ id: string; action: string }> }).entries;
  for (const l of lines) assert.ok(kept.some((e) => e.id === l.id && e.action === l.action), `${l.id} ${l.action} is in the audit log`);

  const printed = kvd.stdout() + kvd.stderr();
  const secrets = { 'the wrong password': WRONG_PW, "alice's password": ALICE_PW, "the admin's password": ADMIN_PASSWORD, 'the API key': key, "the key's secret": key.slice(21), 'the forged secret': forged.slice(21), "the admin's session": admin, "alice's session": alice };
  for (const [what, secret] of Object.entries(secrets)) assert.not.ok(printed.includes(secret), `${what} is not in the output`);
  // Each secret in another encoding a shipper or a log might use.
  for (const [what, secret] of Object.entries(secrets)) {
    for (const enc of [Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex'), encodeURIComponent(secret)]) {
      if (enc !== secret) assert.not.ok(printed.includes(enc), `${what} is not in the output, encoded`);
    }
  }
});

test('stderr: the lines go there, and stdout has none', async () => {
  errd = await startKvstored(['--audit-stream', 'stderr'], { grpc: false });
  await waitFor(errd.stderr, (ls) => ls.some((l) => l.action === 'user.create' && l.target === 'admin'), 'the first admin');
  const r = await fetch(`${errd.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: WRONG_PW }) });
  assert.is(r.status, 401);
  await waitFor(errd.stderr, (ls) => ls.some((l) => l.action === 'auth.login' && !l.ok && l.target === 'admin'), 'the failed login');
  assert.equal(auditLines(errd.stdout()), []);
  assert.not.ok((errd.stdout() + errd.stderr()).includes(WRONG_PW));
});

test('none (the default): no audit line on either stream', async () => {
  const d = await startKvstored([], { grpc: false });
  try {
    const r = await fetch(`${d.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: WRONG_PW }) });
    assert.is(r.status, 401);
  } finally {
    assert.is(await d.stop(), 0);
  }
  assert.equal(auditLines(d.stdout() + d.stderr()), []);
});

test.run();
