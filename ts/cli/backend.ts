/**
 * One interface for what kvctl does, two ways to do it: RemoteBackend talks to kvstored over
 * HTTP (online), LocalBackend (local-backend.ts) opens the data directory itself (offline).
 * The commands in kvctl.ts are written once against this interface.
 */
import type { Manifest } from '../backup/manifest.js';
import type { S3Settings } from '../backup/repo.js';
import type { ApiKeyInfo, ApiKeyOptions, AuditEntry, AuditPage, GrantSpec, Permission, RoleInfo, UserInfo } from '../auth/service.js';
import { CliError } from './common.js';
import type { ApiClient } from './http-api.js';

export interface ValueEntry {
  value: Buffer;
  version: string;
  /** ms since the epoch */
  expiresAt?: number;
}

export interface PutSpec {
  ttlSec?: number;
  /** Compare-and-swap on this version; 0n = only if absent. */
  ifVersion?: bigint;
}

/** Ordered name → value pairs (status), printed as a field list or a JSON object. */
export type StatusInfo = Record<string, string | number | boolean | null>;

export interface Backend {
  /** "http://host:port" or "data directory /path" — for messages. */
  readonly where: string;
  createUser(name: string, opts: { password?: string; roles?: string[] }): Promise<UserInfo>;
  listUsers(): Promise<UserInfo[]>;
  setPassword(name: string, password: string): Promise<void>;
  lockUser(name: string, reason: string): Promise<void>;
  unlockUser(name: string): Promise<void>;
  dropUser(name: string): Promise<void>;
  grant(spec: GrantSpec): Promise<void>;
  revoke(spec: GrantSpec): Promise<void>;
  createRole(name: string, opts: { permissions?: Permission[]; memberOf?: string[] }): Promise<RoleInfo>;
  listRoles(): Promise<RoleInfo[]>;
  dropRole(name: string): Promise<void>;
  createApiKey(owner: string, opts: ApiKeyOptions): Promise<{ record: ApiKeyInfo; token: string }>;
  listApiKeys(owner?: string): Promise<ApiKeyInfo[]>;
  revokeApiKey(name: string): Promise<void>;
  audit(opts: { limit?: number; before?: string }): Promise<AuditPage>;
  /** Audit entries oldest first, from a time (ms) and/or after an entry id; at most `limit`. */
  readAudit(opts: { since?: number; after?: string; limit: number }): Promise<AuditEntry[]>;
  get(key: string): Promise<ValueEntry | null>;
  put(key: string, value: Buffer, spec: PutSpec): Promise<{ version: string }>;
  del(key: string, ifVersion?: bigint): Promise<boolean>;
  incr(key: string, by: bigint): Promise<string>;
  /** Calls onKey for each key under prefix in order until it returns false. */
  scanKeys(prefix: string, onKey: (key: Buffer) => boolean): Promise<void>;
  checkpoint(): Promise<{ redoLsn: string }>;
  /** A base backup to a directory or s3:// location (docs/backup.md): the server's, or this process's, store. */
  backup(to: string, s3: S3Settings): Promise<Manifest>;
  status(): Promise<StatusInfo>;
  close(): Promise<void>;
}

const enc = encodeURIComponent;

export class RemoteBackend implements Backend {
  readonly where: string;
  constructor(private readonly api: ApiClient) {
    this.where = api.url;
  }

  async createUser(name: string, opts: { password?: string; roles?: string[] }): Promise<UserInfo> {
    return this.api.json<UserInfo>('POST', '/v1/admin/users', { json: { name, ...opts } });
  }
  async listUsers(): Promise<UserInfo[]> {
    return (await this.api.json<{ users: UserInfo[] }>('GET', '/v1/admin/users')).users;
  }
  async setPassword(name: string, password: string): Promise<void> {
    await this.api.request('POST', `/v1/admin/users/${enc(name)}/password`, { json: { password } });
  }
  async lockUser(name: string, reason: string): Promise<void> {
    await this.api.request('POST', `/v1/admin/users/${enc(name)}/lock`, { json: { reason } });
  }
  async unlockUser(name: string): Promise<void> {
    await this.api.request('POST', `/v1/admin/users/${enc(name)}/unlock`);
  }
  async dropUser(name: string): Promise<void> {
    await this.api.request('DELETE', `/v1/admin/users/${enc(name)}`);
  }
  async grant(spec: GrantSpec): Promise<void> {
    await this.api.request('POST', '/v1/admin/grant', { json: spec });
  }
  async revoke(spec: GrantSpec): Promise<void> {
    await this.api.request('POST', '/v1/admin/revoke', { json: spec });
  }
  async createRole(name: string, opts: { permissions?: Permission[]; memberOf?: string[] }): Promise<RoleInfo> {
    return this.api.json<RoleInfo>('POST', '/v1/admin/roles', { json: { name, ...opts } });
  }
  async listRoles(): Promise<RoleInfo[]> {
    return (await this.api.json<{ roles: RoleInfo[] }>('GET', '/v1/admin/roles')).roles;
  }
  async dropRole(name: string): Promise<void> {
    await this.api.request('DELETE', `/v1/admin/roles/${enc(name)}`);
  }
  async createApiKey(owner: string, opts: ApiKeyOptions): Promise<{ record: ApiKeyInfo; token: string }> {
    const { expiresAt, ...rest } = opts;
    return this.api.json('POST', '/v1/admin/apikeys', { json: { owner, ...rest, ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }) } });
  }
  async listApiKeys(owner?: string): Promise<ApiKeyInfo[]> {
    return (await this.api.json<{ apiKeys: ApiKeyInfo[] }>('GET', '/v1/admin/apikeys', { query: { owner } })).apiKeys;
  }
  async revokeApiKey(name: string): Promise<void> {
    await this.api.request('DELETE', `/v1/admin/apikeys/${enc(name)}`);
  }
  async audit(opts: { limit?: number; before?: string }): Promise<AuditPage> {
    return this.api.json<AuditPage>('GET', '/v1/admin/audit', { query: opts });
  }
  async readAudit(opts: { since?: number; after?: string; limit: number }): Promise<AuditEntry[]> {
    return (await this.api.json<{ entries: AuditEntry[] }>('GET', '/v1/admin/audit/export', { query: opts })).entries;
  }
  async get(key: string): Promise<ValueEntry | null> {
    const r = await this.api.request('GET', `/v1/kv/${enc(key)}`, { accept: [404] });
    if (r.status === 404) {
      const code = (JSON.parse(r.body.toString('utf8') || '{}') as { code?: string }).code;
      if (code === 'NOT_FOUND') return null;
      throw new CliError(code ?? 'NOT_FOUND', 'not found');
    }
    const etag = r.headers.get('etag') ?? '';
    const exp = r.headers.get('x-expires-at');
    return { value: r.body, version: etag.replace(/^(W\/)?"|"$/g, ''), ...(exp ? { expiresAt: Date.parse(exp) } : {}) };
  }
  async put(key: string, value: Buffer, spec: PutSpec): Promise<{ version: string }> {
    const headers: Record<string, string> = {};
    if (spec.ifVersion === 0n) headers['if-none-match'] = '*';
    else if (spec.ifVersion !== undefined) headers['if-match'] = `"${spec.ifVersion}"`;
    return this.api.json('PUT', `/v1/kv/${enc(key)}`, { body: value, headers, query: { ttl: spec.ttlSec } });
  }
  async del(key: string, ifVersion?: bigint): Promise<boolean> {
    const r = await this.api.request('DELETE', `/v1/kv/${enc(key)}`, { accept: [404], headers: ifVersion === undefined ? {} : { 'if-match': `"${ifVersion}"` } });
    return r.status !== 404;
  }
  async incr(key: string, by: bigint): Promise<string> {
    return (await this.api.json<{ value: string }>('POST', `/v1/kv/${enc(key)}/incr`, { query: { by: String(by) } })).value;
  }
  async scanKeys(prefix: string, onKey: (key: Buffer) => boolean): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.api.json<{ items: Array<{ key?: string; keyBase64?: string }>; cursor?: string }>('GET', '/v1/kv', { query: { prefix, limit: 1000, cursor } });
      for (const it of page.items) {
        const k = it.key !== undefined ? Buffer.from(it.key, 'utf8') : Buffer.from(it.keyBase64 ?? '', 'base64');
        if (!onKey(k)) return;
      }
      cursor = page.cursor;
    } while (cursor);
  }
  async backup(to: string): Promise<Manifest> {
    // The server writes the backup, with its own S3 settings and credentials.
    return this.api.json('POST', '/v1/admin/backup', { json: { to } });
  }

  async checkpoint(): Promise<{ redoLsn: string }> {
    return this.api.json('POST', '/v1/admin/checkpoint');
  }
  async status(): Promise<StatusInfo> {
    const ready = await this.api.request('GET', '/ready', { accept: [503] });
    const r = JSON.parse(ready.body.toString('utf8') || '{}') as { status?: string; engine?: string; auth?: boolean };
    const s = await this.api.json<{
      engine: string; durability: string; keys: number; nextLsn: string; durableLsn: string; walBytes: number; walSegments: number;
      lastCheckpointLsn: string; lastCheckpointTimeMs?: number; checkpoints: number; fsyncs: number; maxGroupCommit: number; expired: number; catalogKeys?: number;
      memory: { rss: number; heapUsed: number; external: number };
    }>('GET', '/v1/admin/stats');
    return {
      source: this.where,
      state: r.status ?? `HTTP ${ready.status}`,
      recovery: ready.status === 200 ? 'complete (the server is serving)' : 'not serving',
      engine: s.engine,
      durability: s.durability,
      auth: r.auth ?? null,
      keys: s.keys,
      // data keys: every entry but the catalog's (expired ones not yet swept included); an older server does not say
      dataKeys: s.catalogKeys === undefined ? null : s.keys - s.catalogKeys,
      nextLsn: s.nextLsn,
      durableLsn: s.durableLsn,
      walBytes: s.walBytes,
      walSegments: s.walSegments,
      lastCheckpointLsn: s.lastCheckpointLsn,
      // ms since the epoch, 0 before the first checkpoint; an older server does not say
      lastCheckpointTime: s.lastCheckpointTimeMs ? new Date(s.lastCheckpointTimeMs).toISOString() : null,
      checkpoints: s.checkpoints,
      fsyncs: s.fsyncs,
      maxGroupCommit: s.maxGroupCommit,
      expiredSwept: s.expired,
      memoryRss: s.memory.rss,
      memoryHeapUsed: s.memory.heapUsed,
      memoryExternal: s.memory.external,
    };
  }
  async close(): Promise<void> {
    await this.api.close();
  }
}
