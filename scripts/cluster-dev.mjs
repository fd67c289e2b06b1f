#!/usr/bin/env node
// A development cluster in one command (issue 15): 3 etcd members and 3 kvstored nodes in
// cluster mode on loopback, synchronous_standbys 1. `npm run cluster:dev` (after a build).
//
//   node scripts/cluster-dev.mjs [--dir ./.cluster-dev] [--ports 7401,7402,7403]
//        [--etcd-client-ports 2391,2392,2393] [--etcd-peer-ports 2491,2492,2493] [--fresh]
//
// Data and one log file per process go under --dir (default ./.cluster-dev, gitignored):
// <dir>/etcd/m<i>, <dir>/n<i>, <dir>/logs/*.log. On the first start the script generates the
// admin password and the replicator's API key and prints them ONCE on this terminal (they
// are not written to any log). The replicator key is kept in <dir>/replication.key (mode
// 0600) so the nodes can restart; a later start reuses the cluster (--fresh wipes it).
// Ctrl-C or SIGTERM stops every node (SIGTERM, then etcd) and exits when all are gone.
// The last line once ready is `cluster:dev ready {json}` (urls, pids) for scripts and tests.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(root, 'dist', 'ts', 'server', 'main.js');
const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';

const args = process.argv.slice(2);
function flag(name, dflt) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) die(`--${name} needs a value`);
  return v;
}
function ports(name, dflt) {
  const list = flag(name, dflt).split(',').map(Number);
  if (list.length !== 3 || !list.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) die(`--${name}: three ports, comma-separated`);
  return list;
}
function die(msg) {
  process.stderr.write(`cluster:dev: ${msg}\n`);
  process.exit(2);
}
for (const a of args) if (a.startsWith('--') && !['--dir', '--ports', '--etcd-client-ports', '--etcd-peer-ports', '--fresh', '--help'].includes(a)) die(`unknown option ${a}`);
if (args.includes('--help')) {
  process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
if (!fs.existsSync(MAIN)) die(`${MAIN} is missing: build first (npm run build:ts)`);
if (!fs.existsSync(ETCD)) die(`etcd is not installed (${ETCD}): apt-get install etcd-server etcd-client`);

const dir = path.resolve(flag('dir', path.join(root, '.cluster-dev')));
const kvPorts = ports('ports', '7401,7402,7403');
const clientPorts = ports('etcd-client-ports', '2391,2392,2393');
const peerPorts = ports('etcd-peer-ports', '2491,2492,2493');
if (args.includes('--fresh')) fs.rmSync(dir, { recursive: true, force: true });
const logs = path.join(dir, 'logs');
fs.mkdirSync(logs, { recursive: true, mode: 0o700 });
const keyFile = path.join(dir, 'replication.key');
const fresh = !fs.existsSync(keyFile);

const children = new Map(); // name -> ChildProcess
let stopping = false;

function start(name, cmd, argv, env = {}) {
  const log = fs.openSync(path.join(logs, `${name}.log`), 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '', ...env } });
  fs.closeSync(log);
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping && name !== 'bootstrap') process.stdout.write(`cluster:dev: ${name} exited (${code ?? signal}); see ${path.join(logs, `${name}.log`)}\n`);
  });
  return child;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 60_000) {
  const t0 = Date.now();
  for (;;) {
    if (stopping) throw new Error('stopping');
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s (logs in ${logs})`);
    await sleep(100);
  }
}

const etcdUrls = clientPorts.map((p) => `http://127.0.0.1:${p}`);
const kvUrls = kvPorts.map((p) => `http://127.0.0.1:${p}`);

function startEtcd(i) {
  const initial = peerPorts.map((p, j) => `m${j}=http://127.0.0.1:${p}`).join(',');
  start(`etcd-m${i}`, ETCD, [
    '--name', `m${i}`, '--data-dir', path.join(dir, 'etcd', `m${i}`),
    '--listen-client-urls', etcdUrls[i], '--advertise-client-urls', etcdUrls[i],
    '--listen-peer-urls', `http://127.0.0.1:${peerPorts[i]}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
    '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'kvstore-cluster-dev',
    '--heartbeat-interval', '50', '--election-timeout', '250', '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
  ]);
}

function startNode(i, sync, env) {
  start(`n${i + 1}`, process.execPath, [
    MAIN, '--data-dir', path.join(dir, `n${i + 1}`), '--port', String(kvPorts[i]), '--log-level', 'info',
    '--cluster', 'dev', '--etcd', etcdUrls.join(','), '--node-id', `n${i + 1}`, '--advertise-url', kvUrls[i],
    '--synchronous-standbys', String(sync), '--replication-api-key-file', keyFile,
  ], env);
}

async function api(url, method, route, { token, key, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (key) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(3000) });
  const text = await r.text();
  return { status: r.status, json: () => JSON.parse(text), text };
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('cluster:dev: stopping\n');
  const term = async (names) => {
    const waits = names.map((n) => children.get(n)).filter(Boolean).map((c) => new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', resolve);
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
    }));
    await Promise.all(waits);
  };
  await term(['n1', 'n2', 'n3', 'bootstrap']);
  await term(['etcd-m0', 'etcd-m1', 'etcd-m2']);
  process.stdout.write('cluster:dev: stopped\n');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('exit', () => {
  for (const c of children.values()) c.kill('SIGKILL');
});

try {
  for (let i = 0; i < 3; i++) startEtcd(i);
  await until('etcd healthy', async () => (await Promise.all(etcdUrls.map(async (u) => (await (await fetch(`${u}/health`, { signal: AbortSignal.timeout(1000) })).json()).health === 'true'))).every(Boolean));

  let adminPassword;
  if (fresh) {
    // Bootstrap: n1 alone and asynchronous, to create the replicator's key (with a
    // synchronous standby its own writes would wait for a standby that cannot log in yet).
    adminPassword = crypto.randomBytes(15).toString('base64url');
    fs.writeFileSync(keyFile, '', { mode: 0o600 });
    const boot = start('bootstrap', process.execPath, [
      MAIN, '--data-dir', path.join(dir, 'n1'), '--port', String(kvPorts[0]), '--log-level', 'info',
      '--cluster', 'dev', '--etcd', etcdUrls.join(','), '--node-id', 'n1', '--advertise-url', kvUrls[0], '--synchronous-standbys', '0',
    ], { KVSTORE_ADMIN_PASSWORD: adminPassword });
    const token = await until('bootstrap login', async () => {
      const r = await api(kvUrls[0], 'POST', '/v1/auth/login', { body: { name: 'admin', password: adminPassword } });
      return r.status === 200 ? r.json().token : null;
    });
    const u = await api(kvUrls[0], 'POST', '/v1/admin/users', { token, body: { name: 'replicator', roles: ['replicator'] } });
    if (u.status !== 201 && u.status !== 200) throw new Error(`replicator user: ${u.status} ${u.text}`);
    const k = await api(kvUrls[0], 'POST', '/v1/admin/apikeys', { token, body: { owner: 'replicator', name: 'cluster-dev' } });
    if (k.status !== 201) throw new Error(`replicator key: ${k.status} ${k.text}`);
    fs.writeFileSync(keyFile, k.json().token, { mode: 0o600 });
    const exited = new Promise((r) => boot.once('exit', r));
    boot.kill('SIGTERM');
    await exited;
  }
  const replKey = fs.readFileSync(keyFile, 'utf8').trim();
  for (let i = 0; i < 3; i++) startNode(i, 1, {});
  // Ready once every node, asked in turn, sees the same leader and 3 healthy members: one CI
  // run saw 3 members from one node and, just after, 1 from another (member keys are bound to
  // their nodes' leases; the cause was not pinned down, a renewal stalled while etcd settled is likely).
  const status = await until('a leader and 3 healthy members, seen from every node', async () => {
    let seen = null;
    for (const u of kvUrls) {
      const r = await api(u, 'GET', '/v1/cluster', { key: replKey }).catch(() => null);
      if (r?.status !== 200) return null;
      const s = r.json();
      if (!s.leader || s.members.length !== 3 || !s.members.every((m) => m.healthy)) return null;
      if (seen && seen.leader.nodeId !== s.leader.nodeId) return null;
      seen = s;
    }
    return seen;
  }, 90_000);

  const lines = [
    '',
    `cluster:dev: cluster "dev" is up, leader ${status.leader.nodeId}`,
    ...kvUrls.map((u, i) => `  n${i + 1}  ${u}   log ${path.join(logs, `n${i + 1}.log`)}`),
    `  etcd ${etcdUrls.join(',')}`,
    `  data ${dir}`,
  ];
  if (fresh) {
    lines.push(
      '',
      '  Generated once, shown only now (not written to any log):',
      `    admin password:        ${adminPassword}`,
      `    replicator API key:    ${replKey}   (also in ${keyFile}, mode 0600)`,
      `  e.g. curl -s ${kvUrls[0]}/v1/auth/login -H 'content-type: application/json' -d '{"name":"admin","password":"…"}'`,
    );
  } else lines.push('', `  existing cluster: the admin password was shown at its first start; the replicator key is in ${keyFile}`);
  lines.push('', 'Ctrl-C stops everything.');
  process.stdout.write(lines.join('\n') + '\n');
  const pids = Object.fromEntries([...children].map(([n, c]) => [n, c.pid]));
  process.stdout.write(`cluster:dev ready ${JSON.stringify({ nodes: kvUrls, etcd: etcdUrls, leader: status.leader.nodeId, pids, dir })}\n`);
} catch (err) {
  if (!stopping) {
    process.stderr.write(`cluster:dev: ${err.message}\n`);
    await stopAll(1);
  }
}
