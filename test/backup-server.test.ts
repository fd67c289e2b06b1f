/**
 * kvstored's backup side on a real process: `archive` to S3 (s3rver on loopback, endpoint
 * from s3_endpoint, credentials from the AWS environment), POST /v1/admin/backup (to S3 and
 * to a directory; bad bodies are 400s), GET /v1/admin/archive, the archive metrics (promtool
 * accepts them), the archive flushed at shutdown, a scheduled backup with retention, and
 * config validation (backup_schedule). The repository then restores to the server's last write.
 * The S3 secret key never shows in kvstored's output, metrics or admin answers, also while
 * the archive target is down and every shipment fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../ts/server/config.js';
import { openRepo } from '../ts/backup/repo.js';
import { listRepo } from '../ts/backup/catalog.js';
import { restoreBackup } from '../ts/backup/restore.js';
import { verifyArchive } from '../ts/backup/verify.js';
import { open } from '../ts/store/store.js';
import { ENGINES, rejectsWith, repoRoot, tempDir } from './helpers.js';
import { type Kvstored, adminCall, loginToken, startKvstored } from './kvstored-child.js';
import { assertPromtoolAccepts } from './promtool.js';
import { type TestS3, startS3 } from './s3-server.js';
import { randomBytes } from 'node:crypto';
import { assertManifest, sleep } from './backup-util.js';

const test = suite('backup: kvstored');
let s3: TestS3;
let server: Kvstored | null = null;
test.before(async () => {
  s3 = await startS3();
});
test.after.each(async () => {
  await server?.stop();
  server = null;
});
test.after(async () => {
  await s3.close();
});

test('config: backup_schedule must be an interval and needs backup_to', async () => {
  await rejectsWith('INVALID_ARGUMENT', () => loadConfig(['--backup-schedule', '5 * * * *', '--backup-to', '/x'], {}));
  await rejectsWith('INVALID_ARGUMENT', () => loadConfig(['--backup-schedule', '6h'], {}));
  const { config } = loadConfig(['--backup-schedule', '6h', '--backup-to', 's3://b/p', '--backup-keep', '3', '--archive', '/a'], {});
  assert.is(config.backupSchedule, '6h');
  assert.is(config.backupKeep, 3);
  // Backups are throttled unless told otherwise (docs/backup.md, Performance); 0 = no limit.
  assert.is(loadConfig([], {}).config.backupMaxMbPerS, 30);
  assert.is(loadConfig(['--backup-max-mb-per-s', '0'], {}).config.backupMaxMbPerS, 0);
  // The example file's backup block, uncommented, is made of real settings and loads.
  const text = fs.readFileSync(path.join(repoRoot, 'deploy', 'kvstored.example.toml'), 'utf8');
  const block = text.slice(text.indexOf('# Backups'), text.indexOf('# Replication'));
  const lines = [...block.matchAll(/^# ([a-z_0-9]+ = .+?)(?:[ \t]+#.*)?$/gm)].map((m) => m[1]!);
  assert.equal(lines.map((l) => l.split(' ')[0]).sort(), ['archive', 'archive_partial_interval_s', 'backup_keep', 'backup_max_mb_per_s', 'backup_schedule', 'backup_to', 's3_endpoint', 's3_region']);
  const file = path.join(tempDir('bks-toml'), 'kvstored.toml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const loaded = loadConfig(['--config', file], {}).config;
  assert.is(loaded.backupSchedule, '6h');
  assert.is(loaded.archive, 's3://my-bucket/kvstore/prod');
});

for (const engine of ENGINES) {
  test(`${engine}: archive to S3, backups through the admin route, metrics, a schedule; the repository restores to the last write`, async () => {
    const url = `s3://${s3.bucket}/kvstored-${engine}`;
    const dirRepo = tempDir('bks-dir');
    const schedRepo = tempDir('bks-sched');
    server = await startKvstored(['--engine', engine, '--archive', url, '--archive-partial-interval-s', '1', '--s3-endpoint', s3.endpoint,
      '--backup-to', schedRepo, '--backup-schedule', '1s', '--backup-keep', '2', '--backup-max-mb-per-s', '200'], { grpc: false, env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' } });
    const token = await loginToken(server.url);
    const put = async (k: string, v: string): Promise<void> => {
      const r = await fetch(`${server!.url}/v1/kv/${k}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: v });
      assert.is(r.status, 200, await r.text());
    };
    for (let i = 0; i < 50; i++) await put(`k${i}`, `v${i}`);
    const m = (await adminCall(server.url, token, 'POST', 'backup', { to: url })) as { id: string; endLsn: string };
    assert.match(m.id, /^\d{8}T\d{9}Z-[0-9a-f]{6}$/);
    const t2 = Date.now();
    const m2 = (await adminCall(server.url, token, 'POST', 'backup', { to: dirRepo })) as { id: string };
    // The manifest's every field against the files; the source is the server's data directory
    // and replication identity (timeline.json, written when it became primary).
    const history = JSON.parse(fs.readFileSync(path.join(server.dir, 'timeline.json'), 'utf8')) as { systemId: string; entries: { id: string }[] };
    const onDisk = assertManifest({ dir: path.join(dirRepo, 'backups', m2.id), notBefore: t2, notAfter: Date.now(), dataDir: path.resolve(server.dir), engine, systemId: history.systemId, timeline: history.entries.at(-1)!.id, minEndLsn: BigInt(m.endLsn) });
    assert.equal(onDisk, m2, 'the admin route answers with the manifest');
    // No target and a default: the default (backup_to). Bad bodies: 400, nothing written.
    const m3 = (await adminCall(server.url, token, 'POST', 'backup')) as { id: string };
    assert.ok(fs.existsSync(path.join(schedRepo, 'backups', m3.id, 'manifest.json')));
    for (const body of [{ to: 5 }, { where: '/x' }, { to: '' }, { to: 'relative/dir' }]) {
      const r = await fetch(`${server.url}/v1/admin/backup`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.is(r.status, 400, JSON.stringify(body));
    }
    const anon = await fetch(`${server.url}/v1/admin/backup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: dirRepo }) });
    assert.is(anon.status, 401, 'admin only');
    for (let i = 0; i < 50; i++) await put(`k${i}`, `later${i}`);
    let st: { enabled: boolean; lastArchivedLsn: string; lagLsn: string; failures: number } = { enabled: false, lastArchivedLsn: '0', lagLsn: '1', failures: 0 };
    for (let i = 0; i < 100; i++) {
      st = (await adminCall(server.url, token, 'GET', 'archive')) as typeof st;
      if (st.lagLsn === '0') break;
      await sleep(100);
    }
    assert.ok(st.enabled && st.lagLsn === '0' && st.failures === 0, JSON.stringify(st));
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    assert.match(metrics, new RegExp(`^kvstore_archive_last_archived_lsn ${st.lastArchivedLsn}$`, 'm'));
    assert.match(metrics, /^kvstore_archive_failures_total 0$/m);
    assert.match(metrics, /^kvstore_backup_scheduled_runs_total \d+$/m);
    assertPromtoolAccepts(metrics, 'a scrape with archive metrics');
    await sleep(2500); // the schedule runs (every second) and prunes to 2
    await put('final', 'write');
    assert.is(await server.stop(), 0);
    server = null;
    const sched = await listRepo(await openRepo(schedRepo));
    assert.ok(sched.backups.length >= 1 && sched.backups.length <= 2, `backup_keep = 2 (${sched.backups.length})`);
    // Shutdown shipped the last write; the S3 repository restores to it.
    const repo = await openRepo(url);
    assert.equal((await verifyArchive(repo)).gaps, []);
    const r = await restoreBackup(url, tempDir('bks-r'));
    assert.is(r.backupId, m.id);
    const db = await open({ dir: r.dir, engine });
    try {
      assert.is(db.get('final')?.toString(), 'write');
      assert.is(db.get('k7')?.toString(), 'later7');
    } finally {
      await db.close();
    }
  });
}

test('the S3 secret key is never logged, also while the archive target is down', async () => {
  const endpointBefore = process.env.KVSTORE_S3_ENDPOINT;
  const own = await startS3('creds');
  process.env.KVSTORE_S3_ENDPOINT = endpointBefore;
  let ownOpen = true;
  // A secret no other string could contain by chance (s3rver does not check SigV4 signatures,
  // so any secret works with its access key id).
  const secret = `kvtestSecret${randomBytes(16).toString('hex')}`;
  try {
    server = await startKvstored(['--engine', ENGINES[0]!, '--archive', `s3://${own.bucket}/p`, '--archive-partial-interval-s', '1', '--s3-endpoint', own.endpoint, '--log-level', 'trace'],
      { grpc: false, env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'us-east-1' } });
    const token = await loginToken(server.url);
    const answers: string[] = [];
    const call = async (method: string, route: string, body?: unknown): Promise<Response> => {
      const r = await fetch(`${server!.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      answers.push(`${method} ${route} ${r.status} ${await r.clone().text()}`);
      return r;
    };
    for (let i = 0; i < 20; i++) assert.is((await call('PUT', `/v1/kv/c${i}`, `v${i}`)).status, 200);
    assert.is((await call('POST', '/v1/admin/backup', { to: `s3://${own.bucket}/p` })).status, 200);
    // Failures: a bucket that does not exist, then the whole S3 server gone.
    assert.ok((await call('POST', '/v1/admin/backup', { to: 's3://no-such-bucket/p' })).status >= 400);
    await own.close();
    ownOpen = false;
    for (let i = 0; i < 20; i++) assert.is((await call('PUT', `/v1/kv/d${i}`, `v${i}`)).status, 200);
    let failures = 0;
    for (let i = 0; i < 100 && failures === 0; i++) {
      failures = ((await (await call('GET', '/v1/admin/archive')).json()) as { failures: number }).failures;
      if (failures === 0) await sleep(100);
    }
    assert.ok(failures > 0, 'the archive failed while S3 was down');
    assert.ok((await call('POST', '/v1/admin/backup', { to: `s3://${own.bucket}/p` })).status >= 400, 'a backup to the stopped server fails');
    await call('GET', '/metrics');
    await server.stop();
    const output = server.stdout() + server.stderr();
    server = null;
    assert.match(output, /archive: shipping WAL to s3:\/\/creds\/p\/? failed .*ECONNREFUSED/, `the failure was logged: ${output.split('\n').filter((l) => l.includes('archive')).join('\n')}`);
    assert.not.ok(output.includes(secret), 'the secret key is not in kvstored\'s output');
    assert.not.ok(answers.join('\n').includes(secret), 'the secret key is not in any answer (admin routes, metrics)');
  } finally {
    if (ownOpen) await own.close();
  }
});

test.run();
