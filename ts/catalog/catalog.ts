/**
 * The system catalog: users, roles, grants, API keys, signing keys, settings and the audit
 * log as `_sys.` entries of the store (schema.ts), mirrored in memory for microsecond reads.
 *
 * Writes: every change is one store batch (the records, the index entries derived from them,
 * the audit records and their stats, the epoch and the lock), so after a crash all of it is
 * there or none of it, and the in-memory copy changes only after the batch is durable.
 * Changes of one copy run one at a time (a promise chain); changes of copies in different
 * threads are serialised by the commit lock (commit.ts): a plan always runs against the
 * state every earlier change left, so a read-modify-write is never lost.
 *
 * Reads: one Catalog per Store object, so every AuthService on a store sees a change the
 * moment it is durable. A copy in another worker thread (its own Store on the shared native
 * engine) is checked against `_sys.catalog:epoch`, whose version (an LSN) moves with every
 * change that affects access, at most once a millisecond: such a change made in one thread
 * is seen in the others within 1 ms, and before any change they make.
 */
import { KvError } from '../errors.js';
import type { BatchOperation, Store } from '../store/store.js';
import { type SystemView, systemView } from '../store/store.js';
import {
  type ApiKeyRecord, type AuditRecord, type AuditStats, type AuthSettings, type KeyringRecord, type RoleRecord, type SigningKeyRecord, type UserRecord,
  BUILTIN_ROLES, CATALOG_VERSION, DEFAULT_SETTINGS, FIRST_USER_OID, KEYS, PREFIXES, decode, encode,
} from './schema.js';
import { type AuditEntry, type AuditPage, type AuditReadOptions, type PruneItem, EMPTY_STATS, appendAudit, countAudit, listAudit, readAudit, statsOps } from './audit-log.js';
import { LEASE_MS, acquire, backoff, held, lockValue, readLock } from './commit.js';

export type { AuditEntry, AuditPage, AuditReadOptions } from './audit-log.js';

export interface CatalogState {
  readonly users: ReadonlyMap<string, UserRecord>;
  readonly roles: ReadonlyMap<string, RoleRecord>;
  /** By id. */
  readonly apiKeys: ReadonlyMap<string, ApiKeyRecord>;
  /** Name → id. */
  readonly apiKeyNames: ReadonlyMap<string, string>;
  readonly signingKeys: ReadonlyMap<string, SigningKeyRecord>;
  readonly settings: AuthSettings;
  /** The next free oid for a user or role. */
  readonly nextOid: number;
  /** Absent: the catalog has not been created yet (only a bootstrap plan sees that). */
  readonly version: number | null;
  /** Which master key seals the secrets; null while none does (catalog version 1). */
  readonly keyring: KeyringRecord | null;
  readonly auditStats: AuditStats;
}

export type CatalogChange =
  | { put: 'user'; record: UserRecord }
  | { del: 'user'; name: string }
  | { put: 'role'; record: RoleRecord }
  | { del: 'role'; name: string }
  | { put: 'apiKey'; record: ApiKeyRecord }
  | { del: 'apiKey'; id: string }
  | { put: 'signingKey'; record: SigningKeyRecord }
  | { del: 'signingKey'; kid: string }
  | { put: 'settings'; record: AuthSettings }
  | { put: 'keyring'; record: KeyringRecord }
  | { put: 'version'; version: number; createdAt: number };

export type AuditInput = Omit<AuditRecord, 'at' | 'ip' | 'actor'> & { actor?: string; ip?: string | null };

export interface Mutation<T> {
  changes: CatalogChange[];
  audit: AuditInput[];
  result: T;
  /**
   * false for changes that do not affect access (an API key's last-used time): other copies
   * need not reload for them. Default true.
   */
  bumpEpoch?: boolean;
  /** Audit records to delete (retention), oldest first. */
  prune?: PruneItem[];
}

interface MutableState {
  users: Map<string, UserRecord>;
  roles: Map<string, RoleRecord>;
  apiKeys: Map<string, ApiKeyRecord>;
  apiKeyNames: Map<string, string>;
  signingKeys: Map<string, SigningKeyRecord>;
  settings: AuthSettings;
  nextOid: number;
  version: number | null;
  keyring: KeyringRecord | null;
  auditStats: AuditStats;
}

function* entries(sys: SystemView, prefix: string): Generator<[string, Buffer]> {
  for (const [k, v] of sys.scan({ prefix })) yield [k.toString('utf8'), v];
}

export class Catalog {
  readonly #sys: SystemView;
  #state: MutableState;
  #epochVersion = -1n;
  /** The lock's version this copy was loaded at (or last committed): a mutation reloads when it moved. */
  #lockVersion = -1n;
  #generation = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #checkedAt = -Infinity;
  readonly #listeners = new Set<(entries: readonly AuditEntry[]) => void>();
  static readonly #byStore = new WeakMap<Store<unknown, unknown>, Promise<Catalog>>();

  private constructor(sys: SystemView) {
    this.#sys = sys;
    this.#state = this.#reload();
  }

  /**
   * Opens the catalog of `store`, creating it on first use (catalog version, the built-in
   * roles, default settings, a first signing key from `firstSigningKey`, sealed when it
   * returns a keyring). No user is created: there is no default password.
   */
  static open(store: Store<unknown, unknown>, firstSigningKey: () => { key: SigningKeyRecord; keyring: KeyringRecord | null }): Promise<Catalog> {
    let p = Catalog.#byStore.get(store);
    if (!p) {
      p = Catalog.#open(store, firstSigningKey);
      Catalog.#byStore.set(store, p);
      p.catch(() => Catalog.#byStore.delete(store));
    }
    return p;
  }

  static async #open(store: Store<unknown, unknown>, firstSigningKey: () => { key: SigningKeyRecord; keyring: KeyringRecord | null }): Promise<Catalog> {
    const sys = systemView(store);
    const version = sys.get(KEYS.version);
    if (version !== undefined) {
      const v = decode('version', KEYS.version, version);
      if (v.version > CATALOG_VERSION) {
        throw new KvError('CATALOG_VERSION', `the catalog is version ${v.version}; this release understands up to ${CATALOG_VERSION}`);
      }
      // A built-in role added by a later release (replicator) is created on the first open
      // that can write; a read-only standby gets it through replication from its primary.
      const now = sys.now();
      const missing = BUILTIN_ROLES.filter((r) => sys.get(KEYS.role(r.name)) === undefined);
      if (missing.length > 0) {
        const ops: BatchOperation[] = missing.map((r) => ({ type: 'put', key: KEYS.role(r.name), value: encode({ ...r, createdAt: now }) }));
        ops.push({ type: 'put', key: KEYS.epoch, value: encode({ at: now }) });
        ops.push({ type: 'put', key: KEYS.audit(now, 0), value: encode({ at: now, actor: 'system', action: 'catalog.upgrade', target: 'catalog', ip: null, ok: true, detail: `built-in roles added: ${missing.map((r) => r.name).join(', ')}` } satisfies AuditRecord) });
        try {
          await sys.batch(ops);
        } catch (err) {
          if ((err as KvError).code !== 'READ_ONLY') throw err;
        }
      }
    }
    const c = new Catalog(sys);
    if (version === undefined) {
      // Through the commit lock: two threads opening a fresh directory bootstrap it once.
      const first = firstSigningKey();
      await c.mutate((s) => {
        if (s.version !== null) return { changes: [], audit: [], result: undefined };
        const now = sys.now();
        const changes: CatalogChange[] = [
          { put: 'version', version: first.keyring ? CATALOG_VERSION : 1, createdAt: now },
          { put: 'settings', record: DEFAULT_SETTINGS },
          { put: 'signingKey', record: first.key },
          ...BUILTIN_ROLES.map((r): CatalogChange => ({ put: 'role', record: { ...r, createdAt: now } })),
          ...(first.keyring ? [{ put: 'keyring', record: first.keyring } as const] : []),
        ];
        return { changes, audit: [{ actor: 'system', action: 'catalog.bootstrap', target: 'catalog', ok: true, detail: `version ${first.keyring ? CATALOG_VERSION : 1}` }], result: undefined };
      });
    }
    return c;
  }

  /** Reads every table into a fresh copy; records the lock and epoch versions first, so a change landing meanwhile makes the next look reload again. */
  #reload(): MutableState {
    const sys = this.#sys;
    this.#lockVersion = readLock(sys).version;
    this.#epochVersion = sys.getEntry(KEYS.epoch)?.version ?? 0n;
    const s: MutableState = {
      users: new Map(), roles: new Map(), apiKeys: new Map(), apiKeyNames: new Map(), signingKeys: new Map(),
      settings: DEFAULT_SETTINGS, nextOid: FIRST_USER_OID, version: null, keyring: null, auditStats: EMPTY_STATS,
    };
    for (const [k, v] of entries(sys, PREFIXES.users)) {
      const u = decode('user', k, v);
      s.users.set(u.name, u);
      s.nextOid = Math.max(s.nextOid, u.oid + 1);
    }
    for (const [k, v] of entries(sys, PREFIXES.roles)) {
      const r = decode('role', k, v);
      s.roles.set(r.name, r);
      s.nextOid = Math.max(s.nextOid, r.oid + 1);
    }
    for (const [k, v] of entries(sys, PREFIXES.apiKeys)) {
      const a = decode('apiKey', k, v);
      s.apiKeys.set(a.id, a);
      s.apiKeyNames.set(a.name, a.id);
    }
    for (const [k, v] of entries(sys, PREFIXES.signingKeys)) {
      const sk = decode('signingKey', k, v);
      s.signingKeys.set(sk.kid, sk);
    }
    const settings = sys.get(KEYS.settings);
    if (settings) s.settings = { ...DEFAULT_SETTINGS, ...decode('settings', KEYS.settings, settings) };
    const version = sys.get(KEYS.version);
    if (version) s.version = decode('version', KEYS.version, version).version;
    const keyring = sys.get(KEYS.keyring);
    if (keyring) s.keyring = decode('keyring', KEYS.keyring, keyring);
    const stats = sys.get(KEYS.auditStats);
    s.auditStats = stats ? decode('auditStats', KEYS.auditStats, stats) : countAudit(sys);
    this.#generation++;
    return s;
  }

  get state(): CatalogState {
    return this.#state;
  }

  /** Moves whenever the in-memory copy changes; caches built from it compare against it. */
  get generation(): number {
    return this.#generation;
  }

  /** The store's clock. */
  now(): number {
    return this.#sys.now();
  }

  /** Reloads if another copy (another worker thread) changed access: one point read, at most once a ms unless forced. */
  refresh(force = false): void {
    const t = performance.now();
    if (!force && t - this.#checkedAt < 1) return;
    this.#checkedAt = t;
    const v = this.#sys.getEntry(KEYS.epoch)?.version ?? 0n;
    if (v !== this.#epochVersion) this.#state = this.#reload();
  }

  /**
   * Runs `plan` against the current state, then writes what it returns as one atomic batch and
   * applies it to the in-memory copy. Plans run one at a time, in this thread and across
   * threads (commit.ts); a plan may run more than once (when another thread committed between
   * the plan and its commit), so it must not have side effects. `plan` may throw to refuse.
   */
  mutate<T>(plan: (state: CatalogState) => Mutation<T>): Promise<T> {
    const p = this.#tail.then(() => this.#commit(plan));
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #commit<T>(plan: (state: CatalogState) => Mutation<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const lock = readLock(this.#sys);
      const wall = Date.now();
      if (held(lock, wall)) {
        await backoff(attempt, started);
        continue;
      }
      if (lock.version !== this.#lockVersion) this.#state = this.#reload();
      const m = plan(this.#state);
      if (m.changes.length === 0 && m.audit.length === 0 && !m.prune?.length) return m.result;
      const { ops, written, stats } = this.#ops(m);
      if (!(await acquire(this.#sys, lock.version, wall))) {
        await backoff(attempt, started);
        continue;
      }
      if (Date.now() - wall > LEASE_MS / 2) continue; // may have been taken over: do not write (commit.ts)
      ops.push({ type: 'put', key: KEYS.lock, value: lockValue('free', Date.now()) });
      const { version } = await this.#sys.batch(ops);
      this.#apply(m.changes);
      this.#state.auditStats = stats;
      this.#lockVersion = version;
      if (m.bumpEpoch !== false && m.changes.length > 0) this.#epochVersion = version;
      this.#generation++;
      if (written.length > 0) for (const fn of this.#listeners) fn(written);
      return m.result;
    }
  }

  /** Waits for every change queued so far. */
  async idle(): Promise<void> {
    await this.#tail;
  }

  /** Calls `fn` with the audit records of every change this copy commits, once durable. Returns the unsubscribe function. */
  onAudit(fn: (entries: readonly AuditEntry[]) => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  #ops(m: Mutation<unknown>): { ops: BatchOperation[]; written: AuditEntry[]; stats: AuditStats } {
    const ops: BatchOperation[] = [];
    const put = (key: string, record: object): void => void ops.push({ type: 'put', key, value: encode(record) });
    const del = (key: string): void => void ops.push({ type: 'del', key });
    const s = this.#state;
    for (const c of m.changes) {
      if ('put' in c) {
        switch (c.put) {
          case 'user': {
            const old = s.users.get(c.record.name);
            if (old && old.oid !== c.record.oid) del(KEYS.userOid(old.oid));
            put(KEYS.user(c.record.name), c.record);
            ops.push({ type: 'put', key: KEYS.userOid(c.record.oid), value: c.record.name });
            break;
          }
          case 'role': put(KEYS.role(c.record.name), c.record); break;
          case 'apiKey': {
            const old = s.apiKeys.get(c.record.id);
            if (old && old.name !== c.record.name) del(KEYS.apiKeyName(old.name));
            put(KEYS.apiKey(c.record.id), c.record);
            ops.push({ type: 'put', key: KEYS.apiKeyName(c.record.name), value: c.record.id });
            break;
          }
          case 'signingKey': put(KEYS.signingKey(c.record.kid), c.record); break;
          case 'settings': put(KEYS.settings, c.record); break;
          case 'keyring': put(KEYS.keyring, c.record); break;
          case 'version': {
            const old = this.#sys.get(KEYS.version);
            put(KEYS.version, { version: c.version, createdAt: old ? decode('version', KEYS.version, old).createdAt : c.createdAt });
            break;
          }
        }
      } else {
        switch (c.del) {
          case 'user': {
            const old = s.users.get(c.name);
            if (!old) throw new KvError('NOT_FOUND', `no user ${JSON.stringify(c.name)}`);
            del(KEYS.user(c.name));
            del(KEYS.userOid(old.oid));
            break;
          }
          case 'role': del(KEYS.role(c.name)); break;
          case 'apiKey': {
            const old = s.apiKeys.get(c.id);
            if (!old) throw new KvError('NOT_FOUND', `no API key ${JSON.stringify(c.id)}`);
            del(KEYS.apiKey(c.id));
            del(KEYS.apiKeyName(old.name));
            break;
          }
          case 'signingKey': del(KEYS.signingKey(c.kid)); break;
        }
      }
    }
    const now = this.#sys.now();
    let stats = s.auditStats;
    for (const item of m.prune ?? []) {
      del(item.key);
      stats = { ...stats, records: stats.records - 1, bytes: stats.bytes - item.bytes };
    }
    const records = m.audit.map((a): AuditRecord => {
      const rec: AuditRecord = { at: now, actor: a.actor ?? 'local', action: a.action, target: a.target, ip: a.ip ?? null, ok: a.ok };
      if (a.detail !== undefined) rec.detail = a.detail;
      return rec;
    });
    const appended = appendAudit(ops, stats, records, now);
    if (appended.stats !== s.auditStats) ops.push(statsOps(appended.stats));
    if (m.bumpEpoch !== false && m.changes.length > 0) put(KEYS.epoch, { at: now });
    return { ops, written: appended.written, stats: appended.stats };
  }

  #apply(changes: CatalogChange[]): void {
    const s = this.#state;
    for (const c of changes) {
      if ('put' in c) {
        switch (c.put) {
          case 'user': s.users.set(c.record.name, c.record); s.nextOid = Math.max(s.nextOid, c.record.oid + 1); break;
          case 'role': s.roles.set(c.record.name, c.record); s.nextOid = Math.max(s.nextOid, c.record.oid + 1); break;
          case 'apiKey': {
            const old = s.apiKeys.get(c.record.id);
            if (old) s.apiKeyNames.delete(old.name);
            s.apiKeys.set(c.record.id, c.record);
            s.apiKeyNames.set(c.record.name, c.record.id);
            break;
          }
          case 'signingKey': s.signingKeys.set(c.record.kid, c.record); break;
          case 'settings': s.settings = c.record; break;
          case 'keyring': s.keyring = c.record; break;
          case 'version': s.version = c.version; break;
        }
      } else {
        switch (c.del) {
          case 'user': s.users.delete(c.name); break;
          case 'role': s.roles.delete(c.name); break;
          case 'apiKey': {
            const old = s.apiKeys.get(c.id);
            if (old) s.apiKeyNames.delete(old.name);
            s.apiKeys.delete(c.id);
            break;
          }
          case 'signingKey': s.signingKeys.delete(c.kid); break;
        }
      }
    }
  }

  /** Audit records, newest first, `limit` at a time (default 100, at most 10,000). */
  listAudit(options: { limit?: number; before?: string } = {}): AuditPage {
    return listAudit(this.#sys, options);
  }

  /** Audit records oldest first from a time or after an id, a page at a time (audit-log.ts readAudit). */
  readAudit(options: AuditReadOptions = {}): Generator<AuditEntry> {
    return readAudit(this.#sys, options);
  }

  /** The system view, for the retention pruner's scan of the oldest records. */
  get sys(): SystemView {
    return this.#sys;
  }

  /**
   * Cross-checks the stored catalog (like amcheck): every index entry matches its record and
   * every record has its index entry, every role a user or role names exists, every API key's
   * owner exists. Returns the problems found; [] when consistent.
   */
  check(): string[] {
    const problems: string[] = [];
    const sys = this.#sys;
    const s = this.#reloadForCheck();
    const oids = new Map<string, string>();
    for (const [k, v] of entries(sys, PREFIXES.usersByOid)) oids.set(k.slice(PREFIXES.usersByOid.length), v.toString('utf8'));
    for (const u of s.users.values()) {
      if (oids.get(String(u.oid)) !== u.name) problems.push(`user ${u.name} has no index entry ${KEYS.userOid(u.oid)}`);
      for (const r of u.roles) if (!s.roles.has(r)) problems.push(`user ${u.name} is granted missing role ${r}`);
    }
    for (const [oid, name] of oids) if (s.users.get(name)?.oid !== Number(oid)) problems.push(`index ${KEYS.userOid(Number(oid))} names ${name}, which has no such user`);
    for (const r of s.roles.values()) for (const m of r.memberOf) if (!s.roles.has(m)) problems.push(`role ${r.name} is a member of missing role ${m}`);
    for (const b of BUILTIN_ROLES) if (!s.roles.get(b.name)?.builtin) problems.push(`built-in role ${b.name} is missing`);
    const names = new Map<string, string>();
    for (const [k, v] of entries(sys, PREFIXES.apiKeyNames)) names.set(k.slice(PREFIXES.apiKeyNames.length), v.toString('utf8'));
    for (const a of s.apiKeys.values()) {
      if (names.get(a.name) !== a.id) problems.push(`API key ${a.id} has no name index entry ${KEYS.apiKeyName(a.name)}`);
      if (!s.users.has(a.owner)) problems.push(`API key ${a.name} belongs to missing user ${a.owner}`);
    }
    for (const [name, id] of names) if (s.apiKeys.get(id)?.name !== name) problems.push(`index ${KEYS.apiKeyName(name)} names missing API key ${id}`);
    if (![...s.signingKeys.values()].some((k) => k.retiredAt === null)) problems.push('no active signing key');
    for (const k of s.signingKeys.values()) {
      if (s.keyring && k.secret !== undefined) problems.push(`signing key ${k.kid} is stored in plaintext in a sealed catalog`);
      if (s.keyring && k.sealed?.mk !== s.keyring.masterKeyId) problems.push(`signing key ${k.kid} is not sealed under the catalog's master key`);
    }
    const counted = countAudit(sys);
    if (counted.records !== s.auditStats.records || counted.bytes !== s.auditStats.bytes) {
      problems.push(`audit stats say ${s.auditStats.records} records / ${s.auditStats.bytes} bytes; the log has ${counted.records} / ${counted.bytes}`);
    }
    return problems;
  }

  /** A fresh load for check(), leaving this copy's state and versions alone. */
  #reloadForCheck(): MutableState {
    const [lock, epoch, gen, state] = [this.#lockVersion, this.#epochVersion, this.#generation, this.#state];
    try {
      return this.#reload();
    } finally {
      [this.#lockVersion, this.#epochVersion, this.#generation, this.#state] = [lock, epoch, gen, state];
    }
  }
}
