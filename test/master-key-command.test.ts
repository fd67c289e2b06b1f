/**
 * kvstored's master key sources: master_key_command (stdout is the key), master_key_file
 * (refused unless mode 0600), KVSTORE_MASTER_KEY; one at a time. Real kvstored processes: the
 * catalog a command-keyed server wrote is sealed (a copy opened without the key has no usable
 * secret), another key or a failing command stops the start with a coded error.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open } from '../ts/index.js';
import { ADMIN_PASSWORD, KVCTL, runCli, startKvstored } from './cli-proc.js';
import { ENGINES, repoRoot, tempDir } from './helpers.js';

const KVSTORED = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');

/** Runs kvstored expecting it to refuse to start; its exit code and stderr. */
function failedStart(dir: string, extra: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [KVSTORED, '--data-dir', dir, '--port', '0', '--engine', ENGINES[0]!, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KVSTORE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env } });
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => void (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function loginStatus(url: string): Promise<number> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: ADMIN_PASSWORD }) });
  await r.arrayBuffer();
  return r.status;
}

const test = suite('kvstored master key sources');
const keys = tempDir('keys');
const keyFile = path.join(keys, 'master.key');
fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
const other = path.join(keys, 'other.key');
fs.writeFileSync(other, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

test('master_key_command: the server seals its catalog with the key the command prints', async () => {
  const dir = tempDir('mkc');
  const s = await startKvstored(dir, ['--master-key-command', `cat '${keyFile}'`]);
  try {
    assert.is(await loginStatus(s.url), 200);
  } finally {
    assert.is(await s.stop(), 0);
  }
  const db = await open({ dir, engine: ENGINES[0]! });
  const auth = await AuthService.open(db);
  try {
    assert.is(auth.sealing.sealed, true, 'the catalog is sealed');
    await auth.login('admin', ADMIN_PASSWORD).then(
      () => assert.unreachable('logged in without the master key'),
      (e: { code?: string }) => assert.is(e.code, 'MASTER_KEY_REQUIRED'),
    );
  } finally {
    await auth.close();
    await db.close();
  }
  // Another key: refused at start, nothing served.
  const wrong = await failedStart(dir, ['--master-key-command', `cat '${other}'`]);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, 'MASTER_KEY_MISMATCH');
  // The same key from the file (0600) opens it again.
  const again = await startKvstored(dir, ['--master-key-file', keyFile]);
  try {
    assert.is(await loginStatus(again.url), 200);
  } finally {
    await again.stop();
  }
});

test('a failing command, a file readable by others, and two sources at once are refused with their codes', async () => {
  const failing = await failedStart(tempDir('mkc'), ['--master-key-command', 'echo oops >&2; exit 3']);
  assert.is(failing.code, 1);
  assert.match(failing.stderr, 'MASTER_KEY_UNAVAILABLE');
  const loose = path.join(keys, 'loose.key');
  fs.writeFileSync(loose, fs.readFileSync(keyFile));
  fs.chmodSync(loose, 0o644);
  const open644 = await failedStart(tempDir('mkc'), ['--master-key-file', loose]);
  assert.is(open644.code, 1);
  assert.match(open644.stderr, /MASTER_KEY_UNAVAILABLE.*mode 644/);
  assert.not.match(open644.stderr, fs.readFileSync(keyFile, 'utf8').trim(), 'the key is never quoted');
  const both = await failedStart(tempDir('mkc'), ['--master-key-file', keyFile, '--master-key-command', 'true']);
  assert.is(both.code, 1);
  assert.match(both.stderr, 'INVALID_ARGUMENT');
});

test('kvctl admin rotate-master-key (offline): the old key opens nothing afterwards, the new one does; refused while the server runs', async () => {
  const dir = tempDir('mkrot');
  const s = await startKvstored(dir, ['--master-key-file', keyFile]);
  const busy = await runCli(KVCTL, ['--data-dir', dir, 'admin', 'rotate-master-key', '--old-key-file', keyFile, '--new-key-file', other]);
  assert.is(busy.code, 2, busy.stderr);
  assert.match(busy.stderr, 'stop kvstored first');
  await s.stop();
  const r = await runCli(KVCTL, ['--data-dir', dir, '--engine', ENGINES[0]!, 'admin', 'rotate-master-key', '--old-key-file', keyFile, '--new-key-command', `cat '${other}'`]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'master key rotated');
  for (const k of [keyFile, other]) assert.not.match(r.stdout + r.stderr, fs.readFileSync(k, 'utf8').trim());
  const old = await failedStart(dir, ['--master-key-file', keyFile]);
  assert.match(old.stderr, 'MASTER_KEY_MISMATCH');
  const fresh = await startKvstored(dir, ['--master-key-file', other]);
  try {
    assert.is(await loginStatus(fresh.url), 200);
  } finally {
    await fresh.stop();
  }
  const db = await open({ dir, engine: ENGINES[0]! });
  const auth = await AuthService.open(db);
  try {
    assert.ok(auth.listAudit({ limit: 50 }).entries.some((e) => e.action === 'master_key.rotate' && e.actor === 'kvctl'));
  } finally {
    await auth.close();
    await db.close();
  }
});

async function adminToken(url: string): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: ADMIN_PASSWORD }) });
  assert.is(r.status, 200);
  return ((await r.json()) as { token: string }).token;
}

test('kvctl --url admin rotate-master-key (online): the server reads its key file again and re-seals; sessions and the next start use the new key', async () => {
  const dir = tempDir('mkonline');
  const live = path.join(tempDir('mkonline-keys'), 'master.key');
  fs.copyFileSync(keyFile, live);
  fs.chmodSync(live, 0o600);
  const s = await startKvstored(dir, ['--master-key-file', live]);
  try {
    const token = await adminToken(s.url);
    const kv = (args: string[], env: Record<string, string> = {}) => runCli(KVCTL, ['--url', s.url, ...args], { env: { KVCTL_TOKEN: token, ...env } });
    // The file still holds the key in use: nothing to do, said so.
    const same = await kv(['--format', 'json', 'admin', 'rotate-master-key']);
    assert.is(same.code, 0, same.stderr);
    const unchanged = JSON.parse(same.stdout) as { rotated: boolean; from: string; to: string };
    assert.equal([unchanged.rotated, unchanged.from === unchanged.to], [false, true]);
    // No key travels: key options with --url are a usage error.
    const sent = await kv(['admin', 'rotate-master-key', '--new-key-file', other]);
    assert.is(sent.code, 2, sent.stderr);
    const anonymous = await fetch(`${s.url}/v1/admin/master-key/rotate`, { method: 'POST' });
    assert.is(anonymous.status, 401);
    await anonymous.arrayBuffer();
    // The operator puts the new key in the file, then rotates online.
    fs.writeFileSync(live, fs.readFileSync(other));
    const r = await kv(['--format', 'json', 'admin', 'rotate-master-key']);
    assert.is(r.code, 0, r.stderr);
    const done = JSON.parse(r.stdout) as { rotated: boolean; from: string; to: string };
    assert.equal([done.rotated, done.from], [true, unchanged.from]);
    assert.is.not(done.to, done.from);
    for (const k of [keyFile, other]) assert.not.match(r.stdout + r.stderr, fs.readFileSync(k, 'utf8').trim());
    // The running server goes on: the session from before still works, a new login too.
    const who = await fetch(`${s.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.is(who.status, 200);
    await who.arrayBuffer();
    assert.is(await loginStatus(s.url), 200);
  } finally {
    assert.is(await s.stop(), 0);
  }
  // The old key opens nothing now; the file's new key starts the server.
  const old = await failedStart(dir, ['--master-key-file', keyFile]);
  assert.match(old.stderr, 'MASTER_KEY_MISMATCH');
  const again = await startKvstored(dir, ['--master-key-file', live]);
  try {
    assert.is(await loginStatus(again.url), 200);
  } finally {
    await again.stop();
  }
  const db = await open({ dir, engine: ENGINES[0]! });
  const auth = await AuthService.open(db);
  try {
    assert.ok(auth.listAudit({ limit: 50 }).entries.some((e) => e.action === 'master_key.rotate' && e.actor === 'admin'));
  } finally {
    await auth.close();
    await db.close();
  }
});

test('online rotation is refused for a key from the environment (it cannot change while kvstored runs) and without a master key', async () => {
  const envKey = crypto.randomBytes(32).toString('hex');
  const s = await startKvstored(tempDir('mkenv'), [], { KVSTORE_MASTER_KEY: envKey });
  try {
    const r = await fetch(`${s.url}/v1/admin/master-key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${await adminToken(s.url)}` } });
    const body = (await r.json()) as { code: string; detail: string };
    assert.equal([r.status, body.code], [400, 'INVALID_ARGUMENT']);
    assert.match(body.detail, 'KVSTORE_MASTER_KEY');
    assert.not.match(JSON.stringify(body), envKey);
  } finally {
    await s.stop();
  }
  const plain = await startKvstored(tempDir('mknone'));
  try {
    const r = await fetch(`${plain.url}/v1/admin/master-key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${await adminToken(plain.url)}` } });
    const body = (await r.json()) as { code: string };
    assert.is(body.code, 'MASTER_KEY_REQUIRED');
    assert.is(r.status, 503);
  } finally {
    await plain.stop();
  }
});

test.run();
