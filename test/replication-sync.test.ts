/**
 * Synchronous commit (issue 14, commit levels): with synchronous_standbys = 1, a primary
 * killed -9 under load loses nothing it acknowledged once its standby is promoted (a writer
 * child records every acknowledged write before it sends the next, so the record survives any
 * kill; each one is then read back from the promoted node, same value, same version). And
 * the level is never lowered: without a standby, and after the standby dies, writes fail with
 * SYNC_TIMEOUT after synchronous_timeout_ms instead of being acknowledged.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ENGINES, tempDir } from './helpers.js';
import { startChild } from './proc.js';
import { confirmedBy, flushedLsn, killAll, startNode, startPrimary } from './repl-cluster.js';

const test = suite('replication: synchronous commit');
test.after.each(killAll);

for (const engine of ENGINES) {
  test(`${engine}: synchronous_standbys = 1: after kill -9 of the primary the promoted standby has every acknowledged write`, async () => {
    // Credentials first (their writes would wait for a standby), then the synchronous primary.
    const { primary: first, creds } = await startPrimary({ engine });
    assert.is(await first.stop(), 0);
    const primary = await startNode(first.dir, { engine, args: ['--synchronous-standbys', '1', '--synchronous-timeout-ms', '30000'] });
    const standby = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
    await confirmedBy(primary, creds.admin, 's1', await flushedLsn(primary, creds.admin));
    const writer = startChild('repl-writer', [primary.url, creds.admin, 'w', '16', '20000']);
    try {
      const acks = (): number => writer.lines().filter((l) => l.startsWith('{"t":"a"')).length;
      for (let i = 0; i < 400 && acks() < 150; i++) await new Promise((r) => setTimeout(r, 25));
      await primary.kill9();
    } finally {
      await writer.kill();
    }
    const acked = writer.lines().filter((l) => l.startsWith('{"t":"a"')).map((l) => JSON.parse(l) as { i: number; version: string });
    assert.ok(acked.length >= 100, `${acked.length} writes were acknowledged before the kill`);
    const promoted = await standby.api('POST', '/v1/admin/promote', { key: creds.admin });
    assert.is(promoted.status, 200, promoted.text);
    assert.is(promoted.json<{ role: string }>().role, 'primary');
    const missing: string[] = [];
    for (const a of acked) {
      const r = await standby.api('GET', `/v1/kv/w-${a.i}`, { key: creds.admin });
      if (r.status !== 200 || r.text !== String(a.i) || r.headers.get('etag') !== `"${a.version}"`) missing.push(`w-${a.i}: ${r.status} ${r.text.slice(0, 80)} ${r.headers.get('etag')} (acked version ${a.version})`);
    }
    assert.equal(missing, [], `${missing.length} of ${acked.length} acknowledged writes are not on the promoted standby`);
    // The promoted node takes writes.
    assert.is((await standby.api('PUT', '/v1/kv/after-promotion', { key: creds.admin, raw: 'x' })).status, 200);
  });
}

test(`${ENGINES[0]}: synchronous_standbys = 1 with no standby: a write fails with SYNC_TIMEOUT after the timeout, never acknowledged; it succeeds once a standby confirms`, async () => {
  const engine = ENGINES[0]!;
  // The credentials are created before any standby exists: start with N = 0, then restart with N = 1.
  const { primary: first, creds } = await startPrimary({ engine });
  assert.is(await first.stop(), 0);
  const primary = await startNode(first.dir, { engine, args: ['--synchronous-standbys', '1', '--synchronous-timeout-ms', '600'] });
  const t0 = Date.now();
  const results = await Promise.all([0, 1, 2].map((i) => primary.api('PUT', `/v1/kv/unconfirmed-${i}`, { key: creds.admin, raw: 'v' })));
  const waited = Date.now() - t0;
  for (const r of results) {
    assert.is(r.status, 503, r.text);
    assert.is(r.json<{ code: string }>().code, 'SYNC_TIMEOUT');
  }
  assert.ok(waited >= 550, `the writes waited for the standbys (${waited} ms)`);
  // A standby joins: what timed out is durable on the primary and reaches it; new writes are confirmed.
  const standby = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
  const ok = await primary.api('PUT', '/v1/kv/confirmed', { key: creds.admin, raw: 'v' });
  assert.is(ok.status, 200, ok.text);
  assert.is((await standby.api('GET', '/v1/kv/unconfirmed-1', { key: creds.admin })).text, 'v');
  // The standby dies: writes wait again and fail, they are not acknowledged without it.
  await standby.kill9();
  await primary.waitStatus(creds.admin, (s) => s.standbys.length === 0, 'the standby to be gone');
  const late = await primary.api('PUT', '/v1/kv/unconfirmed-late', { key: creds.admin, raw: 'v' });
  assert.is(late.status, 503, late.text);
  assert.is(late.json<{ code: string }>().code, 'SYNC_TIMEOUT');
});

test.run();
