/**
 * kvctl as an administrator uses it: the real binary against a real kvstored child process
 * and its real data directory — every command of issue #6 online, the main failures with
 * their exit codes (usage 2, auth 3, server/other 1), the read-only WAL and snapshot views
 * beside the running server, and offline mode once the server has stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_PASSWORD, KVCTL, type Run, type Server, closedPort, runCli, startCli, startKvstored, until } from './cli-proc.js';
import { KIND_PUT, RECORD_HEADER, encodePutBody, writeRecord } from '../ts/engine/format.js';
import { tempDir } from './helpers.js';

const test = suite('kvctl');
const root = tempDir('kvctl');
const dataDir = path.join(root, 'data');
const config = path.join(root, 'config');
let server: Server;

/** kvctl against the server, as the logged-in admin (the cached session in KVCTL_CONFIG_DIR). */
const kv = (args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<Run> =>
  runCli(KVCTL, args, { input: opts.input ?? '', env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: config, ...opts.env } });
/** kvctl on the data directory (no URL, no credentials). */
const offline = (args: string[], input = ''): Promise<Run> => runCli(KVCTL, ['--data-dir', dataDir, ...args], { input, env: { KVCTL_CONFIG_DIR: config } });

function ok(r: Run): Run {
  assert.is(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
function fails(r: Run, exit: number, code: string): void {
  assert.is(r.code, exit, `expected exit ${exit}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (code !== 'USAGE') assert.match(r.stderr, `${code}:`);
}
const parse = <T>(r: Run): T => JSON.parse(ok(r).stdout) as T;

interface User { name: string; roles: string[]; locked: boolean; lockedReason?: string; hasPassword: boolean }

test.before(async () => {
  server = await startKvstored(dataDir);
});
test.after(async () => {
  await server?.stop();
});

test('login reads the password from stdin and caches a session in a 0600 file, not the password', async () => {
  const r = ok(await kv(['login', 'admin'], { input: `${ADMIN_PASSWORD}\n` }));
  assert.match(r.stdout, 'logged in');
  const file = path.join(config, 'token.json');
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.is(fs.statSync(config).mode & 0o777, 0o700);
  const text = fs.readFileSync(file, 'utf8');
  assert.not.match(text, ADMIN_PASSWORD);
  assert.ok((JSON.parse(text) as { sessions: Record<string, { token: string }> }).sessions[server.url]!.token.length > 20);
  const w = parse<{ user: string; admin: boolean }>(await kv(['whoami', '--format=json']));
  assert.equal([w.user, w.admin], ['admin', true]);
});

test('a wrong password exits 3 and caches nothing new', async () => {
  const other = path.join(root, 'config-bad');
  const r = await runCli(KVCTL, ['login', 'admin'], { input: 'not the password\n', env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: other } });
  fails(r, 3, 'AUTH_FAILED');
  assert.not.ok(fs.existsSync(path.join(other, 'token.json')));
});

test('user create alice --password --role=writer,reader; user list --format=json', async () => {
  ok(await kv(['user', 'create', 'alice', '--password', '--role=writer,reader'], { input: 'alice password 1\n' }));
  const users = parse<User[]>(await kv(['user', 'list', '--format=json']));
  const alice = users.find((u) => u.name === 'alice')!;
  assert.equal(alice.roles, ['writer', 'reader']);
  assert.is(alice.hasPassword, true);
  const table = ok(await kv(['user', 'list'])).stdout;
  assert.match(table, /^NAME\s+ROLES/);
  assert.match(table, /alice\s+writer,reader/);
  fails(await kv(['user', 'create', 'alice']), 1, 'ALREADY_EXISTS');
});

test('grant --user=alice --role=admin, then revoke it', async () => {
  ok(await kv(['grant', '--user=alice', '--role=admin']));
  let alice = parse<User[]>(await kv(['user', 'list', '--format=json'])).find((u) => u.name === 'alice')!;
  assert.ok(alice.roles.includes('admin'));
  ok(await kv(['revoke', '--user=alice', '--role=admin']));
  alice = parse<User[]>(await kv(['user', 'list', '--format=json'])).find((u) => u.name === 'alice')!;
  assert.not.ok(alice.roles.includes('admin'));
});

test('user passwd alice: the new password logs in, the old one no longer does', async () => {
  ok(await kv(['user', 'passwd', 'alice'], { input: 'alice password 2\n' }));
  const cfg = path.join(root, 'config-alice');
  fails(await runCli(KVCTL, ['login', 'alice'], { input: 'alice password 1\n', env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: cfg } }), 3, 'AUTH_FAILED');
  ok(await runCli(KVCTL, ['login', 'alice', '--password-stdin'], { input: 'alice password 2\n', env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: cfg } }));
  // alice is a writer, not an admin: admin commands are refused with exit 3
  fails(await runCli(KVCTL, ['user', 'list'], { env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: cfg } }), 3, 'PERMISSION_DENIED');
});

test('user lock bob --reason="suspicious activity"; unlock; drop; audit lists it newest first', async () => {
  ok(await kv(['user', 'create', 'bob']));
  ok(await kv(['user', 'lock', 'bob', '--reason=suspicious activity']));
  let bob = parse<User[]>(await kv(['user', 'list', '--format=json'])).find((u) => u.name === 'bob')!;
  assert.equal([bob.locked, bob.lockedReason], [true, 'suspicious activity']);
  const audit = parse<{ entries: Array<{ action: string; target: string; actor: string; detail?: string }> }>(await kv(['audit', '--limit', '3', '--format=json']));
  assert.equal([audit.entries[0]!.action, audit.entries[0]!.target, audit.entries[0]!.actor], ['user.lock', 'bob', 'admin']);
  assert.match(ok(await kv(['audit', '--limit', '2'])).stdout, /user\.lock\s+bob/);
  ok(await kv(['user', 'unlock', 'bob']));
  bob = parse<User[]>(await kv(['user', 'list', '--format=json'])).find((u) => u.name === 'bob')!;
  assert.is(bob.locked, false);
  ok(await kv(['user', 'drop', 'bob']));
  assert.not.ok(parse<User[]>(await kv(['user', 'list', '--format=json'])).some((u) => u.name === 'bob'));
  fails(await kv(['user', 'unlock', 'bob']), 1, 'NOT_FOUND');
});

test('role create with prefix permissions, prefix grant and revoke, role list, role drop', async () => {
  ok(await kv(['role', 'create', 'app-ro', '--allow', 'app:=read,scan', '--member-of', 'reader']));
  ok(await kv(['grant', '--role=app-ro', '--prefix=tmp:', '--actions=read,write']));
  type Role = { name: string; permissions: Array<{ prefix: string; actions: string[] }>; memberOf: string[] };
  let role = parse<Role[]>(await kv(['role', 'list', '--format=json'])).find((r) => r.name === 'app-ro')!;
  assert.equal(role.memberOf, ['reader']);
  assert.equal(role.permissions.find((p) => p.prefix === 'app:')!.actions, ['read', 'scan']);
  assert.equal(role.permissions.find((p) => p.prefix === 'tmp:')!.actions.sort(), ['read', 'write']);
  ok(await kv(['revoke', '--role=app-ro', '--prefix=tmp:']));
  role = parse<Role[]>(await kv(['role', 'list', '--format=json'])).find((r) => r.name === 'app-ro')!;
  assert.not.ok(role.permissions.some((p) => p.prefix === 'tmp:'));
  assert.match(ok(await kv(['role', 'list'])).stdout, /app-ro\s+no\s+"app:"=read,scan/);
  ok(await kv(['role', 'drop', 'app-ro']));
  assert.not.ok(parse<Role[]>(await kv(['role', 'list', '--format=json'])).some((r) => r.name === 'app-ro'));
});

test('apikey create prints the secret once; it authenticates until apikey revoke k8s-prod-app-01', async () => {
  const created = ok(await kv(['apikey', 'create', 'k8s-prod-app-01', '--owner', 'alice', '--expires', '30d']));
  const token = created.stdout.trim();
  assert.match(token, /^kvs_[0-9a-f]+_\S+$/);
  const keys = parse<Array<{ name: string; owner: string; revoked: boolean; expiresAt: number }>>(await kv(['apikey', 'list', '--format=json']));
  const k = keys.find((x) => x.name === 'k8s-prod-app-01')!;
  assert.is(k.owner, 'alice');
  assert.ok(k.expiresAt > Date.now() + 29 * 86_400_000);
  // the secret is everything after kvs_<id>_ (base64url: it may itself contain "_")
  const secret = token.slice(token.indexOf('_', 4) + 1);
  assert.ok(secret.length >= 40);
  assert.not.match(JSON.stringify(keys), secret);
  const asKey = { KVCTL_API_KEY: token };
  assert.is(parse<{ user: string }>(await kv(['whoami', '--format=json'], { env: asKey })).user, 'alice');
  ok(await kv(['put', 'kv:from-key', 'x'], { env: asKey }));
  ok(await kv(['apikey', 'revoke', 'k8s-prod-app-01']));
  fails(await kv(['get', 'kv:from-key'], { env: asKey }), 3, 'AUTH_FAILED');
});

test('put, get, del and keys --pattern "user:*" over HTTP', async () => {
  ok(await kv(['put', 'user:1', 'ada']));
  ok(await kv(['put', 'user:2'], { input: 'grace\n' })); // stdin bytes, as is
  ok(await kv(['put', 'user:10', 'x', '--ttl', '3600']));
  ok(await kv(['put', 'other:1', 'y']));
  assert.equal(ok(await kv(['keys', '--pattern', 'user:*'])).stdout.trim().split('\n'), ['user:1', 'user:10', 'user:2']);
  assert.equal(parse<string[]>(await kv(['keys', '--pattern', 'user:?', '--format=json'])), ['user:1', 'user:2']);
  assert.equal(parse<string[]>(await kv(['keys', '--pattern', '*:1', '--format=json'])), ['other:1', 'user:1']);
  assert.is(ok(await kv(['get', 'user:1'])).stdout, 'ada');
  assert.is(ok(await kv(['get', 'user:2'])).stdout, 'grace\n');
  const j = parse<{ value: string; version: string; expiresAt: string | null }>(await kv(['get', 'user:10', '--format=json']));
  assert.is(j.value, 'x');
  assert.ok(Date.parse(j.expiresAt!) > Date.now());
  fails(await kv(['put', 'user:1', 'again', '--if-absent']), 1, 'VERSION_MISMATCH');
  const v = parse<{ version: string }>(await kv(['put', 'user:1', 'ada2', '--format=json'])).version;
  ok(await kv(['put', 'user:1', 'ada3', '--if-version', v]));
  ok(await kv(['del', 'user:1']));
  fails(await kv(['get', 'user:1']), 1, 'NOT_FOUND');
  fails(await kv(['del', 'user:1']), 1, 'NOT_FOUND');
  assert.is(ok(await kv(['incr', 'ctr', '--by', '5'])).stdout.trim(), '5');
});

test('checkpoint and snapshot create; snapshot list reads the directory beside the running server', async () => {
  const c = parse<{ redoLsn: string; snapshot: string }>(await kv(['checkpoint', '--format=json']));
  assert.ok(BigInt(c.redoLsn) > 1n);
  ok(await kv(['put', 'after:cp', '1']));
  const s = parse<{ redoLsn: string; snapshot: string }>(await kv(['snapshot', 'create', '--format=json']));
  assert.ok(BigInt(s.redoLsn) > BigInt(c.redoLsn));
  const list = parse<Array<{ name: string; redoLsn: string; current: boolean; check?: string }>>(
    await runCli(KVCTL, ['--data-dir', dataDir, 'snapshot', 'list', '--verify', '--format=json']));
  const cur = list.find((x) => x.current)!;
  assert.equal([cur.name, cur.redoLsn, cur.check], [s.snapshot, s.redoLsn, 'ok']);
});

test('status shows state, engine, keys, memory, WAL size and last checkpoint', async () => {
  const s = parse<Record<string, string | number | null>>(await kv(['status', '--format=json']));
  assert.is(s.state, 'ready');
  assert.ok(['native', 'js'].includes(String(s.engine)));
  assert.ok(Number(s.keys) > 5);
  assert.ok(Number(s.memoryRss) > 1e6);
  assert.type(s.walBytes, 'number');
  assert.ok(BigInt(String(s.lastCheckpointLsn)) > 0n);
  assert.match(ok(await kv(['status'])).stdout, /walBytes:\s+\d/);
  // the data directory, while the server holds it: figures from the files, no lock taken
  const d = parse<Record<string, string | number | null>>(await offline(['status', '--format=json']));
  assert.match(String(d.state), /held by pid \d+/);
  assert.is(d.lastCheckpointLsn, s.lastCheckpointLsn);
});

test('wal inspect decodes records beside the running server; wal tail follows new writes', async () => {
  ok(await kv(['put', 'wal:probe', 'hello']));
  type Rec = { lsn: string; kindName: string; crc: string; ops: Array<{ key: string; valueSize?: number }> };
  const res = parse<{ records: Rec[]; summary: { verdict: string; heldBy: number } }>(await offline(['wal', 'inspect', '--format=json']));
  const probe = res.records.find((r) => r.ops.some((o) => o.key === 'wal:probe'))!;
  assert.equal([probe.kindName, probe.crc, probe.ops[0]!.valueSize], ['PUT', 'ok', 5]);
  assert.is(res.summary.verdict, 'clean');
  assert.ok(res.summary.heldBy > 0);
  const lsn = BigInt(probe.lsn);
  const one = parse<{ records: Rec[] }>(await offline(['wal', 'inspect', '--from-lsn', String(lsn), '--limit', '1', '--format=json']));
  assert.equal(one.records.map((r) => r.lsn), [String(lsn)]);
  assert.match(ok(await offline(['wal', 'inspect', '--from-lsn', String(lsn)])).stdout, new RegExp(`${lsn}\\s+\\S+\\.wal\\s+\\d+\\s+PUT\\s+\\d+\\s+ok\\s+wal:probe`));

  const last = ok(await offline(['wal', 'tail', '-n', '1', '--no-follow', '--format=json'])).stdout.trim().split('\n');
  assert.is(last.length, 1);
  assert.is((JSON.parse(last[0]!) as Rec).ops[0]!.key, 'wal:probe');

  const tail = startCli(KVCTL, ['--data-dir', dataDir, 'wal', 'tail', '-n', '0', '--interval', '50']);
  await until(() => tail.output().includes('LSN'), 'the tail header');
  ok(await kv(['put', 'wal:followed', 'v']));
  await until(() => tail.output().includes('wal:followed'), 'wal tail to print the new record');
  assert.match(tail.output(), /\d+\s+PUT\s+\d+\s+ok\s+wal:followed/);
  tail.proc.kill('SIGINT');
  assert.is((await tail.done).code, 130, 'Ctrl-C ends the follow with exit 130');
});

test('usage errors exit 2', async () => {
  fails(await kv(['user', 'create']), 2, 'USAGE');
  fails(await kv(['user', 'frobnicate', 'x']), 2, 'USAGE');
  fails(await kv(['--format=yaml', 'user', 'list']), 2, 'USAGE');
  fails(await kv(['grant', '--role=admin', '--user=alice', '--prefix=x']), 2, 'USAGE');
  fails(await kv(['role', 'create', 'r', '--allow', 'app:=read,fly']), 2, 'USAGE');
  fails(await kv(['keys', '--limit', 'many']), 2, 'USAGE');
  fails(await runCli(KVCTL, ['user', 'list'], { env: { KVCTL_CONFIG_DIR: config } }), 2, 'USAGE'); // nowhere to go
  const j = await kv(['grant', '--role=admin', '--format=json']);
  assert.is(j.code, 2);
  assert.is((JSON.parse(j.stderr) as { error: { code: string } }).error.code, 'USAGE');
  const help = ok(await kv(['user', 'create', '--help']));
  assert.match(help.stdout, '--password');
  assert.match(ok(await kv(['--help'])).stdout, 'Exit codes');
});

test('bad credentials exit 3; a server that is down exits 1', async () => {
  fails(await kv(['user', 'list'], { env: { KVCTL_TOKEN: 'garbage.token.here' } }), 3, 'AUTH_FAILED');
  fails(await kv(['user', 'list'], { env: { KVCTL_API_KEY: 'kvs_0000000000000000_nope' } }), 3, 'AUTH_FAILED');
  const nobody = path.join(root, 'config-empty');
  const r = await runCli(KVCTL, ['user', 'list'], { env: { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: nobody } });
  fails(r, 3, 'AUTH_FAILED');
  assert.match(r.stderr, 'kvctl login');
  const port = await closedPort();
  fails(await kv(['--url', `http://127.0.0.1:${port}`, 'status']), 1, 'UNREACHABLE');
});

test('offline commands refuse a directory the server holds (exit 1, LOCKED), and work once it stops', async () => {
  const held = await offline(['user', 'list']);
  fails(held, 1, 'LOCKED');
  assert.match(held.stderr, /held by a running process \(pid \d+/);
  assert.match(held.stderr, '--url');
  assert.is(await server.stop(), 0);

  const users = parse<User[]>(await offline(['user', 'list', '--format=json']));
  assert.ok(users.some((u) => u.name === 'alice'));
  ok(await offline(['user', 'create', 'carol', '--password-stdin', '--role=reader'], 'carol password 1\n'));
  ok(await offline(['user', 'lock', 'carol', '--reason', 'offline lock']));
  ok(await offline(['put', 'off:1', 'offline value']));
  assert.is(ok(await offline(['get', 'off:1'])).stdout, 'offline value');
  assert.equal(parse<string[]>(await offline(['keys', '--pattern', 'user:*', '--format=json'])), ['user:10', 'user:2']);
  const audit = parse<{ entries: Array<{ action: string; actor: string }> }>(await offline(['audit', '--limit', '1', '--format=json']));
  assert.equal(audit.entries[0]!.action, 'user.lock');
  assert.match(audit.entries[0]!.actor, /^kvctl:/);
  const st = parse<Record<string, string | number>>(await offline(['status', '--format=json']));
  assert.match(String(st.state), 'offline');
  assert.ok(Number(st.dataKeys) >= 4);
  ok(await offline(['checkpoint']));
  assert.not.ok(fs.existsSync(path.join(dataDir, 'LOCK')), 'kvctl released the directory');
  fails(await runCli(KVCTL, ['--data-dir', path.join(root, 'nope'), 'user', 'list']), 1, 'NOT_FOUND');
});

/** A data directory whose only WAL segment holds PUT a:1..a:n at LSN 1..n; returns the segment and record offsets. */
function walFixture(name: string, n: number): { dir: string; seg: string; offsets: number[] } {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (let i = 1; i <= n; i++) {
    const body = encodePutBody(Buffer.from(`a:${i}`), Buffer.from(`value ${i}`), 0);
    const rec = Buffer.alloc(RECORD_HEADER + body.length);
    writeRecord(rec, 0, BigInt(i), KIND_PUT, body);
    offsets.push(at);
    at += rec.length;
    parts.push(rec);
  }
  const seg = path.join(dir, 'wal', '0000000000000001.wal');
  fs.writeFileSync(seg, Buffer.concat(parts));
  return { dir, seg, offsets };
}

type Inspect = { records: Array<{ offset: number; lsn: string; crc: string; status: string; verdict?: string }>; summary: { verdict: string; corruptRecords: number; records: number } };

test('wal inspect: a record cut short at the end is a torn tail (exit 0), and inspect changes nothing', async () => {
  const { dir, seg } = walFixture('torn', 3);
  fs.truncateSync(seg, fs.statSync(seg).size - 3);
  const before = fs.readFileSync(seg);
  const t = parse<Inspect>(await runCli(KVCTL, ['--data-dir', dir, 'wal', 'inspect', '--format=json']));
  assert.equal(t.records.map((r) => [r.lsn, r.crc]), [['1', 'ok'], ['2', 'ok'], ['3', 'torn']]);
  assert.is(t.records[2]!.verdict, 'torn-tail');
  assert.match(t.summary.verdict, 'torn tail');
  assert.ok(fs.readFileSync(seg).equals(before), 'inspect changed nothing');
  assert.equal(fs.readdirSync(dir).sort(), ['wal'], 'no LOCK, control or base/ created');
});

test('wal inspect: a bad CRC with a valid record after it is corruption (exit 1); reading resumes after it', async () => {
  const { dir, seg, offsets } = walFixture('corrupt', 3);
  const buf = fs.readFileSync(seg);
  const at = offsets[1]! + RECORD_HEADER + 20; // a byte of record 2's body
  buf[at] = buf[at]! ^ 0xff;
  fs.writeFileSync(seg, buf);
  const r = await runCli(KVCTL, ['--data-dir', dir, 'wal', 'inspect', '--format=json']);
  assert.is(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout) as Inspect;
  assert.equal(j.records.map((x) => [x.lsn, x.crc, x.verdict ?? '']), [['1', 'ok', ''], ['2', 'BAD', 'corruption'], ['3', 'ok', '']]);
  assert.is(j.summary.corruptRecords, 1);
  assert.match(ok(await runCli(KVCTL, ['--data-dir', walFixture('clean', 2).dir, 'wal', 'inspect'])).stdout, /verdict: clean/);
});

test('wal inspect --step shows one record per Enter and stops at q', async () => {
  const { dir } = walFixture('step', 5);
  const r = ok(await runCli(KVCTL, ['--data-dir', dir, 'wal', 'inspect', '--step'], { input: '\n\nq\n' }));
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('LSN ')).map((l) => l.split(/\s+/)[1]), ['1', '2', '3']);
  assert.match(r.stdout, 'PUT a:2 = "value 2"');
});

test.run();
