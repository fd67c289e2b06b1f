/**
 * `kvctl cluster status` and `kvctl cluster promote` as an operator runs them: the real kvctl
 * binary against real kvstored children — a primary and a standby streaming from it over
 * loopback — with their exit codes (0 ok, 1 failed, 2 usage, 3 auth). Ends with a failover:
 * the primary is killed (SIGKILL) and the standby promoted on a new timeline.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_PASSWORD, KVCTL, type Run, type Server, closedPort, runCli, startKvstored } from './cli-proc.js';
import { tempDir } from './helpers.js';

const test = suite('kvctl cluster');
const root = tempDir('kvctl-cluster');
const config = path.join(root, 'config');
let primary: Server;
let standby: Server;
let primaryPort = 0;
/** An admin API key made on the primary: valid on every node, since the catalog replicates. */
let opsKey = '';
let replKey = '';

interface StandbyRow { id: string; address: string; sentLsn: string; flushedLsn: string; appliedLsn: string; lagLsn: string; lastFeedbackAt: number; synchronous: boolean }
interface Status {
  role: 'primary' | 'standby';
  systemId: string;
  timeline: string;
  history: Array<{ id: string; parent: string | null; switchLsn: string }>;
  nextLsn: string;
  flushedLsn: string;
  appliedLsn: string;
  synchronousStandbys: number;
  syncSet: string[];
  standbys: StandbyRow[];
  receiver: { connected: boolean; primaryUrl: string; primaryLsn: string; appliedLsn: string; lagLsn: string; lagMs: number; lastError: unknown; stopped: unknown } | null;
}

const kv = (args: string[], env: Record<string, string | undefined> = {}, input = ''): Promise<Run> =>
  runCli(KVCTL, args, { input, env: { KVCTL_CONFIG_DIR: config, KVCTL_API_KEY: opsKey, ...env } });

function ok(r: Run): Run {
  assert.is(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
function fails(r: Run, exit: number, code: string): void {
  assert.is(r.code, exit, `expected exit ${exit}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  if (code !== 'USAGE') assert.match(r.stderr, `${code}:`);
}
const status = async (url: string): Promise<Status> => JSON.parse(ok(await kv(['--url', url, 'cluster', 'status', '--format', 'json'])).stdout) as Status;

/** Polls `cluster status` on url until pred holds (at most 40 tries, 20 s). */
async function statusUntil(url: string, pred: (s: Status) => boolean, what: string): Promise<Status> {
  let last: Status | undefined;
  for (let i = 0, t0 = Date.now(); i < 40 && Date.now() - t0 < 20_000; i++) {
    last = await status(url);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}`);
}

test.before(async () => {
  primaryPort = await closedPort();
  primary = await startKvstored(path.join(root, 'a'), ['--port', String(primaryPort)]);
  ok(await kv(['--url', primary.url, 'login', 'admin'], { KVCTL_API_KEY: undefined }, `${ADMIN_PASSWORD}\n`));
  opsKey = ok(await kv(['--url', primary.url, 'apikey', 'create', 'ops', '--owner', 'admin'], { KVCTL_API_KEY: undefined })).stdout.trim();
  ok(await kv(['--url', primary.url, 'user', 'create', 'repl', '--role', 'replicator']));
  replKey = ok(await kv(['--url', primary.url, 'apikey', 'create', 'standby-b', '--owner', 'repl'])).stdout.trim();
  standby = await startKvstored(path.join(root, 'b'), ['--replica-of', primary.url, '--standby-id', 'b'], { KVSTORE_REPLICATION_API_KEY: replKey });
});
test.after(async () => {
  await standby?.stop();
  await primary?.stop();
});

test('kvstored --synchronous-standbys 1 starts on an empty directory (its first writes cannot wait for standbys that cannot exist yet)', async () => {
  const s = await startKvstored(tempDir('sync-fresh'), ['--synchronous-standbys', '1', '--synchronous-timeout-ms', '60000']);
  try {
    const ready = await fetch(`${s.url}/ready`);
    assert.is(ready.status, 200);
  } finally {
    assert.is(await s.stop(), 0);
  }
});

test('cluster status --format json on the primary: role, timeline, LSNs, the standby with its LSNs and lag, the sync set', async () => {
  ok(await kv(['--url', primary.url, 'put', 'k1', 'v1']));
  const s = await statusUntil(primary.url, (x) => x.standbys.some((b) => b.id === 'b' && b.appliedLsn === x.flushedLsn), 'standby b to catch up');
  assert.is(s.role, 'primary');
  assert.match(s.systemId, /^[0-9a-f]{16}$/);
  assert.match(s.timeline, /^00000001[0-9a-f]{8}$/);
  assert.equal(s.history.map((h) => h.id), [s.timeline]);
  assert.is(s.receiver, null);
  assert.equal([s.synchronousStandbys, s.syncSet], [0, []]);
  const b = s.standbys.find((x) => x.id === 'b')!;
  assert.equal([b.sentLsn, b.flushedLsn, b.appliedLsn, b.lagLsn, b.synchronous], [s.flushedLsn, s.flushedLsn, s.flushedLsn, '0', false]);
  assert.ok(BigInt(s.nextLsn) > BigInt(s.flushedLsn));
});

test('cluster status as a table on the primary lists the node and one row per standby', async () => {
  const out = ok(await kv(['--url', primary.url, 'cluster', 'status'])).stdout;
  assert.match(out, /^role:\s+primary$/m);
  assert.match(out, /^timeline:\s+00000001[0-9a-f]{8} \(generation 1\)$/m);
  assert.match(out, /^STANDBY\s+ADDRESS\s+SENT LSN\s+FLUSHED LSN\s+APPLIED LSN\s+LAG \(LSNS\)\s+LAST FEEDBACK\s+SYNC$/m);
  assert.match(out, /^b\s+127\.0\.0\.1\s+\d+\s+\d+\s+\d+\s+0\s+\S+\s+no$/m);
});

test('cluster status on the standby: role standby, the receiver connected to the primary, its lag; the data is there', async () => {
  const s = await statusUntil(standby.url, (x) => x.receiver?.connected === true && x.receiver.lagLsn === '0', 'the standby to be caught up');
  assert.is(s.role, 'standby');
  assert.is(s.receiver!.primaryUrl.replace(/\/$/, ''), primary.url);
  assert.is(s.receiver!.appliedLsn, s.appliedLsn);
  assert.equal(s.standbys, []);
  const p = await status(primary.url);
  assert.equal([s.systemId, s.timeline], [p.systemId, p.timeline]);
  assert.is(ok(await kv(['--url', standby.url, 'get', 'k1'])).stdout, 'v1');
  const table = ok(await kv(['--url', standby.url, 'cluster', 'status'])).stdout;
  assert.match(table, /^role:\s+standby$/m);
  assert.match(table, /^receiver:\s+connected to http:\/\/127\.0\.0\.1:\d+\/?$/m);
  assert.match(table, /^lag:\s+0 LSNs, 0 ms$/m);
});

test('a primary restarted with --synchronous-standbys 1 names the standby in its sync set once it reconnects', async () => {
  await primary.stop();
  primary = await startKvstored(path.join(root, 'a'), ['--port', String(primaryPort), '--synchronous-standbys', '1']);
  const s = await statusUntil(primary.url, (x) => x.syncSet.length === 1, 'the standby to rejoin the sync set');
  assert.equal([s.synchronousStandbys, s.syncSet], [1, ['b']]);
  assert.is(s.standbys.find((x) => x.id === 'b')!.synchronous, true);
  ok(await kv(['--url', primary.url, 'put', 'k2', 'v2'])); // confirmed by b
  assert.match(ok(await kv(['--url', primary.url, 'cluster', 'status'])).stdout, /^synchronous:\s+ANY 1 of the connected standbys; sync set: b$/m);
});

test('cluster promote on a primary exits 1 with NOT_STANDBY and changes nothing', async () => {
  const before = await status(primary.url);
  fails(await kv(['--url', primary.url, 'cluster', 'promote']), 1, 'NOT_STANDBY');
  const after = await status(primary.url);
  assert.equal([after.role, after.timeline], [before.role, before.timeline]);
});

test('cluster commands need a running server: --data-dir or no URL exits 2, an unreachable server 1, no credentials 3', async () => {
  for (const sub of ['status', 'promote']) {
    const r = await kv(['--data-dir', path.join(root, 'a'), 'cluster', sub]);
    fails(r, 2, 'USAGE');
    assert.match(r.stderr, 'running server');
    fails(await kv(['cluster', sub]), 2, 'USAGE');
    fails(await kv(['--url', `http://127.0.0.1:${await closedPort()}`, 'cluster', sub]), 1, 'UNREACHABLE');
    fails(await kv(['--url', standby.url, 'cluster', sub], { KVCTL_API_KEY: undefined }), 3, 'AUTH_FAILED');
  }
  fails(await kv(['--url', primary.url, 'cluster', 'status', '--format', 'yaml']), 2, 'USAGE');
});

test('failover: the primary is killed, cluster promote makes the standby a primary on a new timeline, and it takes writes', async () => {
  const old = await status(primary.url);
  await primary.kill();
  // The standby forwards writes to its primary, which is dead: nothing was sent (routing.ts).
  fails(await kv(['--url', standby.url, 'put', 'k3', 'v3']), 1, 'FORWARD_FAILED');
  const r = ok(await kv(['--url', standby.url, 'cluster', 'promote']));
  assert.match(r.stdout, new RegExp(`^promoted ${standby.url.replace(/[.]/g, '\\.')} to primary: timeline 00000002[0-9a-f]{8} \\(generation 2, from ${old.timeline}\\) at LSN \\d+$`, 'm'));
  const s = await status(standby.url);
  assert.is(s.role, 'primary');
  assert.is(s.receiver, null);
  assert.is(s.systemId, old.systemId);
  assert.match(s.timeline, /^00000002[0-9a-f]{8}$/);
  assert.equal(s.history.map((h) => h.parent), [null, old.timeline]);
  assert.is(ok(await kv(['--url', standby.url, 'get', 'k2'])).stdout, 'v2', 'the synchronous write is on the promoted standby');
  ok(await kv(['--url', standby.url, 'put', 'k3', 'v3']));
  const again = await kv(['--url', standby.url, 'cluster', 'promote', '--format', 'json']);
  assert.is(again.code, 1);
  assert.equal(JSON.parse(again.stderr), { error: { code: 'NOT_STANDBY', message: (JSON.parse(again.stderr) as { error: { message: string } }).error.message, exitCode: 1 } });
});

test.run();
