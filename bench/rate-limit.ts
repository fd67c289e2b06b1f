/**
 * Issue 19: does kvstored's hand-written rate limiter (ts/server/limiter.ts) cost more or less
 * than @fastify/rate-limit, and can the plugin give HTTP and gRPC one budget? In one run:
 *
 * 1. Per check, in this process: the two stages of a request (IP, then principal) through
 *    RateLimits.hit() and through two fastify.createRateLimit() checks, with one client IP and
 *    with 10,000 IPs in turn. CPU ns per request (both stages), median of --rounds.
 * 2. Over HTTP/1.1 keep-alive on loopback: autocannon (in this process) against a kvstored-like
 *    fastify app in a child process (bench/rate-limit-server.ts) with no limiter, ours, the
 *    plugin called from kvstored's hook, and the plugin as two instances of route hooks.
 *    req/s, p50/p99 and the server's CPU µs per request (from /proc), median and minimum of
 *    --rounds (other jobs on a shared machine only add to a round's CPU); the modes run in a
 *    rotated order each round so that drift on a shared machine spreads evenly.
 * 3. Functionally: a custom `store` (the plugin's documented option) wrapping one shared counter
 *    map, consulted by the plugin on HTTP and directly by a stand-in for the gRPC port; does a
 *    request on one port spend the budget of the other?
 *
 *   npx tsc -p tsconfig.json && node dist/bench/rate-limit.js [--rounds 5] [--seconds 5] [--connections 32]
 * Needs @fastify/rate-limit (a devDependency only if the project adopts it; otherwise
 * `npm install --no-save @fastify/rate-limit@11`). Prints a markdown table; writes
 * bench/out/rate-limit.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import autocannon from 'autocannon';
import Fastify, { type FastifyRequest } from 'fastify';
import type { Principal } from '../ts/auth/service.js';
import { RateLimits } from '../ts/server/limiter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : [])).filter((x) => x.length));
const rounds = Number(args.rounds ?? 5);
const seconds = Number(args.seconds ?? 5);
const connections = Number(args.connections ?? 32);
const MODES = ['none', 'ours', 'plugin', 'plugin-hooks'] as const;
type Mode = (typeof MODES)[number];
const LABELS: Record<Mode, string> = {
  none: 'no limiter',
  ours: 'ours (RateLimits, fixed window)',
  plugin: '@fastify/rate-limit, createRateLimit() ×2 in our hook',
  'plugin-hooks': '@fastify/rate-limit, 2 instances as route hooks',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ------------------------------------------------------------------ 1. per check, in process

/** This process's CPU time (user + system) in ns: steadier than wall time on a shared machine. */
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

interface BenchRequest { ip: string; routeOptions: { config: Record<string, unknown> }; benchPrincipal: Principal }

async function perCheck(): Promise<Record<string, number>> {
  const ITER = 200_000;
  const TIME_LIMIT_MS = 10_000;
  const reqs = (ips: number): BenchRequest[] =>
    Array.from({ length: ips }, (_, i) => ({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, routeOptions: { config: {} }, benchPrincipal: { type: 'apikey', user: 'bench', oid: 1, keyId: `k${i % 100}` } }));
  const app = Fastify();
  await app.register(rateLimit, { global: false });
  await app.ready();
  const out: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const ips of [1, 10_000]) {
      const rs = reqs(ips);
      const limits = new RateLimits(1e9, 20);
      let t0 = cpuNs();
      const deadline = Date.now() + TIME_LIMIT_MS;
      let n = 0;
      for (; n < ITER && (n & 1023 || Date.now() < deadline); n++) {
        const r = rs[n % ips]!;
        if (limits.ip.hit(r.ip) > 0 || limits.principal.hit(RateLimits.principalKey(r.benchPrincipal)) > 0) throw new Error('refused');
      }
      (out[`ours, ${ips} IP`] ??= []).push((cpuNs() - t0) / n);

      const ipCheck = app.createRateLimit({ max: 1e9, timeWindow: 60_000, keyGenerator: (q) => q.ip });
      const prCheck = app.createRateLimit({ max: 1e9, timeWindow: 60_000, keyGenerator: (q) => RateLimits.principalKey((q as unknown as BenchRequest).benchPrincipal) });
      t0 = cpuNs();
      const deadline2 = Date.now() + TIME_LIMIT_MS;
      n = 0;
      for (; n < ITER && (n & 1023 || Date.now() < deadline2); n++) {
        const r = rs[n % ips]! as unknown as FastifyRequest;
        const a = await ipCheck(r);
        const b = await prCheck(r);
        if (a.isAllowed || a.isExceeded || b.isAllowed || b.isExceeded) throw new Error('refused');
      }
      (out[`plugin, ${ips} IP`] ??= []).push((cpuNs() - t0) / n);
    }
  }
  await app.close();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(median(v))]));
}

// ------------------------------------------------------------------ 2. over HTTP

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface HttpRow { reqPerSec: number; p50ms: number; p99ms: number; cpuUsPerReq: number; requests: number }

async function httpRound(mode: Mode): Promise<HttpRow> {
  const child = spawn(process.execPath, [path.join(here, 'rate-limit-server.js'), '--mode', mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const info = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
      let buf = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as { url: string; apiKey: string });
      });
      child.on('exit', (code) => reject(new Error(`bench server (${mode}) exited with ${code}`)));
    });
    let n = 0;
    const run = (duration: number) => autocannon({
      url: info.url,
      connections,
      duration,
      headers: { 'x-api-key': info.apiKey },
      requests: [{
        method: 'GET',
        setupRequest: (req) => {
          n = (n * 1103515245 + 12345) >>> 0;
          return { ...req, path: `/v1/kv/key${String(n % 10_000).padStart(13, '0')}` };
        },
      }],
    });
    await run(1); // warm-up: JIT, connections
    const cpu0 = cpuSeconds(child.pid!);
    const r = await run(seconds);
    const bad = r.non2xx + r.errors + r.timeouts;
    if (bad > 0) throw new Error(`${mode}: ${bad} of ${r.requests.total} requests failed or were not 2xx`);
    return { reqPerSec: Math.round(r.requests.average), p50ms: r.latency.p50, p99ms: r.latency.p99, cpuUsPerReq: ((cpuSeconds(child.pid!) - cpu0) * 1e6) / r.requests.total, requests: r.requests.total };
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

// ------------------------------------------------------------------ 3. one budget for two ports

interface Counter { current: number; ttl: number }
type Incr = (key: string, cb: (err: Error | null, res: Counter) => void, timeWindow: number, max: number) => void;

async function sharedBudget(): Promise<{ shared: boolean; statuses: number[]; grpcSawExceeded: boolean }> {
  // The plugin's own in-memory store (an LRU of 5,000 keys), one instance for both ports.
  const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => { incr: Incr; read: Incr };
  const shared = new LocalStore(false, false, 5_000);
  /** The custom store the plugin is given: every child (each createRateLimit) is the same map. */
  class SharedStore {
    incr(key: string, cb: (err: Error | null, res: Counter) => void, timeWindow: number, max: number): void {
      shared.incr(key, cb, timeWindow, max);
    }
    read(key: string, cb: (err: Error | null, res: Counter) => void, timeWindow: number, max: number): void {
      shared.read(key, cb, timeWindow, max);
    }
    child(): SharedStore {
      return this;
    }
  }
  const MAX = 5;
  const app = Fastify();
  await app.register(rateLimit, { max: MAX, timeWindow: 60_000, store: SharedStore, keyGenerator: (r) => `ip:${r.ip}` });
  app.get('/x', async () => 'ok');
  await app.ready();
  // The gRPC port's admit() would call the same store with the same key.
  // The store hands back its live record: copy the count before the next call moves it.
  const grpcHit = (ip: string) => new Promise<Counter>((resolve, reject) => shared.incr(`ip:${ip}`, (err, res) => (err ? reject(err) : resolve({ ...res })), 60_000, MAX));
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await app.inject({ method: 'GET', url: '/x' })).statusCode); // 3 over HTTP
  await grpcHit('127.0.0.1'); // 2 over "gRPC"
  const g = await grpcHit('127.0.0.1');
  statuses.push((await app.inject({ method: 'GET', url: '/x' })).statusCode); // the 6th: over budget
  const g2 = await grpcHit('127.0.0.1'); // the 7th, on gRPC: over budget too
  await app.close();
  return { shared: statuses[3] === 429 && g.current === MAX && g2.current > MAX, statuses, grpcSawExceeded: g2.current > MAX };
}

// ------------------------------------------------------------------ main

const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const started = new Date().toISOString();
console.log(`rate-limit bench: rounds=${rounds} seconds=${seconds} connections=${connections}; load ${load}; ${os.cpus().length} CPUs, Node ${process.version}`);
const budget = await sharedBudget();
console.log(`one budget for HTTP and gRPC through a custom store: ${budget.shared ? 'yes' : 'NO'} (HTTP statuses ${budget.statuses.join(',')}, gRPC-side 7th call over budget: ${budget.grpcSawExceeded})`);
const checks = await perCheck();
console.log('\n| per request, both stages, in process | CPU ns |\n| --- | --- |');
for (const [k, v] of Object.entries(checks)) console.log(`| ${k} | ${v} |`);

const http: Record<Mode, HttpRow[]> = { none: [], ours: [], plugin: [], 'plugin-hooks': [] };
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < MODES.length; i++) {
    const mode = MODES[(i + round) % MODES.length]!;
    http[mode].push(await httpRound(mode));
  }
}
const table = MODES.map((mode) => {
  const rows = http[mode];
  return {
    mode,
    label: LABELS[mode],
    reqPerSec: Math.round(median(rows.map((r) => r.reqPerSec))),
    p50ms: median(rows.map((r) => r.p50ms)),
    p99ms: median(rows.map((r) => r.p99ms)),
    cpuUsPerReq: Math.round(median(rows.map((r) => r.cpuUsPerReq)) * 10) / 10,
    // The least-disturbed round: on a shared machine other jobs only ever add to a round's CPU.
    cpuUsPerReqMin: Math.round(Math.min(...rows.map((r) => r.cpuUsPerReq)) * 10) / 10,
    cpuUsPerReqRounds: rows.map((r) => Math.round(r.cpuUsPerReq * 10) / 10),
  };
});
const base = table.find((r) => r.mode === 'none')!;
console.log(`\n| limiter | req/s | p50 ms | p99 ms | server CPU µs/req (median) | Δ vs none | server CPU µs/req (min) | Δ vs none | rounds' CPU µs/req |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const r of table) console.log(`| ${r.label} | ${r.reqPerSec.toLocaleString('en-US')} | ${r.p50ms} | ${r.p99ms} | ${r.cpuUsPerReq} | ${(r.cpuUsPerReq - base.cpuUsPerReq).toFixed(1)} | ${r.cpuUsPerReqMin} | ${(r.cpuUsPerReqMin - base.cpuUsPerReqMin).toFixed(1)} | ${r.cpuUsPerReqRounds.join(', ')} |`);
const loadAfter = os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`\nload before ${load}, after ${loadAfter}`);
fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'out', 'rate-limit.json'), JSON.stringify({ started, rounds, seconds, connections, loadBefore: load, loadAfter, node: process.version, sharedBudget: budget, perCheckNs: checks, http: table }, null, 2) + '\n');
