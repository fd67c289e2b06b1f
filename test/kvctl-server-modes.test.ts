/**
 * kvctl and kvb against kvstored in its other modes, real binaries and a real child process:
 * authentication off (the store's admin commands work, the catalog's say AUTH_DISABLED),
 * mutual TLS (--cacert, --cert, --key and their environment variables; refused without a
 * client certificate), and the WAL commands, which read a local directory only.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_PASSWORD, KVB, KVCTL, type Run, runCli, startKvstored } from './cli-proc.js';
import { tempDir } from './helpers.js';
import { makeCerts } from './tls-certs.js';

function ok(r: Run): Run {
  assert.is(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr}`);
  return r;
}
/** Exit status and the stable code (from --format=json's error object). */
function fails(r: Run, exit: number, code: string): void {
  assert.is(r.code, exit, `expected exit ${exit}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.is((JSON.parse(r.stderr) as { error: { code: string } }).error.code, code, r.stderr);
}

const test = suite('kvctl and kvb: server modes');

test('--no-auth: status and checkpoint work for anyone; catalog commands and login exit 1 AUTH_DISABLED', async () => {
  const server = await startKvstored(tempDir('noauth'), ['--no-auth']);
  try {
    const cfg = tempDir('noauth-cfg');
    const kv = (args: string[], input = ''): Promise<Run> => runCli(KVCTL, ['--url', server.url, '--format=json', ...args], { input, env: { KVCTL_CONFIG_DIR: cfg } });
    ok(await kv(['put', 'k', 'v']));
    const s = JSON.parse(ok(await kv(['status'])).stdout) as { auth: boolean; keys: number; state: string };
    assert.equal([s.auth, s.state], [false, 'ready']);
    assert.ok(s.keys >= 1);
    const c = JSON.parse(ok(await kv(['checkpoint'])).stdout) as { redoLsn: string };
    assert.ok(BigInt(c.redoLsn) > 0n);
    ok(await kv(['snapshot', 'create']));
    const w = JSON.parse(ok(await kv(['whoami'])).stdout) as { user: string | null };
    assert.is(w.user, null);
    fails(await kv(['user', 'list']), 1, 'AUTH_DISABLED');
    fails(await kv(['role', 'create', 'r']), 1, 'AUTH_DISABLED');
    fails(await kv(['audit']), 1, 'AUTH_DISABLED');
    fails(await kv(['login', 'admin', '--password-stdin'], 'whatever password\n'), 1, 'AUTH_DISABLED');
    // the table form says why and what to do
    const t = await runCli(KVCTL, ['--url', server.url, 'user', 'list'], { env: { KVCTL_CONFIG_DIR: cfg } });
    assert.is(t.code, 1);
    assert.match(t.stderr, /^kvctl: AUTH_DISABLED: .*--no-auth/);
  } finally {
    assert.is(await server.stop(), 0);
  }
});

test('mutual TLS: kvctl and kvb with --cacert/--cert/--key or their environment variables; refused without a client certificate', async () => {
  const certs = makeCerts();
  const p = (f: string): string => path.join(certs, f);
  const server = await startKvstored(tempDir('mtls'), ['--tls-cert', p('server.pem'), '--tls-key', p('server.key'), '--tls-ca', p('ca.pem'), '--tls-require-client-cert']);
  try {
    assert.match(server.url, /^https:/);
    const cfg = tempDir('mtls-cfg');
    const flags = ['--cacert', p('ca.pem'), '--cert', p('client.pem'), '--key', p('client.key')];
    const kv = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> =>
      runCli(KVCTL, ['--url', server.url, '--format=json', ...args], { input: opts.input ?? '', env: { KVCTL_CONFIG_DIR: cfg, ...opts.env } });
    ok(await kv([...flags, 'login', 'admin', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` }));
    ok(await kv([...flags, 'put', 'tls:k', 'over mTLS']));
    assert.is(ok(await kv([...flags, 'get', 'tls:k'])).stdout.includes('over mTLS'), true);
    const s = JSON.parse(ok(await kv([...flags, 'status'])).stdout) as { auth: boolean; keys: number; dataKeys: number };
    assert.is(s.auth, true);
    assert.is(s.dataKeys, 1, 'tls:k; the catalog entries are not data keys');
    assert.ok(s.keys > s.dataKeys);
    // the same from the environment
    const env = { KVCTL_TLS_CA: p('ca.pem'), KVCTL_TLS_CERT: p('client.pem'), KVCTL_TLS_KEY: p('client.key') };
    assert.is((JSON.parse(ok(await kv(['whoami'], { env })).stdout) as { user: string }).user, 'admin');
    // no client certificate, or no CA: the handshake fails → UNREACHABLE (exit 1)
    fails(await kv(['--cacert', p('ca.pem'), 'whoami']), 1, 'UNREACHABLE');
    fails(await kv(['whoami']), 1, 'UNREACHABLE');
    // a certificate without its key, a missing file, TLS options for http://: usage (exit 2)
    fails(await kv(['--cacert', p('ca.pem'), '--cert', p('client.pem'), 'whoami']), 2, 'USAGE');
    fails(await kv(['--cacert', p('nope.pem'), 'whoami']), 2, 'USAGE');
    fails(await runCli(KVCTL, ['--url', 'http://127.0.0.1:1', '--format=json', '--cacert', p('ca.pem'), 'whoami'], { env: { KVCTL_CONFIG_DIR: cfg } }), 2, 'USAGE');

    // kvb: an API key for a bench user, then a short run over mTLS
    ok(await kv([...flags, 'role', 'create', 'bench-rw', '--allow', 'kvb:=all']));
    ok(await kv([...flags, 'user', 'create', 'bench', '--role', 'bench-rw']));
    const key = (JSON.parse(ok(await kv([...flags, 'apikey', 'create', 'kvb-tls', '--owner', 'bench'])).stdout) as { token: string }).token;
    const short = ['--url', server.url, '--duration', '1', '--warmup', '0', '--keys', '50', '--concurrency', '2', '--quiet', '--format', 'json'];
    for (const [how, args, extra] of [['flags', flags, {}], ['environment', [], { KVB_TLS_CA: p('ca.pem'), KVB_TLS_CERT: p('client.pem'), KVB_TLS_KEY: p('client.key') }]] as const) {
      const r = JSON.parse(ok(await runCli(KVB, ['get-heavy', ...short, ...args], { env: { KVB_API_KEY: key, ...extra }, timeoutMs: 60_000 })).stdout) as { scenarios: Array<{ requests: number; errors: number }> };
      assert.ok(r.scenarios[0]!.requests > 0, how);
      assert.is(r.scenarios[0]!.errors, 0, how);
    }
    const noCert = await runCli(KVB, ['get-heavy', ...short, '--cacert', p('ca.pem')], { env: { KVB_API_KEY: key }, timeoutMs: 60_000 });
    assert.is(noCert.code, 1, noCert.stderr);
    assert.match(noCert.stderr, 'UNREACHABLE');
  } finally {
    assert.is(await server.stop(), 0);
  }
});

test('wal inspect / wal tail read a local directory: with --url they exit 2 and say to use --data-dir on the server’s machine', async () => {
  for (const cmd of [['wal', 'tail'], ['wal', 'inspect']]) {
    const r = await runCli(KVCTL, ['--url', 'http://127.0.0.1:1', ...cmd]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, '--data-dir');
    assert.match(r.stderr, '--url');
  }
  const help = ok(await runCli(KVCTL, ['wal', '--help'])).stdout;
  assert.match(help, /local data directory/);
  assert.match(help, /not over --url/);
});

test.run();
