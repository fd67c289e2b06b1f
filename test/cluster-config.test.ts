/**
 * Cluster mode's settings (docs/cluster.md): flags, file keys and environment variables load;
 * incomplete or contradictory settings are refused with a clear INVALID_ARGUMENT before
 * anything starts, and the real kvstored exits 2 with the message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../ts/server/config.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('cluster settings');
const MAIN = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');
const base = ['--cluster', 'prod', '--etcd', 'http://127.0.0.1:2379,http://127.0.0.1:2380', '--node-id', 'n1', '--advertise-url', 'http://127.0.0.1:8080'];

function refused(argv: string[], text: string, env: NodeJS.ProcessEnv = {}): void {
  try {
    loadConfig(argv, env);
  } catch (err) {
    assert.is((err as { code?: string }).code, 'INVALID_ARGUMENT', (err as Error).message);
    assert.match((err as Error).message, text);
    return;
  }
  assert.unreachable(`accepted: ${argv.join(' ')}`);
}

test('flags, the file and the environment set cluster mode; the defaults are documented ones', () => {
  const c = loadConfig(base, {}).config;
  assert.is(c.cluster, 'prod');
  assert.is(c.etcd, 'http://127.0.0.1:2379,http://127.0.0.1:2380');
  assert.is(c.nodeId, 'n1');
  assert.is(c.advertiseUrl, 'http://127.0.0.1:8080');
  assert.is(c.clusterLeaseTtlMs, 1000);
  assert.is(c.clusterRenewIntervalMs, 200);
  assert.is(c.etcdPrefix, '/kvstore');
  const file = path.join(tempDir('cluster-cfg'), 'k.toml');
  fs.writeFileSync(file, 'cluster = "c2"\netcd = "http://127.0.0.1:2379"\nnode_id = "a"\nadvertise_url = "https://10.0.0.1:8443"\ncluster_lease_ttl_ms = 3000\ncluster_renew_interval_ms = 500\n');
  const f = loadConfig(['--config', file], { KVSTORE_NODE_ID: 'b' }).config;
  assert.equal([f.cluster, f.nodeId, f.advertiseUrl, f.clusterLeaseTtlMs, f.clusterRenewIntervalMs], ['c2', 'b', 'https://10.0.0.1:8443', 3000, 500]);
  // Outside cluster mode none of it is needed.
  assert.is(loadConfig([], {}).config.cluster, undefined);
});

test('incomplete or contradictory cluster settings are refused with what is wrong', () => {
  refused(['--cluster', 'prod'], 'etcd is missing');
  refused([...base.slice(0, 6)], 'advertise_url is missing');
  refused([...base, '--replica-of', 'http://127.0.0.1:9000'], 'replica_of does not go with cluster mode');
  refused(['--cluster', 'bad name', ...base.slice(2)], 'cluster must be');
  refused([...base.slice(0, 4), '--node-id', 'n/1', ...base.slice(6)], 'node_id must be');
  refused([...base.slice(0, 2), '--etcd', 'localhost:2379', ...base.slice(4)], 'etcd must be http(s) URLs');
  refused([...base.slice(0, 6), '--advertise-url', 'http://h:1/path'], 'without a path');
  refused([...base, '--standby-id', 'other'], 'standby id is its node_id');
  refused([...base, '--cluster-lease-ttl-ms', '1000', '--cluster-renew-interval-ms', '500'], 'at most a third');
  refused([...base, '--cluster-lease-ttl-ms', '500'], 'cluster_lease_ttl_ms');
});

test('kvstored refuses them at start with exit 2, before opening anything; --help documents the group', () => {
  const dir = tempDir('cluster-cfg-dir');
  const r = spawnSync(process.execPath, [MAIN, '--data-dir', path.join(dir, 'data'), ...base, '--replica-of', 'http://127.0.0.1:9'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, 'replica_of does not go with cluster mode');
  assert.not.ok(fs.existsSync(path.join(dir, 'data')), 'no data directory was created');
  const help = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  for (const flag of ['--cluster', '--etcd', '--node-id', '--advertise-url', '--cluster-lease-ttl-ms', '--cluster-renew-interval-ms', 'KVSTORE_ETCD']) assert.ok(help.includes(flag), flag);
  assert.match(help, 'Cluster mode: automatic failover on etcd');
});

test.run();
