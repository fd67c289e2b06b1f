/**
 * Shared plumbing of the replication scenarios (bench/repl-write.ts, repl-lag.ts,
 * repl-read.ts); not a scenario itself.
 *
 * The primary runs in the measuring process exactly as kvstored assembles it (ts/server/
 * main.ts): a store opened as primary, a ReplicationNode attached, and buildServer() with the
 * replication routes listening on 127.0.0.1 — only the client HTTP layer is left out, so
 * writes enter through store.put(). Standbys are other processes on this machine: a kvstored
 * (dist/ts/server/main.js --replica-of) for throughput, or bench/repl-node.ts (an embedded
 * standby that timestamps every applied frame) for lag.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReplicationNode, replicaHandle } from '../ts/replication/node.js';
import { loadConfig } from '../ts/server/config.js';
import { buildServer } from '../ts/server/server.js';
import type { Store } from '../ts/store/store.js';
import { Unavailable, nativeUnavailable, openStore } from './common.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/ts/server/main.js, next to dist/bench/. */
export const KVSTORED = path.join(here, '..', 'ts', 'server', 'main.js');
export const REPL_NODE = path.join(here, 'repl-node.js');

export type EngineKind = 'native' | 'js';

export function engineOf(p: Record<string, unknown>): EngineKind {
  const e = p.engine ?? 'native';
  if (e !== 'native' && e !== 'js') throw new Error(`--engine must be native or js, got ${String(e)}`);
  if (e === 'native' && nativeUnavailable()) throw new Unavailable(nativeUnavailable()!);
  return e;
}

export interface Primary {
  store: Store;
  node: ReplicationNode;
  url: string;
  /** The primary's flushed LSN now. */
  flushedLsn(): bigint;
}

/**
 * Opens a primary in this process: durability 'always', auth off, no rate limit, the
 * replication routes served on an ephemeral loopback port; `synchronousStandbys` as kvstored's
 * --synchronous-standbys (the timeout is long: a bench write must never fail with SYNC_TIMEOUT).
 */
export async function startPrimary(dir: string, engine: EngineKind, synchronousStandbys: number): Promise<Primary> {
  const store = await openStore(engine, dir, 'always');
  const node = new ReplicationNode(store, { standbyId: 'primary', synchronousStandbys, synchronousTimeoutMs: 120_000 }, () => {});
  store._attachReplica(replicaHandle(node, store));
  node.start();
  node.armCommitGate();
  const { config } = loadConfig([], {});
  const { app } = await buildServer({ ...config, dataDir: dir, logLevel: 'warn', auth: false, rateLimit: 0 }, store, null, node);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { store, node, url, flushedLsn: () => store._replication().positions().flushedLsn };
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The last lines it wrote to stderr (for error messages). */
  stderr(): string;
  /** Resolves with everything it wrote to stdout once it exits. */
  exited: Promise<string>;
  kill(): Promise<void>;
}

/**
 * KVBENCH_PROFILE_DIR=D: every standby/helper process runs under --cpu-prof and writes its
 * profile to D; it is then stopped with SIGTERM (a profile is written only on a clean exit).
 * Run the measuring process itself with `node --cpu-prof --cpu-prof-dir D` to profile the primary.
 */
const PROFILE_DIR = process.env.KVBENCH_PROFILE_DIR;
const profileArgs = (): string[] => (PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []);

function track(proc: ChildProcess): Child {
  let err = '';
  let out = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<string>((resolve) => proc.on('exit', () => resolve(out)));
  return {
    proc, pid: proc.pid!, stderr: () => err.trim().split('\n').slice(-3).join(' | '), exited,
    // SIGKILL and wait: the trial directory is removed right after, and a child that is not
    // reaped would keep its LOCK looking held.
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(PROFILE_DIR ? 'SIGTERM' : 'SIGKILL');
      if (PROFILE_DIR) proc.stdin?.end();
      await exited;
    },
  };
}

/** A kvstored standby of `primaryUrl` in its own process (auth off, durability always). */
export function spawnKvstoredStandby(dir: string, primaryUrl: string, id: string, engine: EngineKind): Child {
  fs.mkdirSync(dir, { recursive: true });
  return track(spawn(process.execPath, [
    ...profileArgs(), KVSTORED, '--data-dir', dir, '--host', '127.0.0.1', '--port', '0', '--no-auth', '--engine', engine, '--durability', 'always',
    '--replica-of', primaryUrl, '--standby-id', id, '--log-level', 'warn', '--rate-limit', '0', '--no-metrics',
  ], { stdio: ['ignore', 'ignore', 'pipe'] }));
}

/** bench/repl-node.js in `mode` with these flags (stdin open: closing it ends the child). */
export function spawnReplNode(args: string[]): Child {
  return track(spawn(process.execPath, [...profileArgs(), REPL_NODE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** The first JSON line the child prints on stdout. */
export function firstLine<T>(c: Child, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`no output within ${timeoutMs} ms: ${c.stderr()}`)), timeoutMs);
    const onData = (d: string): void => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(t);
      c.proc.stdout!.off('data', onData);
      resolve(JSON.parse(buf.slice(0, nl)) as T);
    };
    c.proc.stdout!.on('data', onData);
    c.proc.on('exit', (code) => reject(new Error(`child exited (${code}) before printing: ${c.stderr()}`)));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until standby `id` streams from the primary and has reported (feedback) a flushed
 * and applied LSN of at least the primary's flushed LSN now; fails after timeoutMs with
 * what the registry says. `child` is watched so a standby that died fails fast.
 */
export async function waitCaughtUp(p: Primary, id: string, child: Child | null, timeoutMs = 60_000): Promise<void> {
  const target = p.flushedLsn();
  const t0 = Date.now();
  for (;;) {
    const s = p.node.registry.list().find((x) => x.id === id);
    if (s && s.flushedLsn >= target && s.appliedLsn >= target) return;
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) throw new Error(`standby ${id} exited: ${child.stderr()}`);
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`standby ${id} not caught up to LSN ${target} after ${timeoutMs} ms (registry: ${s ? `flushed ${s.flushedLsn}, applied ${s.appliedLsn}` : 'not connected'}): ${child?.stderr() ?? ''}`);
    }
    await sleep(5);
  }
}

/** CPU seconds (user + system) of another process, from /proc (ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of this process. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The q-quantile (0..1) of xs, nearest rank; NaN when empty. */
export function quantile(xs: Float64Array | number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
