/**
 * The types of the store's API: its options and results (Entry, PutOptions, …), what a
 * replication node offers it (ReplicaHandle) and the system view the catalog uses. store.ts
 * re-exports them, so every import of them from there stays as it was.
 */
import type { EngineStats } from '../engine/types.js';
import type { Key, Value } from './keys.js';
import type { KeyInput, ValueInput } from './encoding.js';
import type { Durability } from './options.js';

export interface Entry<V = Buffer> {
  /** Decoded with the store's valueEncoding. */
  value: V;
  /** The LSN of the entry's last write. */
  version: bigint;
  /** Absolute expiry, ms since the epoch; absent when the entry does not expire. */
  expiresAt?: number;
}

export interface PutOptions {
  /** Time to live, ms (> 0). */
  ttlMs?: number;
  /** Compare-and-swap: write only if the entry's version is this (0n = only if absent). */
  ifVersion?: bigint;
}

export interface DeleteOptions {
  ifVersion?: bigint;
}

export type BatchOperation<V = Buffer, K = Buffer> =
  | { type: 'put'; key: KeyInput<K>; value: ValueInput<V>; ttlMs?: number }
  | { type: 'del'; key: KeyInput<K> };

export interface ScanOptions<K = Buffer> {
  /** Only keys whose stored bytes start with these bytes (not encoded). Combines with start/end. */
  prefix?: Key;
  /** Inclusive lower bound (encoded with the store's keyEncoding). */
  start?: KeyInput<K>;
  /** Exclusive upper bound (encoded with the store's keyEncoding). */
  end?: KeyInput<K>;
  /** At most this many entries (default: all). */
  limit?: number;
  /** Descending key order. */
  reverse?: boolean;
}

export interface StoreStats extends EngineStats {
  engine: 'native' | 'js';
  durability: Durability;
  /** Entries the background TTL sweep has removed since open. */
  expired: number;
}

/** store.replication(): see there. LSNs are bigints, times milliseconds. */
export interface ReplicationInfo {
  role: 'primary' | 'standby';
  /** A replica: connected to its primary's stream now. */
  connected: boolean;
  /**
   * A replica: the primary it follows (its replicaOf URL; given a cluster's members, the
   * leader they last named, null until one did). A primary: null.
   */
  primaryUrl: string | null;
  /** The primary's flushed LSN as last heard (a primary: its own). */
  primaryLsn: bigint;
  /** Every record up to here is applied and visible to reads here. */
  appliedLsn: bigint;
  /** How long this replica has been behind the primary (0 when caught up). */
  lagMs: number;
  /** Why the last attempt to follow failed, if it did. */
  lastError: { code: string; message: string } | null;
}

/** @internal What a replication node offers the store (ts/replication/replica.ts). */
export interface ReplicaHandle {
  info(): ReplicationInfo;
  stop(): Promise<void>;
}

/**
 * The same store, restricted to keys under `_sys.` (anything else is RESERVED_KEY). The system
 * catalog is its one user: the data API cannot reach the catalog and the catalog cannot reach
 * the data. Not exported from the package.
 */
export interface SystemView {
  get(key: Key): Buffer | undefined;
  getEntry(key: Key): Entry | undefined;
  put(key: Key, value: Value, options?: PutOptions): Promise<{ version: bigint }>;
  /**
   * A compare-and-swap decided at once: null when the key's newest submitted version is not
   * `ifVersion` (VERSION_MISMATCH), else the write's promise (settling when acknowledged). For
   * the catalog lock, which must know now whether it holds the lock; put()'s refusal waits for
   * the writes it reveals (see #refuse).
   */
  claim(key: Key, value: Value, ifVersion: bigint): Promise<{ version: bigint }> | null;
  delete(key: Key, options?: DeleteOptions): Promise<{ deleted: boolean }>;
  batch(ops: readonly BatchOperation[]): Promise<{ version: bigint }>;
  scan(options?: ScanOptions): Generator<[Buffer, Buffer]>;
  /** The store's clock (ms since the epoch), so the catalog and TTLs agree on the time. */
  now(): number;
  /** Live entries under `_sys.`; costs one step per catalog entry (the engine counts a key range). */
  count(): number;
}
