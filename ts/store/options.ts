/**
 * open() options: defaults → validation → interpretation, in that order (STYLE.md §4).
 * Misspelled option names are rejected by name (checkOptions, ts/options.ts).
 */
import { hostname } from 'node:os';
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import type { DurabilityCode, EngineConfig } from '../engine/types.js';
import { type EncodingFor, checkEncodingOption } from './encoding.js';

export type Durability = 'always' | 'interval' | 'none';
export type EngineKind = 'native' | 'js' | 'auto';

/** V and K: the types values and keys decode to (Buffer unless an encoding says otherwise). */
export interface OpenOptions<V = Buffer, K = Buffer> extends ReplicaOpenOptions {
  /** Data directory; created if missing. */
  dir: string;
  /**
   * 'auto' (default) uses the native engine and falls back to the pure-TS one with a warning;
   * 'native' fails with NATIVE_UNAVAILABLE when the addon does not load; 'js' never loads it.
   */
  engine?: EngineKind;
  /** 'always' (default): a write resolves after the fdatasync that covers it. */
  durability?: Durability;
  /** fdatasync period under 'interval', ms. Default 100. */
  intervalMs?: number;
  /** Number of hash-table shards, a power of two 1..4096. Default 64. */
  shards?: number;
  /** WAL segment size, bytes. Default 64 MiB. */
  walSegmentBytes?: number;
  /** Automatic checkpoint after this much WAL, bytes; 0 = only on demand and at close. Default 64 MiB. */
  checkpointWalBytes?: number;
  /** Open a directory with a corrupt WAL record by cutting the WAL there (data after it is lost). Default false. */
  truncateCorruptTail?: boolean;
  /** Clock for TTL, ms since the epoch. Default Date.now. */
  clock?: () => number;
  /** Receives operator messages (torn tail truncated, corruption repaired). Default: process warnings. */
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * How values are stored: 'binary' (default: strings in as UTF-8, Buffers out), 'utf8' (strings
   * out), 'json', 'msgpack' (needs the msgpackr package) or a custom { encode, decode }.
   */
  valueEncoding?: EncodingFor<V>;
  /** How keys are stored (same choices as valueEncoding); keys sort by their encoded bytes. */
  keyEncoding?: EncodingFor<K>;
}

/** open()'s replication options: the role, and what an embedded read replica needs (docs/replication.md). */
export interface ReplicaOpenOptions {
  /**
   * 'standby' opens the directory read-only: writes fail with READ_ONLY and only replication
   * appends to it (kvstored's --replica-of uses it). Default 'primary'; 'standby' with replicaOf.
   */
  role?: 'primary' | 'standby';
  /**
   * Makes this an embedded read replica (docs/replication.md): the directory follows a kvstored
   * primary's WAL, reads are local (possibly stale, see `store.replication()`), writes fail
   * with READ_ONLY. A URL: that primary, followed as it is. An array of URLs: members of a
   * kvstored cluster (`--cluster`); the replica asks them who the leader is (GET /v1/cluster)
   * and follows whichever node is primary, across failovers.
   */
  replicaOf?: string | readonly string[];
  /** With replicaOf: an API key of a user with the replicator (or admin) role. */
  apiKey?: string;
  /** With replicaOf: this replica's name on the primary. Default `embedded-<host>-<pid>`. */
  standbyId?: string;
  /** With replicaOf over https: CA bundle and client certificate/key (PEM), for mTLS primaries. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
}

/** What a replica follows: one primary as it is, or whichever member of a cluster leads. */
export type ReplicaUpstream = { kind: 'primary'; url: string } | { kind: 'cluster'; members: readonly string[] };

export interface ReplicaOptions {
  upstream: ReplicaUpstream;
  apiKey: string | undefined;
  standbyId: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
}

export interface ResolvedOptions {
  engine: EngineKind;
  config: EngineConfig;
  durability: Durability;
  clock: () => number;
  onLog: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Set when open() makes an embedded read replica. */
  replica: ReplicaOptions | null;
  /** Checked (checkEncodingOption), not yet loaded: open() resolves them. */
  keyEncoding: unknown;
  valueEncoding: unknown;
}

const OPEN_OPTIONS = optionNames<OpenOptions>({
  dir: true, engine: true, durability: true, intervalMs: true, shards: true, walSegmentBytes: true,
  checkpointWalBytes: true, truncateCorruptTail: true, clock: true, onLog: true, keyEncoding: true, valueEncoding: true,
  role: true, replicaOf: true, apiKey: true, standbyId: true, tls: true,
});
const TLS_OPTIONS = optionNames<NonNullable<OpenOptions['tls']>>({ ca: true, cert: true, key: true });
const DURABILITY: Record<Durability, DurabilityCode> = { always: 0, interval: 1, none: 2 };
const MiB = 1024 * 1024;
/** The most member URLs replicaOf may list (a cluster has a handful; this only bounds a mistake). */
export const MAX_REPLICA_MEMBERS = 64;

function bad(message: string): KvError {
  return new KvError('INVALID_ARGUMENT', message);
}

function int(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

function defaultLog(level: 'info' | 'warn' | 'error', message: string): void {
  if (level !== 'info') process.emitWarning(message, { code: 'KVSTORE_' + level.toUpperCase() });
}

export function resolveOptions(input: OpenOptions<unknown, unknown>): ResolvedOptions {
  if (input === null || typeof input !== 'object') throw bad('open() needs an options object with a dir');
  checkOptions('open', input, OPEN_OPTIONS);
  const o = {
    engine: 'auto' as EngineKind,
    durability: 'always' as Durability,
    intervalMs: 100,
    shards: 64,
    walSegmentBytes: 64 * MiB,
    checkpointWalBytes: 64 * MiB,
    truncateCorruptTail: false,
    clock: Date.now,
    onLog: defaultLog,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  } as Required<OpenOptions<unknown, unknown>>;

  if (typeof o.dir !== 'string' || o.dir.length === 0) throw bad('dir must be a non-empty string');
  if (!['native', 'js', 'auto'].includes(o.engine)) throw bad(`engine must be 'native', 'js' or 'auto'`);
  if (!(o.durability in DURABILITY)) throw bad(`durability must be 'always', 'interval' or 'none'`);
  int('intervalMs', o.intervalMs, 1, 60_000);
  int('shards', o.shards, 1, 4096);
  if ((o.shards & (o.shards - 1)) !== 0) throw bad(`shards must be a power of two, got ${o.shards}`);
  int('walSegmentBytes', o.walSegmentBytes, 64 * 1024, 1024 * MiB);
  int('checkpointWalBytes', o.checkpointWalBytes, 0, Number.MAX_SAFE_INTEGER);
  if (typeof o.truncateCorruptTail !== 'boolean') throw bad('truncateCorruptTail must be a boolean');
  if (typeof o.clock !== 'function') throw bad('clock must be a function');
  if (typeof o.onLog !== 'function') throw bad('onLog must be a function');
  const replica = resolveReplica(input);
  const role = input.role ?? (replica ? 'standby' : 'primary');
  if (role !== 'primary' && role !== 'standby') throw bad(`role must be 'primary' or 'standby'`);
  if (replica && role !== 'standby') throw bad(`a replica (replicaOf) is a standby; role must not be 'primary'`);
  checkEncodingOption(input.keyEncoding, 'keyEncoding');
  checkEncodingOption(input.valueEncoding, 'valueEncoding');

  return {
    replica,
    engine: o.engine,
    durability: o.durability,
    clock: o.clock,
    onLog: o.onLog,
    keyEncoding: input.keyEncoding,
    valueEncoding: input.valueEncoding,
    config: {
      dir: o.dir,
      shards: o.shards,
      durability: DURABILITY[o.durability],
      intervalMs: o.intervalMs,
      walSegmentBytes: o.walSegmentBytes,
      checkpointWalBytes: o.checkpointWalBytes,
      truncateCorruptTail: o.truncateCorruptTail,
      role,
    },
  };
}

function pem(name: string, v: unknown): Buffer | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v.length > 0) return Buffer.from(v);
  if (Buffer.isBuffer(v) && v.length > 0) return v;
  throw bad(`tls.${name} must be a non-empty PEM string or Buffer`);
}

function resolveReplica(input: ReplicaOpenOptions): ReplicaOptions | null {
  if (input.replicaOf === undefined) {
    for (const k of ['apiKey', 'standbyId', 'tls'] as const) if (input[k] !== undefined) throw bad(`${k} goes with replicaOf`);
    return null;
  }
  const upstream = resolveUpstream(input.replicaOf);
  if (input.apiKey !== undefined && (typeof input.apiKey !== 'string' || input.apiKey.length === 0)) throw bad('apiKey must be a non-empty string');
  const standbyId = input.standbyId ?? `embedded-${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 30)}-${process.pid}`;
  if (typeof standbyId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(standbyId)) throw bad('standbyId must be 1..64 of A-Z a-z 0-9 . _ -');
  let tls: ReplicaOptions['tls'];
  if (input.tls !== undefined) {
    checkOptions('open.tls', input.tls, TLS_OPTIONS);
    tls = {};
    const ca = pem('ca', input.tls.ca);
    const cert = pem('cert', input.tls.cert);
    const key = pem('key', input.tls.key);
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    if ((cert === undefined) !== (key === undefined)) throw bad('tls.cert and tls.key go together');
  }
  return { upstream, apiKey: input.apiKey, standbyId, tls };
}

/** One URL (a primary), or an array of a cluster's member URLs: each an http(s) URL, none twice. */
function resolveUpstream(v: unknown): ReplicaUpstream {
  if (typeof v === 'string') {
    const url = httpUrl(v);
    if (url === null) {
      const hint = v.includes(',') ? '; to follow a cluster, give its members as an array of URLs' : '';
      throw bad(`replicaOf must be an http(s) URL, got ${JSON.stringify(v)}${hint}`);
    }
    return { kind: 'primary', url };
  }
  if (!Array.isArray(v)) throw bad(`replicaOf must be an http(s) URL or an array of a cluster's member URLs, got ${typeof v}`);
  if (v.length === 0) throw bad('replicaOf must list at least one cluster member URL');
  if (v.length > MAX_REPLICA_MEMBERS) throw bad(`replicaOf lists ${v.length} member URLs; at most ${MAX_REPLICA_MEMBERS}`);
  const members: string[] = [];
  v.forEach((m: unknown, i) => {
    const url = typeof m === 'string' ? httpUrl(m) : null;
    if (url === null) throw bad(`replicaOf[${i}] must be an http(s) URL, got ${typeof m === 'string' ? JSON.stringify(m) : typeof m}`);
    if (members.includes(url)) throw bad(`replicaOf lists ${url} twice`);
    members.push(url);
  });
  return { kind: 'cluster', members };
}

function httpUrl(s: string): string | null {
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}
