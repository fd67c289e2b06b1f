/**
 * The master key in use and every sealed secret of the catalog: signing keys and user
 * metadata. API keys need nothing here: the catalog holds only SHA-256 hashes of their
 * secrets, and passwords only argon2id hashes.
 *
 * A catalog is sealed once `_sys.catalog:keyring` names a master key id. Then every secret
 * is an AES-256-GCM box under that key (seal.ts), and a copy of the data directory without
 * the master key holds no usable secret. A catalog opened without any master key stays (or
 * is created) unsealed, as catalog version 1 was: its signing keys are plaintext, which
 * docs/security.md says plainly.
 *
 * The key is given resolved or as a loader; a loader is asked again when the catalog's key
 * id changes under us (another thread or process rotated the master key), so a server whose
 * loader reads the new key keeps working after a rotation.
 */
import crypto from 'node:crypto';
import { KvError } from '../errors.js';
import type { CatalogChange, CatalogState, Mutation } from '../catalog/catalog.js';
import { CATALOG_VERSION, type KeyringRecord, type SigningKeyRecord, type UserRecord } from '../catalog/schema.js';
import { keyId, open, parseMasterKey, seal } from './seal.js';

export type MasterKeyInput = Buffer | string | (() => Promise<Buffer | string>);

const signingContext = (kid: string): string => `signing_key:${kid}`;
export const userContext = (name: string): string => `user:${name}`;

export class Keyring {
  readonly #loader: (() => Promise<Buffer | string>) | null;
  #key: Buffer | null = null;
  #id: string | null = null;
  /** kid → the signing key's secret, opened once. Dropped when the master key changes. */
  readonly #secrets = new Map<string, Buffer>();

  private constructor(loader: (() => Promise<Buffer | string>) | null) {
    this.#loader = loader;
  }

  static async create(input: MasterKeyInput | undefined): Promise<Keyring> {
    if (typeof input === 'function') {
      const k = new Keyring(input);
      await k.#load();
      return k;
    }
    const k = new Keyring(null);
    if (input !== undefined) k.#set(parseMasterKey(input));
    return k;
  }

  async #load(): Promise<void> {
    let v: Buffer | string;
    try {
      v = await this.#loader!();
    } catch (err) {
      throw err instanceof KvError ? err : new KvError('MASTER_KEY_UNAVAILABLE', 'the master key loader failed', { cause: err });
    }
    this.#set(parseMasterKey(v));
  }

  #set(key: Buffer): void {
    this.#key = key;
    this.#id = keyId(key);
    this.#secrets.clear();
  }

  get id(): string | null {
    return this.#id;
  }

  /** The first signing key of a new catalog, sealed when there is a master key, and the keyring record that says so. */
  firstSigningKey(now: number): { key: SigningKeyRecord; keyring: KeyringRecord | null } {
    return { key: this.newSigningKey(now, this.#id !== null), keyring: this.#id === null ? null : { masterKeyId: this.#id, sealedAt: now } };
  }

  /** A fresh HS256 key: sealed in a sealed catalog, plaintext (catalog version 1) in an unsealed one. */
  newSigningKey(now: number, sealed: boolean): SigningKeyRecord {
    const kid = crypto.randomBytes(8).toString('hex');
    const secret = crypto.randomBytes(32);
    if (!sealed) return { kid, alg: 'HS256', secret: secret.toString('base64url'), createdAt: now, retiredAt: null };
    this.#secrets.set(kid, secret);
    return { kid, alg: 'HS256', sealed: seal(this.#need(), signingContext(kid), secret), createdAt: now, retiredAt: null };
  }

  /**
   * Makes sure the key in hand is the catalog's: asks the loader again if the catalog names
   * another key. MASTER_KEY_REQUIRED without a key, MASTER_KEY_MISMATCH with another one.
   */
  async ensure(s: CatalogState): Promise<void> {
    if (!s.keyring) return;
    if (this.#id !== s.keyring.masterKeyId && this.#loader) await this.#load();
    this.check(s);
  }

  /** ensure() without the loader: for the synchronous paths. */
  check(s: CatalogState): void {
    if (!s.keyring) return;
    if (this.#id === null) throw new KvError('MASTER_KEY_REQUIRED', 'the catalog is sealed; its secrets need the master key (master key file, environment variable or command)');
    if (this.#id !== s.keyring.masterKeyId) throw new KvError('MASTER_KEY_MISMATCH', `the catalog is sealed under master key ${s.keyring.masterKeyId}; the key given is ${this.#id}`);
  }

  /** The HMAC secret of a signing key (opened once, then cached). Call check() first for a sealed catalog. */
  signingSecret(k: SigningKeyRecord): Buffer {
    if (k.sealed === undefined) return Buffer.from(k.secret!, 'base64url');
    let secret = this.#secrets.get(k.kid);
    if (!secret) this.#secrets.set(k.kid, (secret = open(this.#need(), signingContext(k.kid), k.sealed)));
    return secret;
  }

  sealMetadata(name: string, json: string): UserRecord['metadata'] {
    if (!this.#key) throw new KvError('INVALID_ARGUMENT', 'user metadata needs a masterKey in the auth options (it is stored encrypted)');
    return seal(this.#key, userContext(name), Buffer.from(json, 'utf8'));
  }

  openMetadata(u: UserRecord): Buffer {
    if (!this.#key) throw new KvError('INVALID_ARGUMENT', 'reading user metadata needs the masterKey it was sealed with');
    return open(this.#key, userContext(u.name), u.metadata!);
  }

  #need(): Buffer {
    if (!this.#key) throw new KvError('MASTER_KEY_REQUIRED', 'this needs the master key');
    return this.#key;
  }

  /**
   * Plan: seal an unsealed catalog (catalog version 1) under the key in hand. Plaintext signing
   * keys are sealed and retired after one session timeout (they were readable on disk: WAL,
   * snapshots, backups), and a fresh sealed key becomes the active one; v1 metadata boxes are
   * opened with this key (MASTER_KEY_MISMATCH if they do not open) and sealed again as v2.
   * No change when the catalog is sealed already.
   */
  planSeal(s: CatalogState, now: number): Mutation<boolean> {
    if (s.keyring || !this.#key) return { changes: [], audit: [], result: false };
    const key = this.#key;
    const changes: CatalogChange[] = [];
    const retireBy = now + s.settings.sessionTimeoutSec * 1000;
    for (const k of s.signingKeys.values()) {
      if (k.secret === undefined) continue;
      const { secret: _plain, ...rest } = k;
      const retiredAt = k.retiredAt === null ? retireBy : Math.min(k.retiredAt, retireBy);
      changes.push({ put: 'signingKey', record: { ...rest, sealed: seal(key, signingContext(k.kid), Buffer.from(k.secret, 'base64url')), retiredAt } });
    }
    changes.push({ put: 'signingKey', record: this.newSigningKey(now, true) });
    for (const u of s.users.values()) {
      if (u.metadata === null || u.metadata.mk !== undefined) continue;
      let plain: Buffer;
      try {
        plain = open(key, userContext(u.name), u.metadata);
      } catch (err) {
        throw new KvError('MASTER_KEY_MISMATCH', `the metadata of user ${u.name} was sealed under another master key`, { cause: err });
      }
      changes.push({ put: 'user', record: { ...u, metadata: seal(key, userContext(u.name), plain) } });
    }
    changes.push({ put: 'keyring', record: { masterKeyId: this.#id!, sealedAt: now } });
    changes.push({ put: 'version', version: CATALOG_VERSION, createdAt: now });
    const n = changes.filter((c) => 'put' in c && c.put === 'signingKey').length - 1;
    return {
      changes,
      audit: [{ actor: 'system', action: 'master_key.seal', target: this.#id!, ok: true, detail: `${n} plaintext signing keys sealed and retired; a new signing key` }],
      result: true,
    };
  }

  /** Plan: every box of the catalog opened with the key in hand and sealed again under `next`, and the keyring moved to it. */
  planRotate(s: CatalogState, next: Buffer, now: number): Mutation<{ from: string; to: string }> {
    this.check(s);
    const key = this.#need();
    const changes: CatalogChange[] = [];
    for (const k of s.signingKeys.values()) {
      const plain = k.sealed ? open(key, signingContext(k.kid), k.sealed) : Buffer.from(k.secret!, 'base64url');
      const { secret: _plain, ...rest } = k;
      changes.push({ put: 'signingKey', record: { ...rest, sealed: seal(next, signingContext(k.kid), plain) } });
    }
    for (const u of s.users.values()) {
      if (u.metadata !== null) changes.push({ put: 'user', record: { ...u, metadata: seal(next, userContext(u.name), open(key, userContext(u.name), u.metadata)) } });
    }
    const to = keyId(next);
    changes.push({ put: 'keyring', record: { masterKeyId: to, sealedAt: now } });
    changes.push({ put: 'version', version: CATALOG_VERSION, createdAt: now });
    const from = this.#id!;
    return { changes, audit: [], result: { from, to } };
  }

  /** After a committed rotation: the new key is the one in hand. */
  use(next: Buffer): void {
    this.#set(next);
  }
}
