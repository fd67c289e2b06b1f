/**
 * The engine interface: one contract, two implementations (native C++ in native/,
 * pure TypeScript in ts/engine/js/). Both read and write the format in
 * docs/on-disk-format.md. Engines store bytes; they know nothing of `_sys.` keys,
 * users or HTTP. Arguments arrive already validated by the store layer.
 */

/** 0 = always (ack after fdatasync), 1 = interval, 2 = none. */
export type DurabilityCode = 0 | 1 | 2;

/**
 * A primary takes client writes; a standby refuses them (READ_ONLY) and takes records
 * streamed from a primary through appendReplicated (docs/replication.md). Not stored on
 * disk: the opener says what the directory is this time.
 */
export type EngineRole = 'primary' | 'standby';

export interface EngineConfig {
  dir: string;
  /** Power of two, 1..4096. */
  shards: number;
  durability: DurabilityCode;
  /** fdatasync period for `interval`, milliseconds. */
  intervalMs: number;
  walSegmentBytes: number;
  /** Start an automatic checkpoint after this much WAL since the last one (0 = never). */
  checkpointWalBytes: number;
  /** Truncate at a corrupt record instead of refusing to open. */
  truncateCorruptTail: boolean;
  role: EngineRole;
}

/**
 * Called whenever the durable LSN advances (every record with lsn <= durableLsn is on
 * disk under `always`; under interval/none, handed to the kernel, which the store's
 * backpressure waits on), or once with an error code when the WAL can no longer be
 * written (IO_ERROR): every pending and later write then fails. Called on the JS thread
 * of the handle that registered it.
 */
export type DurableCallback = (durableLsn: bigint, errorCode?: string, errorMessage?: string) => void;

/**
 * Called each time the flushed LSN advances (every record with lsn <= flushedLsn is
 * fdatasynced, whatever the durability policy), or once with IO_ERROR when the WAL
 * failed. On the JS thread of the engine that registered it.
 */
export type FlushedListener = (flushedLsn: bigint, errorCode?: string) => void;

/**
 * Where the log stands. flushedLsn <= durableLsn < nextLsn; appliedLsn <= flushedLsn under
 * `always` (interval/none apply local writes before they are written).
 */
export interface WalPositions {
  /** The LSN the next record gets. */
  nextLsn: bigint;
  /** Durable as the durability policy defines it (what writes are acknowledged on). */
  durableLsn: bigint;
  /** Every record <= it is fdatasynced: what readWal may return, what a standby reports back. */
  flushedLsn: bigint;
  /** Every record <= it is visible to readers. */
  appliedLsn: bigint;
}

/** WAL records as readWal returns them. */
export interface WalChunk {
  /** Whole records, byte for byte as on disk (docs/on-disk-format.md), LSNs consecutive. */
  records: Buffer;
  /** LSN of the first record: the LSN asked for. */
  firstLsn: bigint;
  /** LSN of the last record; firstLsn - 1n when `records` is empty. */
  lastLsn: bigint;
}

/** A log line for the operator (torn-tail truncation, corruption repair). */
export type LogCallback = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface EngineStats {
  keys: number;
  nextLsn: bigint;
  durableLsn: bigint;
  flushedLsn: bigint;
  appliedLsn: bigint;
  role: EngineRole;
  walBytes: number;
  walSegments: number;
  lastCheckpointLsn: bigint;
  /** Wall-clock time of the last checkpoint (from the control file), ms since the epoch; 0 before the first. */
  lastCheckpointTimeMs: number;
  checkpoints: number;
  fsyncs: number;
  /** Largest number of records one fdatasync covered. */
  maxGroupCommit: number;
  /** fdatasync latencies: count per FSYNC_BOUNDS_MICROS bucket (last: above them all), not cumulative. */
  fsyncBuckets: number[];
  /** Time spent in fdatasync, µs. */
  fsyncMicros: number;
  /** Records per durable group: count per GROUP_BOUNDS bucket (last: above them all). */
  groupBuckets: number[];
  groupRecords: number;
}

/** Inclusive upper bounds of the engines' histogram buckets (native/core/engine.h has the same). */
export const FSYNC_BOUNDS_MICROS = [50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000] as const;
export const GROUP_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] as const;

/** Adds `v` to per-bucket counts for `bounds` (one more bucket for values above them all). */
export function addToBuckets(counts: number[], bounds: readonly number[], v: number): void {
  let i = 0;
  while (i < bounds.length && v > bounds[i]!) i++;
  counts[i]! += 1;
}

/** Tuple form keeps the N-API boundary cheap: [value, version, expiresAt (0 = none)]. */
export type RawEntry = [value: Buffer, version: bigint, expiresAt: number];

/**
 * Every write method is synchronous: it checks its condition against the latest
 * submitted state (including writes not yet durable), assigns the next LSN, queues the
 * WAL record and returns the LSN. Under `interval`/`none` the change is visible to
 * readers on return; under `always` it becomes visible only once durable, just before
 * the DurableCallback reports an LSN >= it.
 * `now` is the caller's clock in ms (injectable for tests); an entry with
 * 0 < expiresAt <= now is absent for every read and condition.
 * Errors are thrown as Error objects with a string `code` property:
 * VERSION_MISMATCH, NOT_A_NUMBER, IO_ERROR, CLOSED, CORRUPT, LOCKED, READ_ONLY (a write
 * on a standby), and for the replication methods WAL_COMPACTED, WAL_LSN_MISMATCH,
 * WAL_BAD_RECORD, NOT_STANDBY (docs/replication.md).
 */
export interface Engine {
  get(key: Buffer, now: number): Buffer | undefined;
  /** Copies the value into `target`; returns its length, -1 if absent, or -(length + 2) if target is too small. */
  getInto(key: Buffer, now: number, target: Buffer): number;
  getEntry(key: Buffer, now: number): RawEntry | undefined;
  /** ifVersion: -1n = unconditional, 0n = must not exist, v = current version must be v. */
  put(key: Buffer, value: Buffer, expiresAt: number, ifVersion: bigint, now: number): bigint;
  /** Returns 0n (and writes nothing) when the key is absent and ifVersion is -1n. */
  del(key: Buffer, ifVersion: bigint, now: number): bigint;
  /** Adds delta to the decimal integer stored at key (absent = 0); keeps its expiry. Returns [lsn, result]. */
  incr(key: Buffer, delta: bigint, now: number): [bigint, bigint];
  /** body = a BATCH record body (docs/on-disk-format.md). Applied atomically. */
  batch(body: Buffer, now: number): bigint;
  /**
   * A conditional batch, the commit step of a transaction (ts/store/txn.ts): checked under
   * the engine's write lock (one lock for every thread sharing a native engine), every key
   * in `checks` must have exactly the version given (0n = absent or expired) in the newest
   * submitted state, pending writes included; otherwise VERSION_MISMATCH and nothing is
   * written. checks = encodeChecks(). An empty body writes nothing and returns 0n: the
   * checks alone validate a read-only transaction (allowed on a standby too).
   */
  batchIf(body: Buffer, checks: Buffer, now: number): bigint;
  /**
   * Live entries in byte order within [start, end) (null = unbounded), at most `limit`
   * (0 = no limit); expired entries are skipped and do not count. Fewer than `limit` only
   * when no live entry of the range is left: the store's paging relies on it.
   * Returns [k0, v0, k1, v1, ...].
   */
  scan(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer[];
  count(start: Buffer | null, end: Buffer | null, now: number): number;
  /**
   * Fuzzy checkpoint; reads and writes continue while it runs. Entries expired at `now`
   * are left out. Resolves with the redo LSN.
   */
  checkpoint(now: number): Promise<bigint>;
  /**
   * Incremental TTL sweep: examines at most `budget` entries (continuing where the last
   * call stopped, wrapping around) and removes those expired at `now`. Returns how many
   * it removed. The store calls it on a timer with its own clock; the engine has none.
   */
  sweep(now: number, budget: number): number;
  stats(): EngineStats;
  /**
   * Flushes, checkpoints (if anything was written; `{ checkpoint: false }` skips it, as a
   * standby about to rewind its WAL needs) and releases the directory. Idempotent.
   */
  close(options?: { checkpoint?: boolean }): Promise<void>;

  // ---- replication primitives (docs/replication.md)

  /**
   * WAL records from `fromLsn` on, byte for byte as on disk, across segments, up to the
   * flushed LSN (never a record not yet fdatasynced, never a torn one): at most `maxBytes`,
   * except that a first record larger than that comes alone. Empty when nothing past
   * fromLsn - 1 is flushed yet (wait with onFlushed). Safe while writes and checkpoints
   * go on. Rejects with WAL_COMPACTED when fromLsn is older than the oldest segment kept
   * (the reader needs a base backup), WAL_LSN_MISMATCH when fromLsn > nextLsn (the reader
   * is ahead of this log), CORRUPT when a record on disk fails its CRC.
   */
  readWal(fromLsn: bigint, maxBytes: number): Promise<WalChunk>;
  /**
   * Standby only: appends whole WAL records (as readWal returns them) whose first carries
   * `firstLsn`, which must be this engine's nextLsn. Everything is checked before anything
   * changes: length and CRC of every record (WAL_BAD_RECORD), known kinds' bodies
   * (WAL_BAD_RECORD; kinds >= 128 are kept and skipped), consecutive LSNs continuing the
   * log (WAL_LSN_MISMATCH: gap, duplicate, out of order), role (NOT_STANDBY). Accepted
   * records are written at the same LSNs through the group-commit flusher, fdatasynced
   * whatever the durability policy, and applied by the same function recovery replays
   * with. Resolves with the last LSN once all of that is done; appends are taken in call
   * order, so a caller may have several in flight.
   */
  appendReplicated(records: Buffer, firstLsn: bigint): Promise<bigint>;
  /**
   * Standby → primary: stops taking records, waits until every received record is
   * applied, then takes client writes continuing the log. NOT_STANDBY on a primary.
   * Writes no WAL record (timelines come with a later phase of issue 14).
   */
  promote(): Promise<void>;
  walPositions(): WalPositions;
  role(): EngineRole;
  /** Registers a listener for flushed-LSN advances; returns the function that removes it. */
  onFlushed(listener: FlushedListener): () => void;
  /**
   * Appends a record of an optional kind (128..255) that changes no entry; readers that do
   * not know the kind skip it. Returns its LSN (durable like any write). INVALID_ARGUMENT for
   * a kind below 128, READ_ONLY on a standby.
   */
  writeMarker(kind: number, body: Buffer): bigint;
  /**
   * Keeps every WAL record >= lsn on disk: no checkpoint drops a segment holding one until
   * the returned release is called (idempotent; a no-op after close).
   */
  retainWal(lsn: bigint): () => void;
}
