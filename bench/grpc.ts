/**
 * Scenario `grpc`: the same kvstored, the same client API (`kvstore-plus-plus/client`), the
 * same load — `concurrency` calls in flight for `seconds`, GET of random keys among `keys`
 * (100 B values) or PUT of random keys under durability 'always' — over HTTP/1.1 keep-alive
 * (undici) and over gRPC (HTTP/2, grpc-js). Auth is on with an API key (authorize per call),
 * as in production. Each cell starts a fresh kvstored child; the load runs in this process.
 * Next to them, when etcd is installed, the same load on etcd's gRPC API (one member on
 * loopback, started and stopped here; see etcdCell); without etcd those rows are skipped,
 * with a note. Not part of npm test.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/grpc.js [--seconds 5] [--concurrency 32] [--keys 10000]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { connect, type KvClient } from '../ts/client/index.js';
import { ETCD_BIN, EtcdCluster, etcdFound } from '../test/etcd-cluster.js';
import { keyString } from './common.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORD = 'bench password 1234';

interface Params { op: 'get' | 'put'; seconds: number; concurrency: number; keys: number }
interface Row { op: string; wire: string; reqPerSec: number; p50: number; p99: number; errors: number; serverCpuUsPerReq: number }

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A fresh kvstored with HTTP and gRPC ports and an API key; stopped after fn. */
async function withKvstored<T>(fn: (s: { url: string; grpc: string; apiKey: string; pid: number }) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvbench-grpc-'));
  const child = spawn(process.execPath, [path.join(root, 'dist', 'ts', 'server', 'main.js'), '--data-dir', dir, '--port', '0', '--grpc-port', '0', '--rate-limit', '0'], {
    env: { PATH: process.env.PATH ?? '', KVSTORE_ADMIN_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const { url, grpc } = await new Promise<{ url: string; grpc: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) resolve(JSON.parse(line) as { url: string; grpc: string });
      });
      child.on('exit', (code) => reject(new Error(`kvstored exited ${code}: ${out}`)));
    });
    const login = await (await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: PASSWORD }) })).json() as { token: string };
    const key = await (await fetch(`${url}/v1/admin/apikeys`, { method: 'POST', headers: { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ owner: 'admin', name: 'bench' }) })).json() as { token: string };
    return await fn({ url, grpc, apiKey: key.token, pid: child.pid! });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the load calls: kvstored's client, or etcd's. */
interface Target {
  get(key: string): Promise<unknown>;
  put(key: string, value: string): Promise<unknown>;
  /** Writes keys 0..n-1 (before a get run). */
  preload(n: number, value: string): Promise<void>;
}

const kvTarget = (kv: KvClient): Target => ({
  get: (k) => kv.get(k),
  put: (k, v) => kv.put(k, v),
  async preload(n, value) {
    for (let i = 0; i < n; i += 500) await kv.batch(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ type: 'put' as const, key: keyString(i + j), value })));
  },
});

/** `concurrency` loops of calls for `seconds`; per-call latency in µs. */
async function load(kv: Target, p: Params): Promise<{ done: number; errors: number; lat: number[] }> {
  const value = 'v'.repeat(100);
  if (p.op === 'get') await kv.preload(p.keys, value);
  const end = Date.now() + p.seconds * 1000;
  let done = 0;
  let errors = 0;
  const lat: number[] = [];
  let seed = 1;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const k = keyString(seed % p.keys);
      const t0 = process.hrtime.bigint();
      try {
        if (p.op === 'get') await kv.get(k);
        else await kv.put(k, value);
        done++;
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, worker));
  return { done, errors, lat };
}

/** One implementation per wire, same parameters. */
export const http = (s: { url: string; apiKey: string }): KvClient => connect({ url: s.url, apiKey: s.apiKey, connections: 64, retry: { retries: 0 } });
export const grpc = (s: { grpc: string; apiKey: string }): KvClient => connect({ url: s.grpc, apiKey: s.apiKey, retry: { retries: 0 } });

async function cell(p: Params, wire: 'http' | 'grpc'): Promise<Row> {
  return withKvstored(async (s) => {
    const kv = wire === 'http' ? http(s) : grpc(s);
    try {
      await kv.put('warm', 'up');
      const cpu0 = cpuSeconds(s.pid);
      const t0 = Date.now();
      const r = await load(kvTarget(kv), p);
      const secs = (Date.now() - t0) / 1000;
      const cpu = cpuSeconds(s.pid) - cpu0;
      return row(p, wire, r, secs, cpu);
    } finally {
      await kv.close();
    }
  });
}

function row(p: Params, wire: string, r: { done: number; errors: number; lat: number[] }, secs: number, cpu: number): Row {
  r.lat.sort((a, b) => a - b);
  const q = (x: number): number => Math.round(r.lat[Math.min(r.lat.length - 1, Math.floor(r.lat.length * x))]! / 10) / 100;
  return { op: p.op, wire, reqPerSec: Math.round(r.done / secs), p50: q(0.5), p99: q(0.99), errors: r.errors, serverCpuUsPerReq: Math.round((cpu * 1e6) / Math.max(1, r.done)) };
}

/**
 * The same load against etcd's own gRPC API: one etcd member (Debian's etcd-server) on
 * loopback over a temp directory, started and stopped here (test/etcd-cluster.ts), driven by
 * the etcd3 npm client (grpc-js, as kvstored's gRPC client). etcd fsyncs every put (as
 * durability 'always'); gets are serializable (member-local, as kvstored's reads are); auth off.
 */
async function etcdCell(p: Params): Promise<Row> {
  const etcd = await EtcdCluster.start({ size: 1, heartbeatMs: 100, electionMs: 1000 });
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    const t: Target = {
      get: (k) => client.get(k).serializable(true).buffer(),
      put: (k, v) => client.put(k).value(v).exec(),
      async preload(n, value) {
        let next = 0;
        await Promise.all(Array.from({ length: 64 }, async () => {
          while (next < n) await client.put(keyString(next++)).value(value).exec();
        }));
      },
    };
    await t.put('warm', 'up');
    const pid = etcd.members[0]!.proc!.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    const r = await load(t, p);
    const secs = (Date.now() - t0) / 1000;
    return row(p, 'etcd grpc', r, secs, cpuSeconds(pid) - cpu0);
  } finally {
    client.close();
    await etcd.stop();
  }
}

async function main(): Promise<void> {
  const arg = (name: string, d: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const base = { seconds: arg('seconds', 5), concurrency: arg('concurrency', 32), keys: arg('keys', 10_000) };
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const op of ['get', 'put'] as const) {
    for (const wire of ['http', 'grpc'] as const) rows.push(await cell({ ...base, op }, wire));
    if (etcdFound) rows.push(await etcdCell({ ...base, op }));
    if (etcdFound && op === 'get') notes.push(`etcd rows: ${spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}, 1 member on loopback, auth off, etcd3 client; gets serializable; every put fsynced.`);
    else if (op === 'get') notes.push(`etcd rows skipped: etcd is not installed (${ETCD_BIN}; Debian package etcd-server)`);
  }
  const cpu = os.cpus();
  console.log(`Parameters: seconds=${base.seconds}, concurrency=${base.concurrency}, keys=${base.keys}, values 100 B, durability always, auth on (API key), engine auto; one trial per cell, each against a fresh kvstored.`);
  console.log(`Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${os.type()} ${os.release()}; ${new Date().toISOString()}\n`);
  console.log('| op | wire | req/s | p50 ms | p99 ms | errors | server CPU µs/req |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.op} | ${r.wire} | ${r.reqPerSec.toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.serverCpuUsPerReq} |`);
  for (const n of notes) console.log(`\n${n}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
