/**
 * kvstored configuration: defaults, then a TOML file (--config / KVSTORE_CONFIG), then
 * KVSTORE_* environment variables, then command-line flags, each overriding the one before.
 * One table (FIELDS) defines every setting's file key, variable, flag, type and help, so the
 * four can never disagree. Invalid values are refused with the field and where it came from.
 */
import fs from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { KvError } from '../errors.js';
import { parseTrustProxy } from './trust-proxy.js';
import { parseInterval } from '../backup/schedule.js';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  grpcPort: number | undefined;
  engine: 'auto' | 'native' | 'js';
  durability: 'always' | 'interval' | 'none';
  intervalMs: number;
  shards: number;
  walSegmentBytes: number;
  checkpointWalBytes: number;
  auth: boolean;
  adminUser: string;
  adminPassword: string | undefined;
  adminPasswordFile: string | undefined;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  masterKeyCommand: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  tlsRequireClientCert: boolean;
  bodyLimit: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  rateLimit: number;
  loginRateLimit: number;
  trustProxy: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  accessLog: boolean;
  metrics: boolean;
  metricsAuth: 'none' | 'token';
  auditStream: 'none' | 'stdout' | 'stderr';
  replicaOf: string | undefined;
  standbyId: string | undefined;
  replicationApiKey: string | undefined;
  replicationApiKeyFile: string | undefined;
  replicationCa: string | undefined;
  replicationCert: string | undefined;
  replicationKey: string | undefined;
  synchronousStandbys: number;
  synchronousTimeoutMs: number;
  standbyWrites: 'forward' | 'redirect' | 'refuse';
  forwardTimeoutMs: number;
  linearizableReadTimeoutMs: number;
  cluster: string | undefined;
  etcd: string | undefined;
  etcdPrefix: string;
  nodeId: string | undefined;
  advertiseUrl: string | undefined;
  clusterLeaseTtlMs: number;
  clusterRenewIntervalMs: number;
  archive: string | undefined;
  archivePartialIntervalS: number;
  backupTo: string | undefined;
  backupSchedule: string | undefined;
  backupKeep: number;
  backupMaxMbPerS: number;
  s3Endpoint: string | undefined;
  s3ForcePathStyle: boolean;
  s3Region: string | undefined;
}

type Kind = 'string' | 'path' | 'int' | 'bool' | readonly string[];

interface Field {
  name: keyof ServerConfig;
  kind: Kind;
  default: string | number | boolean | undefined;
  help: string;
  min?: number;
  max?: number;
  /** An int that must also be a power of two. */
  powerOfTwo?: boolean;
  /** Not accepted in the config file (secrets come from the environment or a file). */
  noFile?: boolean;
  /** Starts a group in --help: its heading (FIELDS are in group order). */
  section?: string;
}

export const FIELDS: readonly Field[] = [
  { name: 'dataDir', section: 'Storage and listening', kind: 'path', default: './data', help: 'data directory (created if missing)' },
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 for every interface)' },
  { name: 'port', kind: 'int', default: 8080, min: 0, max: 65535, help: 'TCP port (0 = any free port, printed at start)' },
  { name: 'grpcPort', kind: 'int', default: undefined, min: 0, max: 65535, help: 'gRPC port on the same host, with the same TLS, auth and limits (0 = any free port, printed at start); unset = no gRPC' },
  { name: 'engine', kind: ['auto', 'native', 'js'], default: 'auto', help: 'storage engine' },
  { name: 'durability', kind: ['always', 'interval', 'none'], default: 'always', help: 'when a write is acknowledged: after fdatasync (always), or before' },
  // Engine tuning: open()'s options of the same names, with its defaults and ranges
  // (ts/store/options.ts; test/server-tuning.test.ts keeps the two in step).
  { name: 'intervalMs', kind: 'int', default: 100, min: 1, max: 60_000, help: 'with durability = interval: ms between fdatasyncs (the most a crash can lose)' },
  { name: 'shards', kind: 'int', default: 64, min: 1, max: 4096, powerOfTwo: true, help: 'hash-table shards, one lock each; a power of two' },
  { name: 'walSegmentBytes', kind: 'int', default: 64 * 1024 * 1024, min: 64 * 1024, max: 1024 * 1024 * 1024, help: 'WAL segment file size, bytes' },
  { name: 'checkpointWalBytes', kind: 'int', default: 64 * 1024 * 1024, min: 0, max: Number.MAX_SAFE_INTEGER, help: 'automatic checkpoint after this much WAL, bytes; 0 = only on demand and at shutdown' },
  { name: 'auth', section: 'Authentication', kind: 'bool', default: true, help: 'require credentials (API key or session token) on /v1' },
  { name: 'adminUser', kind: 'string', default: 'admin', help: 'name of the first admin, created on first start' },
  { name: 'adminPassword', kind: 'string', default: undefined, noFile: true, help: "first admin's password (environment only); without it one is generated and printed once" },
  { name: 'adminPasswordFile', kind: 'path', default: undefined, help: "file holding the first admin's password" },
  { name: 'masterKey', kind: 'string', default: undefined, noFile: true, help: '32-byte key (64 hex digits or base64) for user metadata encryption (environment only)' },
  { name: 'masterKeyFile', kind: 'path', default: undefined, help: 'file holding the master key (mode 0600, or 0640 owned by root)' },
  { name: 'masterKeyCommand', kind: 'string', default: undefined, help: 'shell command whose standard output is the master key (like PostgreSQL ssl_passphrase_command); one source only' },
  { name: 'tlsCert', section: 'TLS', kind: 'path', default: undefined, help: 'TLS certificate (PEM); with tls-key, serves HTTPS' },
  { name: 'tlsKey', kind: 'path', default: undefined, help: 'TLS private key (PEM)' },
  { name: 'tlsCa', kind: 'path', default: undefined, help: 'CA bundle (PEM) that client certificates must chain to' },
  { name: 'tlsRequireClientCert', kind: 'bool', default: false, help: 'mutual TLS: refuse clients without a certificate signed by tls-ca' },
  { name: 'bodyLimit', section: 'HTTP limits', kind: 'int', default: 16 * 1024 * 1024 + 64 * 1024, min: 1024, max: 1 << 30, help: 'largest request body, bytes (default: the 16 MiB value limit plus room for JSON)' },
  { name: 'requestTimeoutMs', kind: 'int', default: 30_000, min: 0, max: 3_600_000, help: 'time to receive a whole request, ms (0 = none)' },
  { name: 'keepAliveTimeoutMs', kind: 'int', default: 72_000, min: 0, max: 3_600_000, help: 'idle keep-alive connection timeout, ms' },
  { name: 'rateLimit', kind: 'int', default: 2_000_000, min: 0, max: 1e9, help: 'requests per minute per client IP, and per principal (user or API key); 0 = unlimited' },
  { name: 'loginRateLimit', kind: 'int', default: 20, min: 0, max: 1e6, help: 'login attempts per minute per IP; 0 = unlimited' },
  { name: 'trustProxy', kind: 'string', default: undefined, help: 'reverse proxies whose X-Forwarded-For is believed: addresses/CIDRs, comma-separated (or loopback, linklocal, uniquelocal); the client IP for rate limits, audit and API-key allowlists is then the first address in it not on this list. Unset: the peer address, X-Forwarded-For ignored' },
  { name: 'logLevel', section: 'Logs and metrics', kind: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', help: 'JSON log level (stdout)' },
  { name: 'accessLog', kind: 'bool', default: false, help: 'log every request and response (method, URL, status, time; never bodies or credentials)' },
  { name: 'metrics', kind: 'bool', default: true, help: 'serve Prometheus metrics at /metrics' },
  { name: 'metricsAuth', kind: ['none', 'token'], default: 'none', help: '/metrics open (none) or only for an API key or session of a user with the monitor or admin role (token); /health and /ready stay open' },
  { name: 'auditStream', kind: ['none', 'stdout', 'stderr'], default: 'none', help: 'also write every audit record this node commits as one JSON line ({"type":"audit",...}) to stdout or stderr, for a SIEM shipper; never passwords, tokens or key secrets' },
  {
    name: 'replicaOf', kind: 'string', default: undefined,
    section: 'Replication (docs/replication.md)\n'
      + '  A primary needs none of these: every kvstored serves its WAL to standbys whose key has the\n'
      + '  replicator role. A standby needs replica-of and an API key of a user with that role\n'
      + '  (kvctl user create repl --role replicator; kvctl apikey create s1 --owner repl).',
    help: 'a standby: follow the primary at this http(s)://host:port URL (unset: this node is a primary)',
  },
  { name: 'standbyId', kind: 'string', default: undefined, help: "a standby: its name on the primary (status, metrics, sync set), [A-Za-z0-9._-]{1,64} (default <hostname>-<port>)" },
  { name: 'replicationApiKey', kind: 'string', default: undefined, noFile: true, help: 'a standby: API key of a user with the replicator role, to stream from the primary (environment only; or replication-api-key-file)' },
  { name: 'replicationApiKeyFile', kind: 'path', default: undefined, help: 'a standby: file holding that API key' },
  { name: 'replicationCa', kind: 'path', default: undefined, help: "a standby: CA bundle (PEM) the primary's certificate must chain to (default: the system's CAs)" },
  { name: 'replicationCert', kind: 'path', default: undefined, help: 'a standby: client certificate (PEM) for a primary that requires mTLS' },
  { name: 'replicationKey', kind: 'path', default: undefined, help: "a standby: the client certificate's private key (PEM)" },
  { name: 'synchronousStandbys', kind: 'int', default: 0, min: 0, max: 64, help: 'acknowledge a write only after this many standbys fdatasynced it too (ANY N, 0..64; 0 = asynchronous); on a standby it takes effect when the standby is promoted' },
  { name: 'synchronousTimeoutMs', kind: 'int', default: 10_000, min: 1, max: 3_600_000, help: 'a primary with synchronous standbys: fail a write with SYNC_TIMEOUT after waiting this long for them, ms' },
  {
    name: 'standbyWrites', kind: ['forward', 'redirect', 'refuse'], default: 'forward',
    section: 'Routing on a standby (docs/replication.md, "Routing on a standby")',
    help: 'a write sent to a node that is not the primary: forward it to the primary and relay the answer, redirect (307 + Location), or refuse (READ_ONLY)',
  },
  { name: 'forwardTimeoutMs', kind: 'int', default: 30_000, min: 100, max: 3_600_000, help: 'a forwarded write: the most to wait for the primary\'s answer, ms (then OUTCOME_UNKNOWN); keep it above synchronous_timeout_ms' },
  { name: 'linearizableReadTimeoutMs', kind: 'int', default: 5_000, min: 10, max: 600_000, help: 'a consistency=linearizable read: the most to wait for the primary\'s read index, for this node to apply up to it and for what it read to be acknowledged, ms (then READ_INDEX_TIMEOUT)' },
  {
    name: 'cluster', kind: 'string', default: undefined,
    section: 'Cluster mode: automatic failover on etcd (docs/cluster.md)\n'
      + '  cluster, etcd, node-id and advertise-url together; replica-of does not go with them (etcd\n'
      + '  decides who is primary). Standbys stream with replication-api-key as above.',
    help: 'the cluster this node belongs to, [A-Za-z0-9._-]{1,64} (unset: no cluster mode)',
  },
  { name: 'etcd', kind: 'string', default: undefined, help: 'etcd endpoints, comma-separated http(s)://host:port URLs' },
  { name: 'etcdPrefix', kind: 'string', default: '/kvstore', help: "the cluster's keys in etcd are under <etcd-prefix>/<cluster>/" },
  { name: 'nodeId', kind: 'string', default: undefined, help: "this node's name in the cluster (and on the primary as a standby), [A-Za-z0-9._-]{1,64}" },
  { name: 'advertiseUrl', kind: 'string', default: undefined, help: 'the http(s)://host:port URL other nodes and clients reach this node at' },
  { name: 'clusterLeaseTtlMs', kind: 'int', default: 1000, min: 1000, max: 60_000, help: "leadership lease TTL, ms (etcd grants whole seconds, at least its minimum: about 1.5 x its election timeout, 2 s with etcd's defaults)" },
  { name: 'clusterRenewIntervalMs', kind: 'int', default: 200, min: 20, max: 10_000, help: 'lease renewal and cluster check interval, ms (well under the TTL)' },
  {
    name: 'archive', kind: 'string', default: undefined,
    section: 'Backups and WAL archiving (docs/backup.md)\n'
      + '  s3:// locations need the optional packages @aws-sdk/client-s3 and @aws-sdk/lib-storage;\n'
      + '  credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, instance role).',
    help: 'continuous WAL archiving to this directory or s3://bucket/prefix (a backup repository); unset = none',
  },
  { name: 'archivePartialIntervalS', kind: 'int', default: 60, min: 1, max: 86_400, help: 'with archive: ship the WAL written so far at least this often, seconds (bounds what a lost disk loses)' },
  { name: 'backupTo', kind: 'string', default: undefined, help: 'backup repository (directory or s3://bucket/prefix) for backup_schedule and for POST /v1/admin/backup without a target' },
  { name: 'backupSchedule', kind: 'string', default: undefined, help: 'take a base backup to backup_to at this interval ("30m", "6h", "1d"); unset = none' },
  { name: 'backupKeep', kind: 'int', default: 0, min: 0, max: 100_000, help: 'after each scheduled backup keep this many newest backups (and the archived WAL they need); 0 = keep all' },
  { name: 'backupMaxMbPerS', kind: 'int', default: 30, min: 0, max: 100_000, help: 'read at most this many MB/s while taking a base backup (scheduled or admin), so writes keep their CPU and disk (docs/backup.md, Performance); 0 = no limit' },
  { name: 's3Endpoint', kind: 'string', default: undefined, help: 'endpoint of an S3-compatible store (http(s)://host:port); unset = AWS' },
  { name: 's3ForcePathStyle', kind: 'bool', default: false, help: 'path-style S3 addressing (always on when s3_endpoint is set)' },
  { name: 's3Region', kind: 'string', default: undefined, help: 'S3 region (default AWS_REGION, else us-east-1)' },
];

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (f: Field): string => `KVSTORE_${snake(f.name).toUpperCase()}`;
export const flagName = (f: Field): string => `--${kebab(f.name)}`;
export const fileKey = (f: Field): string => snake(f.name);

function bad(field: Field, from: string, why: string): KvError {
  return new KvError('INVALID_ARGUMENT', `config: ${fileKey(field)} (from ${from}) ${why}`);
}

function convert(field: Field, raw: unknown, from: string): string | number | boolean {
  const k = field.kind;
  if (Array.isArray(k)) {
    if (typeof raw !== 'string' || !k.includes(raw)) throw bad(field, from, `must be one of ${k.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw;
  }
  switch (k) {
    case 'string':
    case 'path':
      if (typeof raw !== 'string' || raw.length === 0) throw bad(field, from, `must be a non-empty string, got ${JSON.stringify(raw)}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw bad(field, from, `must be true or false, got ${JSON.stringify(raw)}`);
    case 'int': {
      const n = typeof raw === 'number' || typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < (field.min ?? -Infinity) || n > (field.max ?? Infinity)) {
        throw bad(field, from, `must be an integer in [${field.min}, ${field.max}], got ${JSON.stringify(typeof raw === 'bigint' ? String(raw) : raw)}`);
      }
      if (field.powerOfTwo && (n & (n - 1)) !== 0) throw bad(field, from, `must be a power of two, got ${n}`);
      return n;
    }
  }
  throw bad(field, from, 'has an unknown kind');
}

export interface Parsed {
  config: ServerConfig;
  help: boolean;
  /** --version / -V: print the package version and exit. */
  version: boolean;
  /** Where each setting came from, for the start-up log (never the secret values). */
  sources: Record<string, string>;
}

/** Resolves the configuration from argv (without node and script), the environment, and the file they name. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Parsed {
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const f of FIELDS) if (f.default !== undefined) (values[f.name] = f.default, sources[f.name] = 'default');

  // Flags first parsed (but applied last), to find --config and --help.
  const flags = new Map<Field, string>();
  let configFile = env.KVSTORE_CONFIG;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--version' || a === '-V') {
      version = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (name === '--config') {
      configFile = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (!configFile) throw new KvError('INVALID_ARGUMENT', 'config: --config needs a file name');
      continue;
    }
    const field = FIELDS.find((f) => flagName(f) === name || (f.kind === 'bool' && name === `--no-${kebab(f.name)}`));
    if (!field) throw new KvError('UNKNOWN_OPTION', `config: unknown flag ${name}; see --help`);
    if (field.kind === 'bool' && eq < 0) {
      flags.set(field, name.startsWith('--no-') ? 'false' : 'true');
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new KvError('INVALID_ARGUMENT', `config: ${name} needs a value`);
    flags.set(field, v);
  }
  if (help || version) return { config: values as unknown as ServerConfig, help, version, sources };

  if (configFile) {
    let text: string;
    try {
      text = fs.readFileSync(configFile, 'utf8');
    } catch (err) {
      throw new KvError('INVALID_ARGUMENT', `config: cannot read ${configFile}: ${(err as Error).message}`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new KvError('INVALID_ARGUMENT', `config: ${configFile} is not valid TOML: ${(err as Error).message}`);
    }
    for (const [key, raw] of Object.entries(doc)) {
      const field = FIELDS.find((f) => fileKey(f) === key);
      if (!field) throw new KvError('UNKNOWN_OPTION', `config: unknown setting ${JSON.stringify(key)} in ${configFile}`);
      if (field.noFile) throw new KvError('INVALID_ARGUMENT', `config: ${key} may not be in a file; use ${envName(field)} or ${fileKey(field)}_file`);
      values[field.name] = convert(field, raw, configFile);
      sources[field.name] = configFile;
    }
  }
  for (const f of FIELDS) {
    const raw = env[envName(f)];
    if (raw !== undefined && raw !== '') {
      values[f.name] = convert(f, raw, envName(f));
      sources[f.name] = envName(f);
    }
  }
  for (const [f, raw] of flags) {
    if (f.noFile) throw new KvError('INVALID_ARGUMENT', `config: ${flagName(f)} would show the secret in the process list; use ${envName(f)} or ${flagName(f)}-file`);
    values[f.name] = convert(f, raw, flagName(f));
    sources[f.name] = flagName(f);
  }
  const config = values as unknown as ServerConfig;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new KvError('INVALID_ARGUMENT', 'config: tls_cert and tls_key go together');
  }
  if (config.replicaOf !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(config.replicaOf);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new KvError('INVALID_ARGUMENT', `config: replica_of must be an http(s) URL, got ${JSON.stringify(config.replicaOf)}`);
  }
  parseTrustProxy(config.trustProxy);
  if (config.standbyId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(config.standbyId)) {
    throw new KvError('INVALID_ARGUMENT', 'config: standby_id must be 1..64 of A-Z a-z 0-9 . _ -');
  }
  if ((config.replicationCert === undefined) !== (config.replicationKey === undefined)) {
    throw new KvError('INVALID_ARGUMENT', 'config: replication_cert and replication_key go together');
  }
  if (config.cluster !== undefined || config.etcd !== undefined || config.nodeId !== undefined || config.advertiseUrl !== undefined) checkCluster(config);
  if (config.tlsRequireClientCert && (!config.tlsCa || !config.tlsCert)) {
    throw new KvError('INVALID_ARGUMENT', 'config: tls_require_client_cert needs tls_ca, tls_cert and tls_key');
  }
  if (config.auditStream !== 'none' && !config.auth) {
    throw new KvError('INVALID_ARGUMENT', `config: audit_stream = ${config.auditStream} needs authentication on (with auth off there is no audit log to stream)`);
  }
  if (config.backupSchedule !== undefined) {
    parseInterval(config.backupSchedule);
    if (config.backupTo === undefined) throw new KvError('INVALID_ARGUMENT', 'config: backup_schedule needs backup_to (where the backups go)');
  }
  return { config, help, version, sources };
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;

function httpUrl(field: string, value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new KvError('INVALID_ARGUMENT', `config: ${field} must be http(s) URLs, got ${JSON.stringify(value)}`);
  return url;
}

function checkCluster(config: ServerConfig): void {
  for (const [field, v] of [['cluster', config.cluster], ['etcd', config.etcd], ['node_id', config.nodeId], ['advertise_url', config.advertiseUrl]] as const) {
    if (v === undefined) throw new KvError('INVALID_ARGUMENT', `config: cluster mode needs cluster, etcd, node_id and advertise_url; ${field} is missing`);
  }
  if (config.replicaOf !== undefined) throw new KvError('INVALID_ARGUMENT', 'config: replica_of does not go with cluster mode: etcd decides which node is the primary');
  if (!ID.test(config.cluster!)) throw new KvError('INVALID_ARGUMENT', 'config: cluster must be 1..64 of A-Z a-z 0-9 . _ -');
  if (!ID.test(config.nodeId!)) throw new KvError('INVALID_ARGUMENT', 'config: node_id must be 1..64 of A-Z a-z 0-9 . _ -');
  if (config.standbyId !== undefined && config.standbyId !== config.nodeId) throw new KvError('INVALID_ARGUMENT', 'config: in cluster mode a node\'s standby id is its node_id; leave standby_id unset');
  for (const e of config.etcd!.split(',')) httpUrl('etcd', e.trim());
  const adv = httpUrl('advertise_url', config.advertiseUrl!);
  if (adv.pathname !== '/' || adv.search !== '') throw new KvError('INVALID_ARGUMENT', 'config: advertise_url is a base URL (scheme, host, port), without a path');
  if (!config.etcdPrefix.startsWith('/')) throw new KvError('INVALID_ARGUMENT', 'config: etcd_prefix must start with /');
  if (config.clusterRenewIntervalMs * 3 > config.clusterLeaseTtlMs) throw new KvError('INVALID_ARGUMENT', `config: cluster_renew_interval_ms (${config.clusterRenewIntervalMs}) must be at most a third of cluster_lease_ttl_ms (${config.clusterLeaseTtlMs})`);
}

export function helpText(): string {
  const lines = [
    'kvstored — the KVStore++ server',
    '',
    'Usage: kvstored [--config file.toml] [flags]',
    '       kvstored --version | --help',
    '',
    'Each setting comes from (later wins): its default, the TOML file (--config or',
    'KVSTORE_CONFIG), the environment variable, the flag. Booleans take --flag / --no-flag.',
  ];
  for (const f of FIELDS) {
    if (f.section !== undefined) lines.push('', f.section);
    const kind = Array.isArray(f.kind) ? f.kind.join('|') : f.kind;
    const dflt = f.default === undefined ? '' : ` (default ${String(f.default)})`;
    lines.push(`  ${(f.noFile ? envName(f) : `${flagName(f)} <${kind}>`).padEnd(34)} ${f.help}${dflt}`);
    lines.push(`  ${''.padEnd(34)} file: ${f.noFile ? '—' : fileKey(f)}   env: ${envName(f)}`);
  }
  return lines.join('\n');
}
