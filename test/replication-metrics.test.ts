/**
 * Replication as /metrics shows it (issue 14, "Operating it"): a primary with a synchronous
 * standby streaming from it over loopback (kvstored's own buildServer, in this process), a
 * client that streams and never reports back (lag), a stream the primary has to give up
 * (sender error), a standby fed garbage (receiver error), a write nobody confirms (sync
 * timeout) and a promotion. Every scrape passes `promtool check metrics`, and every metric the
 * Grafana dashboard charts has a sample in one of them.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { ReplicationNode, replicaHandle } from '../ts/replication/node.js';
import { loadConfig } from '../ts/server/config.js';
import { Metrics } from '../ts/server/metrics.js';
import { lagBytes } from '../ts/server/replication-metrics.js';
import { type BuiltServer, buildServer } from '../ts/server/server.js';
import { ENGINES, rejectsWith, repoRoot, tempDir } from './helpers.js';
import { assertPromtoolAccepts } from './promtool.js';

interface Node {
  store: Store;
  node: ReplicationNode;
  server: BuiltServer;
  url: string;
}

const quiet = (): void => {};

/** A store with a replication node and kvstored's server (no auth) on a loopback port. */
async function startNode(store: Store, cfg: { replicaOf?: string; standbyId: string; synchronousStandbys?: number; synchronousTimeoutMs?: number }): Promise<Node> {
  const node = new ReplicationNode(store, { synchronousStandbys: 0, synchronousTimeoutMs: 10_000, ...cfg }, quiet);
  store._attachReplica(replicaHandle(node, store));
  node.start();
  node.armCommitGate(); // as kvstored does once its own start-up writes are done
  const { config } = loadConfig([], {});
  const server = await buildServer({ ...config, dataDir: store._replication().dir, logLevel: 'silent', auth: false }, store, null, node);
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { store, node, server, url };
}

async function stopNode(n: Node): Promise<void> {
  await n.node.stop();
  n.server.setReady(false);
  await n.server.app.close();
  await n.store.close();
}

async function scrape(n: Node): Promise<string> {
  const r = await n.server.app.inject({ method: 'GET', url: '/metrics' });
  assert.is(r.statusCode, 200);
  return r.body;
}

/** The value of one series (`name` or `name{labels}` exactly as printed), or NaN. */
function value(text: string, series: string): number {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return NaN;
}

async function until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  for (let t0 = Date.now(); !pred();) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const unit = suite('replication metrics: lag in bytes');

unit('lag in bytes is the lag in LSNs times the mean record size of the WAL on disk; 0 without lag or records', () => {
  assert.is(lagBytes(10n, 1000, 100n), 100);
  assert.is(lagBytes(3n, 1000, 7n), 429);
  assert.is(lagBytes(0n, 1000, 100n), 0);
  assert.is(lagBytes(5n, 0, 0n), 0);
});

unit.run();

for (const engine of ENGINES) {
  const test = suite(`replication metrics [${engine}]`);

  test('with no standby a synchronous write waits, times out and is counted; the role and timeline are exported', async () => {
    const store = await open({ dir: tempDir('rm-lonely'), engine });
    const p = await startNode(store, { standbyId: 'p', synchronousStandbys: 1, synchronousTimeoutMs: 200 });
    try {
      await rejectsWith('SYNC_TIMEOUT', () => store.put('k', 'v'));
      const m = await scrape(p);
      assert.is(value(m, 'kvstore_replication_role{role="primary"}'), 1);
      assert.is(value(m, 'kvstore_replication_role{role="standby"}'), 0);
      assert.is(value(m, 'kvstore_replication_timeline_generation'), 1);
      assert.equal([value(m, 'kvstore_replication_synchronous_standbys'), value(m, 'kvstore_replication_sync_set_size'), value(m, 'kvstore_replication_standbys_connected')], [1, 0, 0]);
      assert.equal([value(m, 'kvstore_replication_sync_waits_total'), value(m, 'kvstore_replication_sync_timeouts_total'), value(m, 'kvstore_replication_sync_waiting_writes')], [1, 1, 0]);
      assertPromtoolAccepts(m, 'a lonely synchronous primary');
    } finally {
      await stopNode(p);
    }
  });

  test('a primary and a synchronous standby: roles, LSNs, lag, the sync set, base backups, stream errors and promotion, as scraped', async () => {
    // Enough WAL for three segments, then a checkpoint drops the first: a standby starting
    // from LSN 1 gets a base backup.
    const pstore = await open({ dir: tempDir('rm-primary'), engine, walSegmentBytes: 64 * 1024 });
    await Promise.all(Array.from({ length: 400 }, (_, i) => pstore.put(`k${i}`, Buffer.alloc(500, i))));
    await pstore.checkpoint();
    assert.ok(pstore._replication().oldestLsn() > 1n, 'the checkpoint dropped WAL');
    const p = await startNode(pstore, { standbyId: 'p', synchronousStandbys: 1, synchronousTimeoutMs: 20_000 });
    const sstore = await open({ dir: tempDir('rm-standby'), engine, role: 'standby' });
    const s = await startNode(sstore, { replicaOf: p.url, standbyId: 's1' });
    let raw: AbortController | undefined;
    let primaryUp = true;
    try {
      await until(() => p.node.status().syncSet.includes('s1'), 'the standby in the sync set');
      await pstore.put('after', 'confirmed by s1');
      const flushed = pstore._replication().positions().flushedLsn;
      await until(() => p.node.registry.list().some((x) => x.id === 's1' && x.appliedLsn >= flushed), 'the standby to report the write applied');

      const pm = await scrape(p);
      assert.equal([value(pm, 'kvstore_replication_role{role="primary"}'), value(pm, 'kvstore_replication_standbys_connected'), value(pm, 'kvstore_replication_sync_set_size')], [1, 1, 1]);
      assert.is(value(pm, 'kvstore_replication_standby_synchronous{standby="s1"}'), 1);
      assert.is(value(pm, 'kvstore_replication_standby_lag_lsn{standby="s1"}'), 0);
      assert.is(value(pm, 'kvstore_replication_standby_lag_bytes{standby="s1"}'), 0);
      assert.is(value(pm, 'kvstore_replication_standby_lsn{standby="s1",position="applied"}'), Number(flushed));
      assert.is(value(pm, 'kvstore_replication_standby_lsn{standby="s1",position="sent"}'), Number(flushed));
      assert.ok(value(pm, 'kvstore_replication_standby_feedback_age_seconds{standby="s1"}') >= 0);
      assert.is(value(pm, 'kvstore_replication_base_backups_sent_total'), 1);
      assert.ok(value(pm, 'kvstore_replication_sync_waits_total') >= 1);
      assert.is(value(pm, 'kvstore_replication_sync_timeouts_total'), 0);
      assert.is(value(pm, 'kvstore_replication_applied_lsn'), Number(flushed));

      await until(() => sstore._replication().positions().appliedLsn >= flushed, 'the standby to apply the write');
      const sm = await scrape(s);
      assert.equal([value(sm, 'kvstore_replication_role{role="standby"}'), value(sm, 'kvstore_replication_role{role="primary"}')], [1, 0]);
      assert.is(value(sm, 'kvstore_replication_timeline_generation'), 1);
      assert.equal([value(sm, 'kvstore_replication_receiver_connected'), value(sm, 'kvstore_replication_receiver_stopped')], [1, 0]);
      assert.is(value(sm, 'kvstore_replication_primary_lsn'), Number(flushed));
      assert.equal([value(sm, 'kvstore_replication_receiver_lag_lsn'), value(sm, 'kvstore_replication_receiver_lag_bytes')], [0, 0]);
      assert.is(value(sm, 'kvstore_replication_base_backups_received_total'), 1);
      assert.is(value(sm, 'kvstore_replication_standbys_connected'), 0);

      // A client that streams and never reports back: its lag is everything flushed.
      raw = new AbortController();
      const from = pstore._replication().oldestLsn();
      const res = await fetch(`${p.url}/v1/replication/stream?from=${from}&standby=silent`, { signal: raw.signal });
      assert.is(res.status, 200);
      await until(() => p.node.registry.list().some((x) => x.id === 'silent'), 'the silent client to be registered');
      const lm = await scrape(p);
      const lag = value(lm, 'kvstore_replication_standby_lag_lsn{standby="silent"}');
      assert.is(lag, Number(pstore._replication().positions().flushedLsn));
      assert.ok(value(lm, 'kvstore_replication_standby_lag_bytes{standby="silent"}') >= 17 * lag, 'at least a record header per LSN');
      assert.is(value(lm, 'kvstore_replication_standby_synchronous{standby="silent"}'), 0);
      assert.is(value(lm, 'kvstore_replication_standbys_connected'), 2);
      assertPromtoolAccepts(lm, 'a primary with two standbys');
      raw.abort();
      await until(() => !p.node.registry.list().some((x) => x.id === 'silent'), 'the silent client to be gone');

      // A base backup the primary cannot send (its snapshot is gone): an ERROR frame, counted.
      const base = path.join(p.store._replication().dir, 'base');
      const snaps = fs.readdirSync(base).filter((f) => f.endsWith('.snap'));
      for (const f of snaps) fs.renameSync(path.join(base, f), path.join(base, `${f}.away`));
      try {
        const bad = await fetch(`${p.url}/v1/replication/stream?from=1&standby=doomed`);
        await bad.arrayBuffer(); // the body ends after the ERROR frame
        assert.is(value(await scrape(p), 'kvstore_replication_stream_errors_total{side="sender"}'), 1);
      } finally {
        for (const f of snaps) fs.renameSync(path.join(base, `${f}.away`), path.join(base, f));
      }

      // Promotion: the standby's role and generation move; its receiver figures go to 0.
      await stopNode(p);
      primaryUp = false;
      await s.node.promote();
      const am = await scrape(s);
      assert.equal([value(am, 'kvstore_replication_role{role="primary"}'), value(am, 'kvstore_replication_role{role="standby"}')], [1, 0]);
      assert.is(value(am, 'kvstore_replication_timeline_generation'), 2);
      assert.is(value(am, 'kvstore_replication_receiver_connected'), 0);
      assert.is(value(am, 'kvstore_replication_base_backups_received_total'), 1, 'a counter does not go back when its source is gone');
      assertPromtoolAccepts(am, 'a promoted standby');

      // Every metric the dashboard charts has a sample in one of these scrapes.
      const all = [pm, sm, lm, am].join('\n');
      const dashboard = fs.readFileSync(path.join(repoRoot, 'deploy', 'grafana-dashboard.json'), 'utf8');
      const used = new Set(dashboard.match(/kvstore_replication_[a-z0-9_]+/g));
      assert.ok(used.size >= 8, `the dashboard charts replication (${used.size} metrics)`);
      for (const name of used) assert.ok(new RegExp(`^${name}[{ ]`, 'm').test(all), `the dashboard uses ${name}, which no scrape has a sample of`);
    } finally {
      raw?.abort();
      await stopNode(s);
      if (primaryUp) await stopNode(p);
    }
  });

  test('a standby fed garbage by its "primary" counts a receiver stream error and keeps its data', async () => {
    const junk = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-kvstore-replication' });
      res.end(Buffer.alloc(64)); // frame kind 0: refused
    });
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
    const store = await open({ dir: tempDir('rm-junk'), engine, role: 'standby' });
    const node = new ReplicationNode(store, { replicaOf: `http://127.0.0.1:${(junk.address() as { port: number }).port}`, standbyId: 'j', synchronousStandbys: 0, synchronousTimeoutMs: 10_000 }, quiet);
    store._attachReplica(replicaHandle(node, store));
    node.start();
    const metrics = new Metrics(store, null, node);
    try {
      await until(() => (node.receiverStatus()?.streamErrors ?? 0) >= 1, 'a stream error');
      const m = await metrics.text();
      assert.ok(value(m, 'kvstore_replication_stream_errors_total{side="receiver"}') >= 1);
      assert.is(value(m, 'kvstore_replication_stream_errors_total{side="sender"}'), 0);
      assert.is(node.receiverStatus()!.lastError!.code, 'REPLICATION_PROTOCOL');
      assertPromtoolAccepts(m, 'a standby with a failing stream');
    } finally {
      await store.close();
      await new Promise((r) => junk.close(r));
    }
  });

  test.run();
}
