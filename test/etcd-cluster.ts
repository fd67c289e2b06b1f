/**
 * Real etcd clusters for the tests: 1 or 3 members of Debian's etcd (/usr/bin/etcd,
 * package etcd-server; ETCD_BIN overrides) on loopback ports, each over a temp data
 * directory, with short Raft timings (heartbeat 50 ms, election 250 ms by default) so that
 * 1 s leases work. A member can be killed (-9) and restarted on the same ports and data;
 * stop() stops every member and removes the directories. Processes and directories are
 * also reaped if the test process dies (test/reaper.ts).
 *
 * With `proxied: true` each member's client URL is reached through a TcpProxy
 * (test/tcp-proxy.ts): `endpoints` then are the proxies' URLs, and a test can cut a
 * client's path to etcd. (Members talk to each other directly.)
 *
 * Under CI=true a missing etcd fails the test (requireEtcd) instead of skipping it, as the
 * chromium and promtool checks do; .ci/run installs etcd-server and etcd-client.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { trackDir, trackProcess, untrackDir } from './reaper.js';
import { TcpProxy } from './tcp-proxy.js';

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';
export const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl';

/** etcd is installed (the binary runs). */
export const etcdFound = spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Throws unless etcd can run: under CI=true (or KVSTORE_REQUIRE_ETCD=1) a missing etcd is a
 * failure. Elsewhere returns false (the caller skips, with a note) when it is missing.
 */
export function requireEtcd(): boolean {
  if (etcdFound) return true;
  if (process.env.CI === 'true' || process.env.KVSTORE_REQUIRE_ETCD === '1') {
    throw new Error(`etcd is not installed (${ETCD_BIN}): CI needs it (apt-get install etcd-server etcd-client; .ci/run does)`);
  }
  console.log(`etcd not found (${ETCD_BIN}, Debian package etcd-server): etcd tests skipped; CI=true makes this a failure`);
  return false;
}

export interface EtcdOptions {
  /** Members: 1 or 3 (default 3). */
  size?: 1 | 3;
  /** --heartbeat-interval, ms (default 50). */
  heartbeatMs?: number;
  /** --election-timeout, ms (default 250). */
  electionMs?: number;
  /** Reach each member's client port through a TcpProxy (default false). */
  proxied?: boolean;
  /** Give up waiting for health after this long (default 30 s). */
  readyTimeoutMs?: number;
}

export interface EtcdMember {
  name: string;
  /** The member's own client URL (never through a proxy). */
  clientUrl: string;
  peerUrl: string;
  /** The client URL to give a client: the proxy's when proxied. */
  endpoint: string;
  proxy: TcpProxy | undefined;
  dir: string;
  logFile: string;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
}

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly root: string;
  readonly #opts: Required<EtcdOptions>;
  readonly #token: string;
  #stopped = false;

  private constructor(root: string, members: EtcdMember[], opts: Required<EtcdOptions>) {
    this.root = root;
    this.members = members;
    this.#opts = opts;
    this.#token = `kvtest-${path.basename(root)}`;
  }

  /** Starts the members and waits until every one reports healthy. On failure everything started is stopped. */
  static async start(o: EtcdOptions = {}): Promise<EtcdCluster> {
    const opts: Required<EtcdOptions> = { size: o.size ?? 3, heartbeatMs: o.heartbeatMs ?? 50, electionMs: o.electionMs ?? 250, proxied: o.proxied ?? false, readyTimeoutMs: o.readyTimeoutMs ?? 30_000 };
    if (!etcdFound) throw new Error(`etcd is not installed (${ETCD_BIN}); apt-get install etcd-server etcd-client`);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-etcd-'));
    trackDir(root);
    const members: EtcdMember[] = [];
    const cluster = new EtcdCluster(root, members, opts);
    try {
      for (let i = 0; i < opts.size; i++) {
        const clientUrl = `http://127.0.0.1:${await freePort()}`;
        const proxy = opts.proxied ? await TcpProxy.start(clientUrl) : undefined;
        const dir = path.join(root, `m${i}`);
        members.push({
          name: `m${i}`, clientUrl, peerUrl: `http://127.0.0.1:${await freePort()}`, endpoint: proxy ? proxy.url() : clientUrl, proxy,
          dir, logFile: path.join(root, `m${i}.log`), proc: undefined, exited: Promise.resolve(),
        });
      }
      for (let i = 0; i < members.length; i++) cluster.#spawn(i);
      await cluster.waitHealthy();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The client endpoints (proxies' when proxied), comma-joined as kvstored's --etcd takes them. */
  get endpoints(): string {
    return this.members.map((m) => m.endpoint).join(',');
  }

  /** The members' own client URLs (never proxied). */
  get directEndpoints(): string {
    return this.members.map((m) => m.clientUrl).join(',');
  }

  isAlive(i: number): boolean {
    const p = this.members[i]!.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  #spawn(i: number): void {
    const m = this.members[i]!;
    const log = fs.openSync(m.logFile, 'a');
    const args = [
      '--name', m.name, '--data-dir', m.dir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.endpoint,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.#initialClusterNow(), '--initial-cluster-state', 'new', '--initial-cluster-token', this.#token,
      '--heartbeat-interval', String(this.#opts.heartbeatMs), '--election-timeout', String(this.#opts.electionMs),
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
      '--quota-backend-bytes', String(256 * 1024 * 1024),
    ];
    const proc = spawn(ETCD_BIN, args, { stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '', ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } });
    fs.closeSync(log);
    trackProcess(proc);
    m.proc = proc;
    m.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.on('error', () => undefined);
  }

  #initialClusterNow(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** One member's /health (etcd answers {"health":"true"} when it has a leader and can serve). */
  async memberHealthy(i: number, timeoutMs = 1_000): Promise<boolean> {
    try {
      const r = await fetch(`${this.members[i]!.clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await r.json()) as { health?: string };
      return r.status === 200 && body.health === 'true';
    } catch {
      return false;
    }
  }

  /** Waits until every running member (or only `which`) is healthy. */
  async waitHealthy(which?: number[], timeoutMs = this.#opts.readyTimeoutMs): Promise<void> {
    const idx = which ?? this.members.map((_, i) => i).filter((i) => this.isAlive(i));
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const dead = idx.filter((i) => !this.isAlive(i));
      if (dead.length > 0) throw new Error(`etcd member(s) ${dead.map((i) => this.members[i]!.name).join(',')} exited: ${this.logTail(dead[0]!)}`);
      const ok = await Promise.all(idx.map((i) => this.memberHealthy(i)));
      if (ok.every(Boolean)) return;
      await sleep(50);
    }
    throw new Error(`etcd members ${idx.map((i) => this.members[i]!.name).join(',')} not healthy after ${timeoutMs} ms: ${idx.map((i) => this.logTail(i)).join('\n')}`);
  }

  /** The index of the running member that is etcd's Raft leader now (its maintenance status, over the JSON gateway); -1 when none answers as leader. */
  async leaderIndex(timeoutMs = 1_000): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      if (!this.isAlive(i)) continue;
      try {
        const r = await fetch(`${this.members[i]!.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(timeoutMs) });
        const st = (await r.json()) as { header?: { member_id?: string }; leader?: string };
        if (st.leader !== undefined && st.leader === st.header?.member_id) return i;
      } catch {
        // not answering: not the leader as far as this test can tell
      }
    }
    return -1;
  }

  /** SIGKILL member i and wait until it is reaped. */
  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    if (this.isAlive(i)) m.proc!.kill('SIGKILL');
    await m.exited;
  }

  /** SIGTERM member i (a clean stop) and wait until it is reaped (SIGKILL after 10 s). */
  async terminate(i: number): Promise<void> {
    const m = this.members[i]!;
    if (!this.isAlive(i)) return;
    m.proc!.kill('SIGTERM');
    const t = setTimeout(() => m.proc!.kill('SIGKILL'), 10_000);
    await m.exited;
    clearTimeout(t);
  }

  /** Restarts a stopped member on its ports and data; waits until it is healthy (when `wait`, the default). */
  async restart(i: number, wait = true): Promise<void> {
    if (this.isAlive(i)) throw new Error(`etcd member ${this.members[i]!.name} is running`);
    this.#spawn(i);
    if (wait) await this.waitHealthy([i]);
  }

  /** The last bytes of member i's log. */
  logTail(i: number, bytes = 3000): string {
    try {
      const s = fs.readFileSync(this.members[i]!.logFile, 'utf8');
      return `[${this.members[i]!.name}] …${s.slice(-bytes)}`;
    } catch {
      return `[${this.members[i]!.name}] (no log)`;
    }
  }

  /** Runs etcdctl against the members (direct URLs) and resolves with stdout; rejects on failure. */
  etcdctl(args: string[], timeoutMs = 10_000): Promise<string> {
    return etcdctl(this.directEndpoints, args, timeoutMs).then((r) => {
      if (!r.ok) throw new Error(`etcdctl ${args.join(' ')}: ${r.out}`);
      return r.stdout;
    });
  }

  /** Every key under prefix and its value (etcdctl get --prefix -w json; values decoded as UTF-8). */
  async getPrefix(prefix: string): Promise<Map<string, string>> {
    const out = JSON.parse(await this.etcdctl(['get', '--prefix', prefix, '-w', 'json'])) as { kvs?: Array<{ key: string; value: string }> };
    const m = new Map<string, string>();
    for (const kv of out.kvs ?? []) m.set(Buffer.from(kv.key, 'base64').toString('utf8'), Buffer.from(kv.value, 'base64').toString('utf8'));
    return m;
  }

  /** Stops every member (SIGKILL: etcd's data does not matter past the test), closes proxies, removes the directories. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    await Promise.all(this.members.map((m) => m.proxy?.close()));
    fs.rmSync(this.root, { recursive: true, force: true });
    untrackDir(this.root);
  }
}

/**
 * Runs etcdctl (v3 API) against `endpoints`, asynchronously (a test's in-process proxies and
 * recorders keep running). Never rejects: ok is false on a non-zero exit or a timeout.
 */
export function etcdctl(endpoints: string, args: string[], timeoutMs = 3_000): Promise<{ ok: boolean; stdout: string; out: string }> {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  return new Promise((resolve) => {
    execFile(ETCDCTL_BIN, ['--endpoints', endpoints, '--dial-timeout', `${Math.min(secs, 2)}s`, '--command-timeout', `${secs}s`, ...args], {
      encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ETCDCTL_API: '3' }, timeout: timeoutMs + 3_000, maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => resolve({ ok: err === null, stdout, out: `${stdout}${stderr}${err && !('code' in err && typeof err.code === 'number') ? String(err) : ''}` }));
  });
}
