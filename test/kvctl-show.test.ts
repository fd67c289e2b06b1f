/**
 * kvctl user show, role show, audit tail and audit export --since, over --url (the server's
 * routes) and on a --data-dir (the catalog directly); status shows the WAL size and the last
 * checkpoint. Real kvctl processes against a real server.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KVCTL, runCli, type Run } from './cli-proc.js';
import { type Harness, startHarness } from './http-harness.js';
import { parseSince } from '../ts/cli/catalog-show.js';
import { tempDir } from './helpers.js';

const test = suite('kvctl show / audit tail / export');
let h: Harness;
let kv: (args: string[]) => Promise<Run>;
test.before(async () => {
  h = await startHarness({ loginRateLimit: 0 });
  kv = (args) => runCli(KVCTL, ['--url', h.url, ...args], { env: { KVCTL_TOKEN: h.admin, KVCTL_CONFIG_DIR: tempDir('cfg') } });
  await h.auth.createRole('ops', { permissions: [{ prefix: 'app/', actions: ['read', 'write'] }] });
  await h.auth.createUser('carol', { password: 'carol password 123', roles: ['ops'] });
  await h.auth.createApiKey('carol', { name: 'ci' });
});
test.after(async () => {
  await h?.close();
});

const ok = (r: Run): Run => {
  assert.is(r.code, 0, r.stderr);
  return r;
};
const lines = (s: string): Record<string, unknown>[] => s.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);

test('user show: roles, API keys, lock state; an unknown user fails with NOT_FOUND', async () => {
  const text = ok(await kv(['user', 'show', 'carol'])).stdout;
  assert.match(text, /^roles:\s+ops$/m);
  assert.match(text, /^api keys:\s+ci$/m);
  assert.match(text, /^locked:\s+no$/m);
  const j = JSON.parse(ok(await kv(['user', 'show', 'carol', '--format', 'json'])).stdout) as { name: string; roles: string[]; apiKeys: { name: string }[] };
  assert.equal([j.name, j.roles, j.apiKeys.map((k) => k.name)], ['carol', ['ops'], ['ci']]);
  const r = await kv(['user', 'show', 'nobody']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'NOT_FOUND');
});

test('role show: permissions and the users that have it', async () => {
  const text = ok(await kv(['role', 'show', 'ops'])).stdout;
  assert.match(text, /^permissions:\s+"app\/"=read,write$/m);
  assert.match(text, /^users:\s+carol$/m);
  assert.match(ok(await kv(['role', 'show', 'monitor'])).stdout, /^builtin:\s+yes$/m);
});

test('audit tail: the newest records as JSON lines, oldest first', async () => {
  const recs = lines(ok(await kv(['audit', 'tail', '-n', '3'])).stdout);
  assert.is(recs.length, 3);
  assert.ok((recs[0]!.at as number) <= (recs[2]!.at as number));
  assert.is(recs[2]!.action, 'apikey.create');
  assert.is(recs[1]!.action, 'user.create');
});

test('audit export --since: every record from that time, oldest first; a bad time is a usage error', async () => {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 5; i++) await h.auth.lockUser('carol', `r${i}`).then(() => h.auth.unlockUser('carol'));
  const recs = lines(ok(await kv(['audit', 'export', '--since', new Date(t0).toISOString()])).stdout);
  assert.is(recs.length, 10);
  assert.ok(recs.every((e) => (e.at as number) >= t0));
  assert.equal(recs.map((e) => e.action).slice(0, 2), ['user.lock', 'user.unlock']);
  const all = lines(ok(await kv(['audit', 'export', '--since', '0'])).stdout);
  assert.ok(all.length > recs.length);
  assert.is(all[0]!.action, 'catalog.bootstrap');
  const bad = await kv(['audit', 'export', '--since', 'last tuesday']);
  assert.is(bad.code, 2);
});

test('--since parsing: ISO, ms, ages', () => {
  assert.is(parseSince('2026-12-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z'));
  assert.is(parseSince('1796184353889'), 1796184353889);
  assert.is(parseSince('2h', 10_000_000), 10_000_000 - 7_200_000);
  assert.throws(() => parseSince('soon'));
});

test('the export route is admin only', async () => {
  const r = await fetch(`${h.url}/v1/admin/audit/export?since=0`, { headers: { authorization: `Bearer ${(await (await fetch(`${h.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'carol', password: 'carol password 123' }) })).json() as { token: string }).token}` } });
  assert.is(r.status, 403);
});

test('status over --url: the WAL size and the last checkpoint time, as the server has them', async () => {
  const stat = async (): Promise<{ walBytes: number; lastCheckpointLsn: string; lastCheckpointTime: string | null }> =>
    JSON.parse(ok(await kv(['status', '--format', 'json'])).stdout) as { walBytes: number; lastCheckpointLsn: string; lastCheckpointTime: string | null };
  const before = await stat();
  assert.type(before.walBytes, 'number');
  assert.ok(before.walBytes > 0, 'the catalog writes are in the WAL');
  // A fresh directory has had no checkpoint yet: no time (not a made-up one).
  if (before.lastCheckpointLsn === '0') assert.is(before.lastCheckpointTime, null);
  await h.db.put('status/k', 'v');
  const t0 = Date.now();
  ok(await kv(['checkpoint']));
  const after = await stat();
  assert.ok(after.lastCheckpointTime !== null, JSON.stringify(after));
  const t = Date.parse(after.lastCheckpointTime);
  assert.ok(t >= t0 - 1000 && t <= Date.now() + 1000, `checkpoint time ${after.lastCheckpointTime} is now`);
  assert.ok(BigInt(after.lastCheckpointLsn) > BigInt(before.lastCheckpointLsn));
  // The same figures the store reports, not the client's clock.
  const s = h.db.stats();
  assert.is(after.lastCheckpointTime, new Date(s.lastCheckpointTimeMs).toISOString());
  assert.is(after.lastCheckpointLsn, String(s.lastCheckpointLsn));
});

test('on a data directory too, and status shows WAL size and the last checkpoint time', async () => {
  const dir = tempDir('kvshow');
  const local = (args: string[], input = ''): Promise<Run> => runCli(KVCTL, ['--data-dir', dir, ...args], { input, env: { KVCTL_CONFIG_DIR: tempDir('cfg') } });
  ok(await local(['user', 'create', 'dave', '--password-stdin', '--role', 'reader'], 'dave password 1234\n'));
  assert.match(ok(await local(['user', 'show', 'dave'])).stdout, /^roles:\s+reader$/m);
  assert.is(lines(ok(await local(['audit', 'export', '--since', '1h'])).stdout).some((e) => e.action === 'user.create' && e.target === 'dave'), true);
  ok(await local(['checkpoint']));
  const s = JSON.parse(ok(await local(['status', '--format', 'json'])).stdout) as { walBytes: number; lastCheckpointTime: string | null };
  assert.type(s.walBytes, 'number');
  assert.ok(s.lastCheckpointTime !== null && Math.abs(Date.parse(s.lastCheckpointTime) - Date.now()) < 120_000, JSON.stringify(s));
});

test.run();
