/**
 * Redis as a benchmark peer (issue 17): Debian's redis-server on loopback in the trial's
 * directory, with the persistence that matches a durability policy —
 *   always → appendonly yes, appendfsync always (an fsync before each reply batch)
 *   none   → appendonly no, save "" (memory only)
 * — driven either by redis-benchmark (the C client, pipelined: `-P 16 -c 50`, the figure the
 * issue quotes) or by ioredis from Node (commands `inflight` at a time on one connection, the
 * same shape as the embedded store's loop). Unavailable, with the reason, when redis-server
 * or redis-benchmark is not installed (Debian: apt-get install redis-server redis-tools).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Unavailable } from './common.js';

export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts redis-server for `durability` in `dir`; resolves once it answers PING (bounded: 10 s). */
export async function startRedis(dir: string, durability: string): Promise<RedisServer> {
  if (!onPath('redis-server')) throw new Unavailable('redis-server is not installed (Debian: apt-get install redis-server)');
  if (durability !== 'always' && durability !== 'none') throw new Unavailable(`redis has no ${durability} policy matching ours (appendfsync everysec syncs once a second, not every intervalMs)`);
  const port = await freePort();
  const persistence = durability === 'always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(dir), '--save', '', '--daemonize', 'no',
    '--protected-mode', 'yes', '--logfile', '', '--loglevel', 'warning', ...persistence,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Unavailable(`redis-server exited at start (code ${child.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => s.end('PING\r\n'));
      s.once('data', (d) => resolve(d.toString().startsWith('+PONG')));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Unavailable('redis-server did not answer PING within 10 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** redis-benchmark SET with `-P pipeline -c clients`, 100 B values over a keyspace of `keys`: requests/s. */
export function redisBenchmarkSet(port: number, opts: { requests: number; pipeline: number; clients: number; keys: number; valueBytes: number }): number {
  if (!onPath('redis-benchmark')) throw new Unavailable('redis-benchmark is not installed (Debian: apt-get install redis-tools)');
  const r = spawnSync('redis-benchmark', [
    '-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-n', String(opts.requests), '-P', String(opts.pipeline),
    '-c', String(opts.clients), '-d', String(opts.valueBytes), '-r', String(opts.keys), '--csv', '-q',
  ], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`redis-benchmark failed (${r.status}): ${r.stderr}`);
  // CSV: "test","rps","avg_latency_ms",… then "SET","123456.78",…
  const line = r.stdout.split('\n').find((l) => l.startsWith('"SET"'));
  const rps = line ? Number(line.split(',')[1]?.replace(/"/g, '')) : NaN;
  if (!Number.isFinite(rps)) throw new Error(`redis-benchmark printed no SET rate: ${r.stdout}`);
  return rps;
}
