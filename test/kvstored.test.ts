/**
 * The kvstored process itself: first start (the admin's password generated and shown once, or
 * taken from KVSTORE_ADMIN_PASSWORD), refusal of bad configuration, graceful SIGTERM with
 * requests in flight, kill -9 while clients write (every write that got a 2xx is there after
 * restart), and TLS / mutual TLS with certificates made by openssl at test time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ENGINES, repoRoot, tempDir } from './helpers.js';
import { makeCerts } from './tls-certs.js';

const MAIN = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');
const PW = 'operator password 42';

interface Proc {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startKvstored(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--log-level', 'info', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => void (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kvstored did not start: ${out} ${err}`)), 20_000);
    const look = (): void => {
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url, stdout: () => out, stderr: () => err, exited });
        return;
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kvstored exited with ${code} before listening: ${out} ${err}`));
    });
  });
}

async function token(url: string, name: string, password: string): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.is(r.status, 200, await r.clone().text());
  return ((await r.json()) as { token: string }).token;
}

const test = suite('kvstored process');

test('first start generates the admin password and shows it once, never in the JSON log; restart keeps the data', async () => {
  const dir = tempDir('kvd');
  const a = await startKvstored(['--data-dir', dir]);
  const m = /generated password:\s+(\S+)/.exec(a.stderr());
  assert.ok(m, a.stderr());
  const generated = m![1]!;
  assert.not.ok(a.stdout().includes(generated), 'the password is not in the JSON log');
  const t = await token(a.url, 'admin', generated);
  assert.is((await fetch(`${a.url}/v1/kv/k`, { method: 'PUT', headers: { authorization: `Bearer ${t}` }, body: 'v1' })).status, 200);
  a.child.kill('SIGTERM');
  assert.is(await a.exited, 0, a.stdout());
  assert.match(a.stdout(), /store flushed, checkpointed and closed/);
  assert.not.ok(a.stdout().includes(t), 'the token is not logged');
  const b = await startKvstored(['--data-dir', dir], { KVSTORE_ADMIN_PASSWORD: 'ignored password 1' });
  assert.not.match(b.stderr(), /generated password/);
  const t2 = await token(b.url, 'admin', generated);
  assert.is(await (await fetch(`${b.url}/v1/kv/k`, { headers: { authorization: `Bearer ${t2}` } })).text(), 'v1');
  b.child.kill('SIGINT');
  assert.is(await b.exited, 130, 'Ctrl-C: a clean shutdown, then exit 130 (SIGTERM exits 0)');
  assert.match(b.stdout(), /store flushed, checkpointed and closed/);
});

test('KVSTORE_ADMIN_PASSWORD / a password file choose the first password; bad configuration is refused by name', async () => {
  const dir = tempDir('kvd');
  const a = await startKvstored(['--data-dir', dir], { KVSTORE_ADMIN_PASSWORD: PW });
  assert.not.match(a.stderr(), /generated password/);
  await token(a.url, 'admin', PW);
  a.child.kill('SIGTERM');
  assert.is(await a.exited, 0);
  const file = path.join(tempDir('kvd'), 'pw');
  fs.writeFileSync(file, 'password from a file\n', { mode: 0o600 });
  const b = await startKvstored(['--data-dir', tempDir('kvd'), '--admin-password-file', file, '--admin-user', 'root']);
  await token(b.url, 'root', 'password from a file');
  b.child.kill('SIGTERM');
  assert.is(await b.exited, 0);
  const bad = spawn(process.execPath, [MAIN, '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  bad.stderr.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const code = await new Promise((r) => bad.on('close', r));
  assert.is(code, 2);
  assert.match(err, /port \(from --port\) must be an integer/);
  const help = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  for (const s of ['--data-dir', 'KVSTORE_ADMIN_PASSWORD', '--tls-cert', 'rate_limit']) assert.ok(help.includes(s), s);
  const pkgVersion = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) assert.is(execFileSync(process.execPath, [MAIN, flag], { encoding: 'utf8' }), `kvstored ${pkgVersion}\n`);
});

for (const engine of ENGINES) {
  test(`[${engine}] kill -9 while clients write: every write that got a 2xx is there after restart`, async () => {
    const dir = tempDir('kvd');
    const a = await startKvstored(['--data-dir', dir, '--engine', engine], { KVSTORE_ADMIN_PASSWORD: PW });
    const t = await token(a.url, 'admin', PW);
    const acked = new Map<string, string>();
    let stop = false;
    let failed = 0;
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `c${c}:${i % 50}`;
        const value = `${c}-${i}`;
        try {
          const r = await fetch(`${a.url}/v1/kv/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${t}` }, body: value });
          await r.arrayBuffer();
          if (r.ok) acked.set(key, value);
        } catch {
          failed++;
          return; // the server is gone
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    // Kill once the clients are well under way (a fixed sleep gave 10 acks on a loaded machine).
    for (let waited = 0; acked.size <= 40 && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    a.child.kill('SIGKILL');
    await a.exited;
    stop = true;
    await Promise.all(clients);
    assert.ok(acked.size > 20, `clients made progress (${acked.size} keys acknowledged)`);
    const b = await startKvstored(['--data-dir', dir, '--engine', engine]);
    const t2 = await token(b.url, 'admin', PW);
    let checked = 0;
    for (const [key, value] of acked) {
      const r = await fetch(`${b.url}/v1/kv/${key}`, { headers: { authorization: `Bearer ${t2}` } });
      const got = await r.text();
      // A later write to the same key may have reached the disk without its 2xx arriving: then it is newer.
      const [c, i] = value.split('-').map(Number) as [number, number];
      const [gc, gi] = got.split('-').map(Number) as [number, number];
      assert.is(r.status, 200, `${key} lost`);
      assert.ok(gc === c && gi >= i, `${key}: acknowledged ${value}, found ${got}`);
      checked++;
    }
    assert.is(checked, acked.size);
    b.child.kill('SIGTERM');
    assert.is(await b.exited, 0);
  });
}

test('SIGTERM with requests in flight: they finish (or are refused cleanly), the process exits 0, nothing acknowledged is lost', async () => {
  const dir = tempDir('kvd');
  const a = await startKvstored(['--data-dir', dir], { KVSTORE_ADMIN_PASSWORD: PW });
  const t = await token(a.url, 'admin', PW);
  const results = Array.from({ length: 200 }, (_, i) =>
    fetch(`${a.url}/v1/kv/inflight:${i}`, { method: 'PUT', headers: { authorization: `Bearer ${t}` }, body: String(i) })
      .then(async (r) => ({ i, status: r.status, body: await r.text() }))
      .catch(() => ({ i, status: 0, body: '' })));
  setTimeout(() => a.child.kill('SIGTERM'), 5);
  const done = await Promise.all(results);
  assert.is(await a.exited, 0, a.stdout());
  for (const r of done) assert.ok([0, 200, 503].includes(r.status), `request ${r.i}: ${r.status} ${r.body}`);
  const ok = done.filter((r) => r.status === 200);
  const b = await startKvstored(['--data-dir', dir]);
  const t2 = await token(b.url, 'admin', PW);
  for (const r of ok) assert.is(await (await fetch(`${b.url}/v1/kv/inflight:${r.i}`, { headers: { authorization: `Bearer ${t2}` } })).text(), String(r.i));
  b.child.kill('SIGTERM');
  assert.is(await b.exited, 0);
});

function get(url: string, opts: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (d: string) => void (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('TLS and mutual TLS with certificates from openssl', async () => {
  const c = makeCerts();
  const p = (f: string): string => path.join(c, f);
  const ca = fs.readFileSync(p('ca.pem'));
  const a = await startKvstored(['--data-dir', tempDir('kvd'), '--tls-cert', p('server.pem'), '--tls-key', p('server.key')], { KVSTORE_ADMIN_PASSWORD: PW });
  assert.match(a.url, /^https:/);
  assert.equal(JSON.parse((await get(`${a.url}/health`, { ca })).body), { status: 'ok' });
  await get(`${a.url}/health`, {}).then(() => assert.unreachable('an unknown CA must fail'), (e: Error) => assert.match(e.message, /certificate/));
  a.child.kill('SIGTERM');
  assert.is(await a.exited, 0);

  const m = await startKvstored(['--data-dir', tempDir('kvd'), '--tls-cert', p('server.pem'), '--tls-key', p('server.key'), '--tls-ca', p('ca.pem'), '--tls-require-client-cert'], { KVSTORE_ADMIN_PASSWORD: PW });
  const withCert = await get(`${m.url}/health`, { ca, cert: fs.readFileSync(p('client.pem')), key: fs.readFileSync(p('client.key')) });
  assert.is(withCert.status, 200);
  await get(`${m.url}/health`, { ca }).then((r) => assert.unreachable(`no client certificate must fail, got ${r.status}`), (e: Error) => assert.ok(e.message.length > 0));
  const self = makeCerts(); // a client certificate from another CA
  await get(`${m.url}/health`, { ca, cert: fs.readFileSync(path.join(self, 'client.pem')), key: fs.readFileSync(path.join(self, 'client.key')) })
    .then((r) => assert.unreachable(`a foreign client certificate must fail, got ${r.status}`), (e: Error) => assert.ok(e.message.length > 0));
  m.child.kill('SIGTERM');
  assert.is(await m.exited, 0);
});

test.run();
