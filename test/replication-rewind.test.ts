/**
 * Timelines after a failover (issue 14, "Rewind"): a former primary that wrote records its
 * standby never received (the standby was down), killed -9, while the standby is promoted
 * and writes on; started again with --replica-of the new primary it
 * - rewinds when its snapshot does not hold those records: its WAL is cut at the switch
 *   point, its log names exactly the LSNs and the number of records it discarded, and it ends
 *   identical to the new primary;
 * - re-bootstraps from a base backup when its checkpoint already holds them (the new
 *   primary's early WAL is gone too, so the base backup is really used), and ends identical.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ENGINES, tempDir } from './helpers.js';
import { type Credentials, type KvNode, assertSameDump, caughtUp, dumpDir, flushedLsn, killAll, startNode, startPrimary, stopPrimaryThenStandby, synced } from './repl-cluster.js';

const test = suite('replication: rewind and re-bootstrap');
test.after.each(killAll);

const SMALL_WAL = ['--wal-segment-bytes', '65536'];

async function putMany(node: KvNode, key: string, prefix: string, n: number, bytes = 8): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await node.api('PUT', `/v1/kv/${prefix}-${i}`, { key, raw: `${prefix}-${i}-`.padEnd(bytes, 'x') });
    assert.is(r.status, 200, r.text);
  }
}

/**
 * A primary A with standby B in sync; B goes down; A writes `lost` records; (optionally A
 * checkpoints); A is killed -9; B comes back and is promoted; B writes. Returns both and
 * the numbers the rejoin is judged by.
 */
async function diverge(engine: 'native' | 'js', o: { lost: number; checkpointA: boolean }): Promise<{ a: KvNode; b: KvNode; creds: Credentials; aLast: bigint; switchLsn: bigint }> {
  const { primary: a, creds } = await startPrimary({ engine, args: SMALL_WAL });
  const bdir = tempDir('repl-b');
  let b = await startNode(bdir, { engine, replicaOf: a.url, apiKey: creds.replicator, standbyId: 'b', args: SMALL_WAL });
  await putMany(a, creds.admin, 'before', 20);
  await caughtUp(b, creds.admin, await flushedLsn(a, creds.admin));
  assert.is(await b.stop(), 0, b.tail());
  await putMany(a, creds.admin, 'lost', o.lost);
  if (o.checkpointA) assert.is((await a.api('POST', '/v1/admin/checkpoint', { key: creds.admin })).status, 200);
  const aLast = await flushedLsn(a, creds.admin);
  await a.kill9();
  b = await startNode(bdir, { engine, replicaOf: a.url, apiKey: creds.replicator, standbyId: 'b', args: SMALL_WAL });
  const switchLsn = BigInt((await b.replication(creds.admin)).nextLsn);
  assert.ok(switchLsn <= aLast, `B is behind A (${switchLsn} <= ${aLast})`);
  const promoted = await b.api('POST', '/v1/admin/promote', { key: creds.admin });
  assert.is(promoted.status, 200, promoted.text);
  await putMany(b, creds.admin, 'after', 10);
  return { a, b, creds, aLast, switchLsn };
}

for (const engine of ENGINES) {
  test(`${engine}: a former primary with records past the switch point rewinds, logs what it discarded, and ends identical`, async () => {
    const { a, b, creds, aLast, switchLsn } = await diverge(engine, { lost: 15, checkpointA: false });
    const a2 = await startNode(a.dir, { engine, replicaOf: b.url, apiKey: creds.replicator, standbyId: 'a', args: SMALL_WAL });
    const s = await synced(a2, b, creds.admin);
    assert.is(s.receiver?.rewinds, 1);
    assert.is(s.timeline, (await b.replication(creds.admin)).timeline, 'A is on the new timeline');
    const line = a2.logs().find((l) => l.msg.startsWith('replication: rewound'));
    assert.ok(line, `A logged its rewind: ${a2.tail()}`);
    const discarded = aLast - switchLsn + 1n;
    assert.match(line!.msg, `rewound to LSN ${switchLsn - 1n} `);
    assert.match(line!.msg, `discarded ${discarded} record(s), LSN ${switchLsn}..${aLast} `);
    assert.is((await a2.api('GET', '/v1/kv/lost-14', { key: creds.admin })).status, 404);
    assert.is((await a2.api('GET', '/v1/kv/after-9', { key: creds.admin })).status, 200);
    await stopPrimaryThenStandby(b, a2, creds.admin);
    const at = Date.now();
    assertSameDump(await dumpDir(b.dir, engine, at), await dumpDir(a.dir, engine, at), 'new primary vs rewound former primary');
  });

  test(`${engine}: a former primary whose checkpoint is past the switch point re-bootstraps from a base backup and ends identical`, async () => {
    const { a, b, creds } = await diverge(engine, { lost: 15, checkpointA: true });
    // The new primary writes past a segment and checkpoints: its WAL from LSN 1 is gone.
    await putMany(b, creds.admin, 'big', 40, 4096);
    assert.is((await b.api('POST', '/v1/admin/checkpoint', { key: creds.admin })).status, 200);
    // A user and key made on the new primary work on the re-bootstrapped node.
    const user = await b.api('POST', '/v1/admin/users', { key: creds.admin, body: { name: 'late', roles: ['reader'] } });
    assert.ok(user.status === 201 || user.status === 200, user.text);
    const lateKey = (await b.api('POST', '/v1/admin/apikeys', { key: creds.admin, body: { owner: 'late', name: 'k' } })).json<{ token: string }>().token;
    const a2 = await startNode(a.dir, { engine, replicaOf: b.url, apiKey: creds.replicator, standbyId: 'a', args: SMALL_WAL });
    const s = await synced(a2, b, creds.admin);
    assert.ok(a2.logs().some((l) => l.msg.startsWith('replication: re-bootstrapping from a base backup')), a2.tail());
    assert.is(s.receiver?.baseBackups, 1, JSON.stringify(s.receiver));
    assert.is((await a2.api('GET', '/v1/kv/lost-14', { key: creds.admin })).status, 404);
    const read = await a2.api('GET', '/v1/kv/big-39', { key: lateKey });
    assert.is(read.status, 200, read.text);
    await stopPrimaryThenStandby(b, a2, creds.admin);
    const at = Date.now();
    assertSameDump(await dumpDir(b.dir, engine, at), await dumpDir(a.dir, engine, at), 'new primary vs re-bootstrapped former primary');
  });
}

test(`${ENGINES[0]}: planned switchover: a synchronous primary stopped cleanly leaves its standby every record (its shutdown writes too), so it rejoins without a rewind`, async () => {
  const engine = ENGINES[0]!;
  const { primary: first, creds } = await startPrimary({ engine });
  assert.is(await first.stop(), 0);
  const a = await startNode(first.dir, { engine, args: ['--synchronous-standbys', '1', '--synchronous-timeout-ms', '5000'] });
  const b = await startNode(tempDir('repl-b'), { engine, replicaOf: a.url, apiKey: creds.replicator, standbyId: 'b' });
  await putMany(a, creds.admin, 'k', 5);
  // A wrong secret for a real key: an audit record the primary writes in the background or at shutdown.
  assert.is((await a.api('GET', '/v1/kv/k-1', { key: `${creds.admin.slice(0, -1)}${creds.admin.endsWith('A') ? 'B' : 'A'}` })).status, 401);
  const t0 = Date.now();
  assert.is(await a.stop(), 0, a.tail());
  assert.ok(a.logs().some((l) => l.msg === 'store flushed, checkpointed and closed'), `the primary closed its store: ${a.tail()}`);
  assert.ok(Date.now() - t0 < 4000, `the shutdown did not wait for a synchronous timeout (${Date.now() - t0} ms)`);
  const promoted = await b.api('POST', '/v1/admin/promote', { key: creds.admin });
  assert.is(promoted.status, 200, promoted.text);
  await putMany(b, creds.admin, 'after', 3);
  const a2 = await startNode(a.dir, { engine, replicaOf: b.url, apiKey: creds.replicator, standbyId: 'a' });
  const s = await synced(a2, b, creds.admin);
  assert.is(s.receiver?.rewinds, 0, `nothing to discard: ${a2.tail()}`);
  await stopPrimaryThenStandby(b, a2, creds.admin);
  const at = Date.now();
  assertSameDump(await dumpDir(b.dir, engine, at), await dumpDir(a.dir, engine, at), 'new primary vs old primary');
});

test.run();
