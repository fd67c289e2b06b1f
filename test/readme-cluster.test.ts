/**
 * The README's cluster walkthrough, run as written (bash, with kvctl on the PATH as a package
 * install puts it, and scripts/cluster-dev.mjs): three real etcd members and three cluster-mode
 * kvstored nodes, a write through a standby, an embedded replica of the cluster
 * (examples/replica.ts given the members), kill -9 of the primary, the write still there on
 * the new primary, the replica following the new leader, then a clean stop. Only the ports and
 * the directory change (to free ones).
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, requireEtcd } from './etcd-cluster.js';
import { tempDir } from './helpers.js';
import { readmeBlock, runWalkthrough } from './readme-walkthrough.js';

const haveEtcd = requireEtcd();

test('the cluster walkthrough works as written: cluster:dev, a forwarded write, kill -9 of the primary, no loss', async () => {
  if (!haveEtcd) return;
  const block = readmeBlock('Cluster: automatic failover on etcd');
  const ports = [await freePort(), await freePort(), await freePort()];
  const etcdPorts = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = tempDir('readme-cluster');
  let script = block.replaceAll('/tmp/kv-cluster', path.join(dir, 'kv-cluster'));
  ports.forEach((p, i) => (script = script.replaceAll(String(7401 + i), String(p))));
  script = script.replace('--fresh', `--fresh --ports ${ports.join(',')} --etcd-client-ports ${etcdPorts.slice(0, 3).join(',')} --etcd-peer-ports ${etcdPorts.slice(3).join(',')}`);
  // Once bash has exited, before the group kill: the walkthrough's own `kill $DEV` stopped every process cluster:dev started.
  let ready: RegExpExecArray | null = null;
  let left: Array<[string, number]> = [];
  const run = await runWalkthrough(script, {
    // Bounded with room for a loaded machine (150 s ran out at load average 18).
    timeoutMs: 240_000,
    afterExit: (stdout) => {
      ready = /^cluster:dev ready (.*)$/m.exec(stdout);
      const pids = ready ? (JSON.parse(ready[1]!) as { pids: Record<string, number> }).pids : {};
      left = Object.entries(pids).filter(([, pid]) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    },
  });
  const { code, out } = run;
  const logs = fs.existsSync(path.join(dir, 'kv-cluster', 'logs')) ? fs.readdirSync(path.join(dir, 'kv-cluster', 'logs')) : [];
  const shown = `${run.shown}\n--- logs: ${logs.join(' ')}`;
  assert.is(code, 0, `the walkthrough failed${shown}`);
  assert.ok(ready, `cluster:dev printed its ready line${shown}`);
  assert.equal(left, [], 'kill $DEV stopped every etcd member and node');
  assert.match(out, /cluster:dev: cluster "dev" is up, leader n[123]/, `cluster:dev came up${shown}`);
  assert.match(out, /^leader:\s+n[123] at http:\/\/127\.0\.0\.1:\d+ \(timeline [0-9a-f]+\)$/m, `cluster status names the leader${shown}`);
  assert.match(out, /^hello, cluster$/m, `the write survived the primary's kill -9${shown}`);
  const leaders = [...out.matchAll(/^leader:\s+(n[123]) at .* \(timeline ([0-9a-f]+)\)$/gm)].map((m) => [m[1], m[2]]);
  assert.is(leaders.length, 2, `two cluster status outputs${shown}`);
  assert.is.not(leaders[1]![0], leaders[0]![0], 'a new leader after the kill');
  assert.is.not(leaders[1]![1], leaders[0]![1], 'on a new timeline');
  // The embedded replica followed the first leader, then the new one, and has the write made after the failover.
  const followed = [...out.matchAll(/^replica info: replication: following (n[123]) at /gm)].map((m) => m[1]);
  assert.equal([followed[0], followed.at(-1)], [leaders[0]![0], leaders[1]![0]], `the replica followed ${leaders[0]![0]}, then ${leaders[1]![0]}${shown}`);
  for (const f of logs) assert.not.ok(fs.readFileSync(path.join(dir, 'kv-cluster', 'logs', f), 'utf8').includes((/admin password: *(\S+)/.exec(out) ?? ['', '\u0000'])[1]!), `${f} holds no password`);
});

test.run();
