/**
 * Real replication clusters for the tests: kvstored primaries and standbys as child
 * processes on loopback ports over real data directories, the credentials a cluster needs
 * (an admin API key and a replicator API key, created on the primary), and an exact offline
 * comparison of data directories (every key, value, version and expiry, `_sys.` included).
 *
 * A node is stopped with SIGTERM (checkpoint and clean close) or SIGKILL (kill9); both wait
 * until the child is reaped, so the next start on the same directory finds its LOCK free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { SEGMENT_RE, decodeControl, readRecord } from '../ts/engine/format.js';
import { open, type Store } from '../ts/store/store.js';
import { systemView } from '../ts/store/store.js';
import type { ReplicationStatus } from '../ts/replication/node.js';
import { type EngineName, ENGINES, repoRoot, tempDir } from './helpers.js';

const KVSTORED = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');
export const ADMIN_PASSWORD = 'replication admin password 1';

export interface NodeOptions {
  engine?: EngineName;
  /** Follow this primary (kvstored --replica-of). */
  replicaOf?: string;
  /** KVSTORE_REPLICATION_API_KEY for a standby. */
  apiKey?: string;
  standbyId?: string;
  /** More kvstored flags (e.g. --synchronous-standbys 1). */
  args?: string[];
  env?: Record<string, string>;
  /** Resolve on spawn instead of waiting for "listening" (a standby that cannot start yet). */
  noWait?: boolean;
  /** A fixed port (a primary restarted where its standbys look for it); default any. */
  port?: number;
  /** This test's TLS client settings for a node serving HTTPS (CA, and a client certificate for mTLS). */
  clientTls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

export interface Reply {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

export class KvNode {
  url = '';
  #out = '';
  #err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #listening: Promise<string>;

  constructor(readonly dir: string, readonly engine: EngineName, readonly proc: ChildProcess, readonly opts: NodeOptions) {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => void (this.#out += c));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => void (this.#err += c));
    this.exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
    this.#listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kvstored on ${dir} did not listen in 60 s: ${this.tail()}`)), 60_000);
      const look = (): void => {
        const line = this.#out.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (!line) return;
        clearTimeout(timer);
        proc.stdout!.off('data', look);
        resolve((JSON.parse(line) as { url: string }).url);
      };
      proc.stdout!.on('data', look);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`kvstored on ${dir} exited (${code ?? signal}) before listening: ${this.tail()}`));
      });
    });
    this.#listening.catch(() => undefined);
  }

  async listening(): Promise<this> {
    this.url = await this.#listening;
    return this;
  }

  /** The JSON log lines (stdout) so far. */
  logs(): Array<{ level: number; msg: string }> {
    const out: Array<{ level: number; msg: string }> = [];
    for (const line of this.#out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as { level: number; msg: string });
      } catch {
        // a line cut by SIGKILL
      }
    }
    return out;
  }

  stdout(): string {
    return this.#out;
  }

  stderr(): string {
    return this.#err;
  }

  tail(): string {
    return `stdout …${this.#out.slice(-3000)} stderr …${this.#err.slice(-2000)}`;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM: a clean shutdown (checkpoint, close). Resolves with the exit code once reaped. */
  async stop(): Promise<number | null> {
    if (this.alive) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 30_000);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL, then wait until reaped. */
  async kill9(): Promise<void> {
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** One HTTP request; `key` is sent as X-API-Key, `token` as a bearer token. */
  async api(method: string, route: string, o: { key?: string; token?: string; body?: unknown; raw?: Buffer | string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key !== undefined) headers['x-api-key'] = o.key;
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    let body: string | Buffer | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    } else if (o.raw !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = o.raw;
    }
    const dispatcher = this.#dispatcher();
    const init = { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) };
    const res = dispatcher ? await undiciFetch(this.url + route, { ...init, dispatcher }) : await fetch(this.url + route, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
  }

  #agent: Agent | undefined;
  #dispatcher(): Agent | undefined {
    const t = this.opts.clientTls;
    if (!t) return undefined;
    this.#agent ??= new Agent({ connect: { ca: t.ca, ...(t.cert ? { cert: t.cert, key: t.key } : {}) } });
    return this.#agent;
  }

  async replication(key: string): Promise<ReplicationStatus> {
    const r = await this.api('GET', '/v1/admin/replication', { key });
    if (r.status !== 200) throw new Error(`GET /v1/admin/replication on ${this.url}: ${r.status} ${r.text}`);
    return r.json<ReplicationStatus>();
  }

  /** Polls the replication status until pred holds (bounded). */
  async waitStatus(key: string, pred: (s: ReplicationStatus) => boolean, what: string, timeoutMs = 30_000): Promise<ReplicationStatus> {
    const t0 = Date.now();
    let last: ReplicationStatus | undefined;
    while (Date.now() - t0 < timeoutMs) {
      try {
        last = await this.replication(key);
        if (pred(last)) return last;
      } catch (err) {
        if (!this.alive) throw err;
      }
      await sleep(50);
    }
    throw new Error(`${this.url}: timed out after ${timeoutMs} ms waiting for ${what}; last status ${JSON.stringify(last)}; ${this.tail()}`);
  }
}

/** Starts kvstored on dir; resolves once it listens (unless noWait). */
export async function startNode(dir: string, o: NodeOptions = {}): Promise<KvNode> {
  const engine = o.engine ?? ENGINES[0]!;
  const args = [KVSTORED, '--data-dir', dir, '--port', String(o.port ?? 0), '--log-level', 'info', '--engine', engine, '--login-rate-limit', '0'];
  if (o.replicaOf) args.push('--replica-of', o.replicaOf);
  if (o.standbyId) args.push('--standby-id', o.standbyId);
  args.push(...(o.args ?? []));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', KVSTORE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...o.env };
  if (o.apiKey) env.KVSTORE_REPLICATION_API_KEY = o.apiKey;
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const node = new KvNode(dir, engine, proc, o);
  live.add(node);
  void node.exited.then(() => live.delete(node));
  return o.noWait ? node : node.listening();
}

const live = new Set<KvNode>();
/** Every node still running (a failed test's leftovers): killed at exit. */
process.on('exit', () => {
  for (const n of live) n.proc.kill('SIGKILL');
});

/** Kills every node this process started that still runs (end of a test). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((n) => n.kill9()));
}

export interface Credentials {
  /** An API key of the first admin: admin routes and data on every node. */
  admin: string;
  /** An API key of user "repl" with only the replicator role. */
  replicator: string;
}

/** Creates the cluster's credentials on a (fresh) primary. */
export async function credentials(primary: KvNode): Promise<Credentials> {
  const login = await primary.api('POST', '/v1/auth/login', { body: { name: 'admin', password: ADMIN_PASSWORD } });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`);
  const token = login.json<{ token: string }>().token;
  const adminKey = await primary.api('POST', '/v1/admin/apikeys', { token, body: { owner: 'admin', name: 'test-admin' } });
  if (adminKey.status !== 201) throw new Error(`admin key: ${adminKey.status} ${adminKey.text}`);
  const user = await primary.api('POST', '/v1/admin/users', { token, body: { name: 'repl', roles: ['replicator'] } });
  if (user.status !== 201 && user.status !== 200) throw new Error(`replicator user: ${user.status} ${user.text}`);
  const replKey = await primary.api('POST', '/v1/admin/apikeys', { token, body: { owner: 'repl', name: 'standby' } });
  if (replKey.status !== 201) throw new Error(`replicator key: ${replKey.status} ${replKey.text}`);
  return { admin: adminKey.json<{ token: string }>().token, replicator: replKey.json<{ token: string }>().token };
}

/** A primary on a fresh directory plus its credentials. */
export async function startPrimary(o: NodeOptions = {}): Promise<{ primary: KvNode; creds: Credentials }> {
  const primary = await startNode(tempDir('repl-p'), o);
  return { primary, creds: await credentials(primary) };
}

/** The primary's flushed LSN now. */
export async function flushedLsn(node: KvNode, key: string): Promise<bigint> {
  return BigInt((await node.replication(key)).flushedLsn);
}

/** Waits until the standby has applied at least lsn. */
export function caughtUp(standby: KvNode, key: string, lsn: bigint, timeoutMs = 30_000): Promise<ReplicationStatus> {
  return standby.waitStatus(key, (s) => BigInt(s.appliedLsn) >= lsn, `applied LSN ${lsn}`, timeoutMs);
}

/**
 * Waits until the standby follows the primary on the primary's timeline and has applied all
 * it has flushed now. (An applied LSN alone can mislead: a former primary that has not
 * rewound yet may be past the new primary's LSN on its old timeline.)
 */
export async function synced(standby: KvNode, primary: KvNode, key: string, timeoutMs = 30_000): Promise<ReplicationStatus> {
  const p = await primary.replication(key);
  return standby.waitStatus(key, (s) => s.timeline === p.timeline && s.receiver?.connected === true && BigInt(s.appliedLsn) >= BigInt(p.flushedLsn), `timeline ${p.timeline} through LSN ${p.flushedLsn}`, timeoutMs);
}

/** Waits until the primary sees standby `id` streaming from it with at least lsn flushed. */
export function confirmedBy(primary: KvNode, key: string, id: string, lsn: bigint, timeoutMs = 30_000): Promise<ReplicationStatus> {
  return primary.waitStatus(key, (s) => s.standbys.some((b) => b.id === id && BigInt(b.flushedLsn) >= lsn), `standby ${id} to confirm LSN ${lsn}`, timeoutMs);
}

// ------------------------------------------------------------------ offline comparison

export interface DumpEntry {
  value: string;
  version: string;
  expiresAt: number | null;
}

/**
 * Every live entry of a closed data directory at the fixed time `at` (ms since the epoch):
 * data keys and `_sys.` keys, with value (hex), version and expiry. Opened as a standby so
 * nothing is written but the close's checkpoint; the same `at` for every directory compared
 * makes TTLs decide alike.
 */
export async function dumpDir(dir: string, engine: EngineName, at: number): Promise<Map<string, DumpEntry>> {
  const store = await open({ dir, engine, role: 'standby', clock: () => at, onLog: () => undefined });
  try {
    return dumpStore(store);
  } finally {
    await store.close();
  }
}

export function dumpStore(store: Store): Map<string, DumpEntry> {
  const out = new Map<string, DumpEntry>();
  const put = (k: Buffer, e: { value: Buffer; version: bigint; expiresAt?: number } | undefined): void => {
    if (!e) throw new Error(`key ${k.toString('hex')} scanned but getEntry found nothing`);
    out.set(k.toString('hex'), { value: e.value.toString('hex'), version: e.version.toString(), expiresAt: e.expiresAt ?? null });
  };
  for (const [k] of store.scan()) put(k, store.getEntry(k));
  const sys = systemView(store);
  for (const [k] of sys.scan()) put(k, sys.getEntry(k));
  return out;
}

/** Throws with the first differences when two dumps are not identical. */
export function assertSameDump(a: Map<string, DumpEntry>, b: Map<string, DumpEntry>, what: string): void {
  const diffs: string[] = [];
  for (const [k, e] of a) {
    const f = b.get(k);
    if (!f) diffs.push(`${label(k)} only in the first`);
    else if (e.value !== f.value || e.version !== f.version || e.expiresAt !== f.expiresAt) diffs.push(`${label(k)}: ${JSON.stringify(e)} vs ${JSON.stringify(f)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`${label(k)} only in the second`);
  if (diffs.length > 0) throw new Error(`${what}: ${diffs.length} difference(s) (${a.size} vs ${b.size} entries): ${diffs.slice(0, 8).join('; ')}`);
}

function label(hex: string): string {
  const s = Buffer.from(hex, 'hex').toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : hex;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ WAL files

/**
 * Every record in dir's WAL segments (a closed or killed node's), LSN → its exact bytes.
 * Throws on a gap or a duplicate LSN: the log must be one run of consecutive LSNs.
 */
export function walRecords(dir: string): Map<bigint, Buffer> {
  const walDir = path.join(dir, 'wal');
  const out = new Map<bigint, Buffer>();
  let prev = -1n;
  for (const seg of fs.readdirSync(walDir).filter((f) => SEGMENT_RE.test(f)).sort()) {
    const buf = fs.readFileSync(path.join(walDir, seg));
    for (let at = 0; ;) {
      const r = readRecord(buf, at);
      if (!r.ok) break;
      if (prev >= 0n && r.lsn !== prev + 1n) throw new Error(`${dir}: WAL LSN ${r.lsn} follows ${prev} (${seg})`);
      out.set(r.lsn, Buffer.from(buf.subarray(at, r.next)));
      prev = r.lsn;
      at = r.next;
    }
  }
  return out;
}

/**
 * The highest LSN a stopped node wrote (its shutdown writes included): the last record in its
 * WAL, or below the redo LSN of its last checkpoint when that removed every segment holding records.
 */
export function lastWalLsn(dir: string): bigint {
  const inWal = [...walRecords(dir).keys()].at(-1) ?? 0n;
  const redo = decodeControl(fs.readFileSync(path.join(dir, 'control'))).redoLsn;
  return inWal > redo - 1n ? inWal : redo - 1n;
}

/**
 * Stops a primary and then its standby, once the standby has applied everything the primary
 * wrote (its shutdown writes included): both directories then hold the same records.
 */
export async function stopPrimaryThenStandby(primary: KvNode, standby: KvNode, key: string): Promise<void> {
  const code = await primary.stop();
  if (code !== 0) throw new Error(`the primary exited ${code}: ${primary.tail()}`);
  await caughtUp(standby, key, lastWalLsn(primary.dir));
  const c2 = await standby.stop();
  if (c2 !== 0) throw new Error(`the standby exited ${c2}: ${standby.tail()}`);
}

/**
 * The standby's WAL is the primary's, record for record (same bytes at the same LSNs) over
 * the LSNs both still hold, gap-free, and reaches at least `through`. Returns how many
 * records were compared. Safe on running nodes (a record being written is not read).
 */
export function assertWalFollows(standbyDir: string, primaryDir: string, through: bigint): number {
  const s = walRecords(standbyDir);
  const p = walRecords(primaryDir);
  const pFirst = [...p.keys()][0] ?? 0n;
  let compared = 0;
  for (const [lsn, bytes] of s) {
    const q = p.get(lsn);
    if (!q) {
      if (lsn < pFirst) continue; // checkpointed away on the primary
      throw new Error(`WAL record ${lsn} is on the standby ${standbyDir} but not on the primary ${primaryDir} (which holds ${pFirst}..${[...p.keys()].at(-1)})`);
    }
    if (!q.equals(bytes)) throw new Error(`WAL record ${lsn} differs between ${standbyDir} and ${primaryDir}`);
    compared++;
  }
  const last = [...s.keys()].at(-1) ?? 0n;
  if (last < through) throw new Error(`the standby's WAL ends at ${last}, before ${through}`);
  return compared;
}

/** A loopback port nothing listens on now (for a primary that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
