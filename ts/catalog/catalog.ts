/**
 * The system catalog: users, roles, grants, API keys, signing keys, settings and the audit
 * log as `_sys.` entries of the store (schema.ts), mirrored in memory for microsecond reads.
 *
 * Writes: every change is one store batch (the records, the index entries derived from them,
 * the audit records and the epoch), so after a crash all of it is there or none of it, and
 * the in-memory copy changes only after the batch is durable. Changes run one at a time
 * (a promise chain), so a read-modify-write never interleaves with another.
 *
 * Reads: one Catalog per Store object, so every AuthService on a store sees a change the
 * moment it is durable. A copy in another worker thread (its own Store on the shared native
 * engine) is checked against `_sys.catalog:epoch`, whose version (an LSN) moves with every
 * change, at most once a millisecond: a change made in one thread is seen in the others
 * within 1 ms, and before any change they make.
 */
import { KvError } from '../errors.js';
import type { BatchOperation, Store } from '../store/store.js';
import { type SystemView, systemView } from '../store/store.js';
import {
  type ApiKeyRecord, type AuditRecord, type AuthSettings, type RoleRecord, type SigningKeyRecord, type UserRecord,
  BUILTIN_ROLES, CATALOG_VERSION, DEFAULT_SETTINGS, FIRST_USER_OID, KEYS, PREFIXES, decode, encode,
} from './schema.js';

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
  | { put: 'settings'; record: AuthSettings };

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
}

export interface AuditPage {
  entries: (AuditRecord & { id: string })[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: string;
}

interface MutableState {
  users: Map<string, UserRecord>;
  roles: Map<string, RoleRecord>;
  apiKeys: Map<string, ApiKeyRecord>;
  apiKeyNames: Map<string, string>;
  signingKeys: Map<string, SigningKeyRecord>;
  settings: AuthSettings;
  nextOid: number;
}

function* entries(sys: SystemView, prefix: string): Generator<[string, Buffer]> {
  for (const [k, v] of sys.scan({ prefix })) yield [k.toString('utf8'), v];
}

export class Catalog {
  readonly #sys: SystemView;
  #state: MutableState;
  #epochVersion: bigint;
  #generation = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #auditMs = 0;
  #auditSeq = 0;
  #checkedAt = -Infinity;
  static readonly #byStore = new WeakMap<Store<unknown, unknown>, Promise<Catalog>>();

  private constructor(sys: SystemView) {
    this.#sys = sys;
    this.#state = Catalog.#load(sys);
    this.#epochVersion = sys.getEntry(KEYS.epoch)?.version ?? 0n;
    const last = sys.scan({ prefix: PREFIXES.audit, reverse: true, limit: 1 }).next();
    if (!last.done) {
      const m = /^_sys\.audit:(\d{15})\.(\d{6})$/.exec(last.value[0].toString('latin1'));
      if (m) {
        this.#auditMs = Number(m[1]);
        this.#auditSeq = Number(m[2]);
      }
    }
  }

  /**
   * Opens the catalog of `store`, creating it on first use (catalog version, the built-in
   * roles, default settings, a first signing key from `firstSigningKey`). No user is created:
   * there is no default password.
   */
  static open(store: Store<unknown, unknown>, firstSigningKey: () => SigningKeyRecord): Promise<Catalog> {
    let p = Catalog.#byStore.get(store);
    if (!p) {
      p = Catalog.#open(store, firstSigningKey);
      Catalog.#byStore.set(store, p);
      p.catch(() => Catalog.#byStore.delete(store));
    }
    return p;
  }

  static async #open(store: Store<unknown, unknown>, firstSigningKey: () => SigningKeyRecord): Promise<Catalog> {
    const sys = systemView(store);
    const version = sys.get(KEYS.version);
    if (version === undefined) {
      const now = sys.now();
      const key = firstSigningKey();
      const ops: BatchOperation[] = [
        { type: 'put', key: KEYS.version, value: encode({ version: CATALOG_VERSION, createdAt: now }) },
        { type: 'put', key: KEYS.settings, value: encode(DEFAULT_SETTINGS) },
        { type: 'put', key: KEYS.signingKey(key.kid), value: encode(key) },
        { type: 'put', key: KEYS.epoch, value: encode({ at: now }) },
        ...BUILTIN_ROLES.map((r): BatchOperation => ({ type: 'put', key: KEYS.role(r.name), value: encode({ ...r, createdAt: now }) })),
        { type: 'put', key: KEYS.audit(now, 0), value: encode({ at: now, actor: 'system', action: 'catalog.bootstrap', target: 'catalog', ip: null, ok: true, detail: `version ${CATALOG_VERSION}` } satisfies AuditRecord) },
      ];
      await sys.batch(ops);
    } else {
      const v = decode('version', KEYS.version, version);
      if (v.version > CATALOG_VERSION) {
        throw new KvError('CATALOG_VERSION', `the catalog is version ${v.version}; this release understands up to ${CATALOG_VERSION}`);
      }
    }
    return new Catalog(sys);
  }

  static #load(sys: SystemView): MutableState {
    const s: MutableState = {
      users: new Map(), roles: new Map(), apiKeys: new Map(), apiKeyNames: new Map(), signingKeys: new Map(),
      settings: DEFAULT_SETTINGS, nextOid: FIRST_USER_OID,
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

  /** Reloads if another copy (another worker thread) changed the catalog: one point read, at most once a ms unless forced. */
  refresh(force = false): void {
    const t = performance.now();
    if (!force && t - this.#checkedAt < 1) return;
    this.#checkedAt = t;
    const v = this.#sys.getEntry(KEYS.epoch)?.version ?? 0n;
    if (v === this.#epochVersion) return;
    this.#state = Catalog.#load(this.#sys);
    this.#epochVersion = v;
    this.#generation++;
  }

  /**
   * Runs `plan` against the current state, then writes what it returns as one atomic batch and
   * applies it to the in-memory copy. Plans run one at a time. `plan` may throw to refuse.
   */
  mutate<T>(plan: (state: CatalogState) => Mutation<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.refresh(true);
      const m = plan(this.#state);
      if (m.changes.length === 0 && m.audit.length === 0) return m.result;
      const ops = this.#ops(m);
      await this.#sys.batch(ops);
      this.#apply(m.changes);
      if (m.bumpEpoch !== false && m.changes.length > 0) {
        this.#epochVersion = this.#sys.getEntry(KEYS.epoch)?.version ?? 0n;
        this.#generation++;
      }
      return m.result;
    };
    const p = this.#tail.then(run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  /** Waits for every change queued so far. */
  async idle(): Promise<void> {
    await this.#tail;
  }

  #ops(m: Mutation<unknown>): BatchOperation[] {
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
    for (const a of m.audit) {
      if (now > this.#auditMs) {
        this.#auditMs = now;
        this.#auditSeq = 0;
      } else {
        this.#auditSeq++;
      }
      const rec: AuditRecord = { at: now, actor: a.actor ?? 'local', action: a.action, target: a.target, ip: a.ip ?? null, ok: a.ok };
      if (a.detail !== undefined) rec.detail = a.detail;
      put(KEYS.audit(this.#auditMs, this.#auditSeq), rec);
    }
    if (m.bumpEpoch !== false && m.changes.length > 0) put(KEYS.epoch, { at: now });
    return ops;
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
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new KvError('INVALID_ARGUMENT', 'limit must be an integer in [1, 10000]');
    const end = options.before === undefined ? undefined : PREFIXES.audit + options.before;
    const out: AuditPage['entries'] = [];
    for (const [k, v] of this.#sys.scan({ prefix: PREFIXES.audit, ...(end ? { end } : {}), reverse: true, limit: limit + 1 })) {
      const key = k.toString('utf8');
      if (out.length === limit) return { entries: out, next: out[out.length - 1]!.id };
      out.push({ ...decode('audit', key, v), id: key.slice(PREFIXES.audit.length) });
    }
    return { entries: out };
  }

  /**
   * Cross-checks the stored catalog (like amcheck): every index entry matches its record and
   * every record has its index entry, every role a user or role names exists, every API key's
   * owner exists. Returns the problems found; [] when consistent.
   */
  check(): string[] {
    const problems: string[] = [];
    const sys = this.#sys;
    const s = Catalog.#load(sys);
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
    return problems;
  }
}
