/**
 * Offline kvctl: opens the data directory with the library itself (recovery included) and
 * calls the store and AuthService directly, as `actor` "kvctl:<os user>" in the audit log.
 * The directory's LOCK decides: while a server (or any process) holds it, opening fails and
 * the command says to go through the server with --url instead.
 *
 * Loaded with a dynamic import so that online commands never load the storage engine.
 */
import type { Manifest } from '../backup/manifest.js';
import type { S3Settings } from '../backup/repo.js';
import os from 'node:os';
import { AuthService, type ApiKeyInfo, type ApiKeyOptions, type AuditEntry, type AuditPage, type GrantSpec, type Permission, type RoleInfo, type UserInfo } from '../auth/service.js';
import type { EngineKind } from '../store/options.js';
import { type Store, open } from '../store/store.js';
import type { Backend, PutSpec, StatusInfo, ValueEntry } from './backend.js';
import { CliError } from './common.js';
import { listSegments, lockHolder, readControl, requireDir } from './datadir.js';

export class LocalBackend implements Backend {
  readonly where: string;
  #auth: AuthService | null = null;
  readonly #ctx = { actor: `kvctl:${safeUser()}` };

  private constructor(
    readonly dir: string,
    private readonly store: Store,
    readonly recoveryLog: string[],
    readonly openMs: number,
  ) {
    this.where = `data directory ${dir}`;
  }

  /** Opens dir; `create` allows a directory that does not exist yet (user create on a new store). */
  static async open(dir: string, engine: EngineKind, create: boolean): Promise<LocalBackend> {
    if (!create) requireDir(dir);
    const held = lockHolder(dir);
    if (held !== null && held !== process.pid) throw lockedBy(dir, held);
    const log: string[] = [];
    const t0 = performance.now();
    try {
      const store = await open({ dir, engine, onLog: (level, message) => void log.push(`${level}: ${message}`) });
      return new LocalBackend(dir, store, log, performance.now() - t0);
    } catch (err) {
      if ((err as { code?: string }).code === 'LOCKED') throw lockedBy(dir, lockHolder(dir));
      throw err;
    }
  }

  async #a(): Promise<AuthService> {
    this.#auth ??= await AuthService.open(this.store);
    return this.#auth;
  }

  async createUser(name: string, opts: { password?: string; roles?: string[] }): Promise<UserInfo> {
    return (await this.#a()).createUser(name, opts, this.#ctx);
  }
  async listUsers(): Promise<UserInfo[]> {
    return (await this.#a()).listUsers();
  }
  async setPassword(name: string, password: string): Promise<void> {
    await (await this.#a()).setPassword(name, password, this.#ctx);
  }
  async lockUser(name: string, reason: string): Promise<void> {
    await (await this.#a()).lockUser(name, reason, this.#ctx);
  }
  async unlockUser(name: string): Promise<void> {
    await (await this.#a()).unlockUser(name, this.#ctx);
  }
  async dropUser(name: string): Promise<void> {
    await (await this.#a()).dropUser(name, this.#ctx);
  }
  async grant(spec: GrantSpec): Promise<void> {
    await (await this.#a()).grant(spec, this.#ctx);
  }
  async revoke(spec: GrantSpec): Promise<void> {
    await (await this.#a()).revoke(spec, this.#ctx);
  }
  async createRole(name: string, opts: { permissions?: Permission[]; memberOf?: string[] }): Promise<RoleInfo> {
    return (await this.#a()).createRole(name, opts, this.#ctx);
  }
  async listRoles(): Promise<RoleInfo[]> {
    return (await this.#a()).listRoles();
  }
  async dropRole(name: string): Promise<void> {
    await (await this.#a()).dropRole(name, this.#ctx);
  }
  async createApiKey(owner: string, opts: ApiKeyOptions): Promise<{ record: ApiKeyInfo; token: string }> {
    return (await this.#a()).createApiKey(owner, opts, this.#ctx);
  }
  async listApiKeys(owner?: string): Promise<ApiKeyInfo[]> {
    return (await this.#a()).listApiKeys(owner === undefined ? {} : { owner });
  }
  async revokeApiKey(name: string): Promise<void> {
    await (await this.#a()).revokeApiKey(name, this.#ctx);
  }
  async audit(opts: { limit?: number; before?: string }): Promise<AuditPage> {
    return (await this.#a()).listAudit(opts);
  }
  async readAudit(opts: { since?: number; after?: string; limit: number }): Promise<AuditEntry[]> {
    return [...(await this.#a()).readAudit(opts)];
  }
  async get(key: string): Promise<ValueEntry | null> {
    const e = this.store.getEntry(key);
    if (!e) return null;
    return { value: e.value, version: String(e.version), ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }) };
  }
  async put(key: string, value: Buffer, spec: PutSpec): Promise<{ version: string }> {
    const { version } = await this.store.put(key, value, {
      ...(spec.ttlSec === undefined ? {} : { ttlMs: spec.ttlSec * 1000 }),
      ...(spec.ifVersion === undefined ? {} : { ifVersion: spec.ifVersion }),
    });
    return { version: String(version) };
  }
  async del(key: string, ifVersion?: bigint): Promise<boolean> {
    return (await this.store.delete(key, ifVersion === undefined ? {} : { ifVersion })).deleted;
  }
  async incr(key: string, by: bigint): Promise<string> {
    return String(await this.store.incr(key, by));
  }
  async scanKeys(prefix: string, onKey: (key: Buffer) => boolean): Promise<void> {
    for (const [k] of this.store.scan(prefix === '' ? {} : { prefix })) if (!onKey(k)) return;
  }
  async backup(to: string, s3: S3Settings): Promise<Manifest> {
    return this.store.backup(to, { s3 });
  }

  async checkpoint(): Promise<{ redoLsn: string }> {
    return { redoLsn: String((await this.store.checkpoint()).redoLsn) };
  }
  async status(): Promise<StatusInfo> {
    const s = this.store.stats();
    const control = readControl(this.dir);
    const mem = process.memoryUsage();
    const warnings = this.recoveryLog.filter((l) => !l.startsWith('info:'));
    return {
      source: this.where,
      state: 'offline (opened by kvctl; no server holds the directory)',
      recovery: `complete in ${this.openMs.toFixed(0)} ms${warnings.length ? `; ${warnings.join('; ')}` : ', clean'}`,
      engine: s.engine,
      durability: s.durability,
      keys: s.keys,
      dataKeys: this.store.count(),
      nextLsn: String(s.nextLsn),
      durableLsn: String(s.durableLsn),
      walBytes: listSegments(this.dir).reduce((n, seg) => n + seg.bytes, 0),
      walSegments: listSegments(this.dir).length,
      lastCheckpointLsn: String(s.lastCheckpointLsn),
      lastCheckpointTime: control ? new Date(control.checkpointTimeMs).toISOString() : null,
      checkpoints: s.checkpoints,
      memoryRss: mem.rss,
      memoryHeapUsed: mem.heapUsed,
      memoryExternal: mem.external,
    };
  }
  async close(): Promise<void> {
    try {
      await this.#auth?.close();
    } finally {
      await this.store.close();
    }
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

function lockedBy(dir: string, pid: number | null): CliError {
  return new CliError(
    'LOCKED',
    `${dir} is held by a running process${pid ? ` (pid ${pid}, see ${dir}/LOCK)` : ''}: offline commands cannot open it. ` +
      'Go through the server with --url (or KVCTL_URL), or stop the server first. (wal inspect, wal tail and snapshot list only read and work either way.)',
  );
}
