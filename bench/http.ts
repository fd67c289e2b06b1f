/**
 * Scenario `http`: kvstored over HTTP/1.1 keep-alive, measured with autocannon from this
 * process against a server in another process (bench/http-server.ts): a bare fastify route
 * answering a constant, the store routes with auth off, and with auth on (X-API-Key +
 * authorize per request). GET reads random keys of `keys` (100 B values); PUT writes random
 * keys under durability 'always' (each 2xx after its fdatasync).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type ImplFn, type Metrics, type Params, type ScenarioSpec, type TargetRow, childMain, isEntry, keyString, nativeUnavailable, Unavailable } from './common.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function withServer<T>(args: string[], fn: (info: { url: string; apiKey?: string; pid: number }) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [path.join(here, 'http-server.js'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const info = await new Promise<{ url: string; apiKey?: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { url: string; apiKey?: string });
      });
      child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    return await fn({ ...info, pid: child.pid! });
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

async function load(p: Params, url: string, headers: Record<string, string>, pid: number): Promise<Metrics> {
  const cpu0 = cpuSeconds(pid);
  const keys = Number(p.keys);
  const value = 'v'.repeat(100);
  let n = 0;
  const result = await autocannon({
    url,
    connections: Number(p.connections),
    duration: Number(p.seconds),
    headers,
    requests: [{
      method: p.op === 'get' ? 'GET' : 'PUT',
      setupRequest: (req) => {
        n = (n * 1103515245 + 12345) >>> 0;
        return { ...req, path: `/v1/kv/${encodeURIComponent(keyString(n % keys))}`, ...(p.op === 'put' ? { body: value } : {}) };
      },
    }],
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  if (non2xx > result.requests.total * 0.001) throw new Error(`${non2xx} of ${result.requests.total} requests failed or were not 2xx`);
  // Server CPU per request: what the route costs, whatever else the shared machine is doing.
  const cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / result.requests.total;
  return { reqPerSec: Math.round(result.requests.average), p50ms: result.latency.p50, p99ms: result.latency.p99, cpuUsPerReq: Math.round(cpuUs), requests: result.requests.total };
}

const serverArgs = (p: Params, dir: string, auth: 'on' | 'off'): string[] => ['--mode', 'store', '--dir', dir, '--keys', String(p.keys), '--auth', auth, '--engine', String(p.engine)];

export const bare: ImplFn = (p) => withServer(['--mode', 'bare'], ({ url, pid }) => load(p, url, {}, pid));
export const store: ImplFn = (p, { dir }) => {
  if (p.engine === 'native' && nativeUnavailable()) throw new Unavailable(nativeUnavailable()!);
  return withServer(serverArgs(p, dir, 'off'), ({ url, pid }) => load(p, url, {}, pid));
};
export const storeAuth: ImplFn = (p, { dir }) => {
  if (p.engine === 'native' && nativeUnavailable()) throw new Unavailable(nativeUnavailable()!);
  return withServer(serverArgs(p, dir, 'on'), ({ url, apiKey, pid }) => load(p, url, { 'x-api-key': apiKey! }, pid));
};

const ratio = (row: TargetRow, other: TargetRow | undefined): number | string =>
  !row.metrics || !other?.metrics ? 'unavailable' : (row.metrics.reqPerSec as number) / (other.metrics.reqPerSec as number);

export const spec: ScenarioSpec = {
  name: 'http',
  title: 'HTTP/1.1 keep-alive, autocannon in another process; mean requests/s and latency',
  impls: ['bare', 'store', 'storeAuth'],
  labels: { bare: 'bare fastify route (constant)', store: 'kvstored, auth off', storeAuth: 'kvstored, auth on (API key)' },
  cases: ({ keys, quick }) => ['get', 'put'].map((op) => ({ op, keys: keys ?? 10_000, connections: 50, seconds: quick ? 3 : 10, engine: 'native' })),
  columns: [
    { key: 'reqPerSec', label: 'req/s', unit: 'ops' },
    { key: 'p50ms', label: 'p50 ms', unit: 'ms' },
    { key: 'p99ms', label: 'p99 ms', unit: 'ms' },
    { key: 'cpuUsPerReq', label: 'server CPU µs/req', unit: 'us' },
  ],
  baseline: 'bare',
  targets: [
    {
      impl: 'store', where: { op: 'get' }, text: 'GET ≥ 80% of the bare route',
      check: (row, find) => {
        const r = ratio(row, find('bare', row.params));
        return typeof r === 'string' ? r : r >= 0.8;
      },
    },
    {
      impl: 'storeAuth', where: { op: 'get' }, text: 'auth costs ≤ 15% (≥ 0.85 × auth off)',
      check: (row, find) => {
        const r = ratio(row, find('store', row.params));
        return typeof r === 'string' ? r : r >= 0.85;
      },
    },
  ],
  timeoutMs: 180_000,
  run: { bare, store, storeAuth },
};

if (isEntry(import.meta.url)) await childMain(spec);
