/**
 * What replication needs from an open store's engine: read the WAL from any LSN while the
 * writer appends, learn when the flushed LSN moves, and (on a standby) append records
 * received from the primary at the LSNs they carry. `Store._replication()` hands one out;
 * nothing outside ts/replication uses it.
 */
import type { WalPositions } from '../engine/types.js';

export interface ReplicationPort {
  readonly engineKind: 'native' | 'js';
  readonly dir: string;
  /** next, durable, flushed (fdatasynced) and applied LSNs. */
  positions(): WalPositions;
  /** The LSN of the first record still in the WAL on disk (nextLsn when the WAL is empty). */
  oldestLsn(): bigint;
  /**
   * Whole records exactly as on disk, starting at fromLsn, none past the flushed LSN, at most
   * maxBytes unless the first record alone is larger; empty when nothing new is flushed.
   * Rejects with WAL_COMPACTED when fromLsn is older than the oldest segment kept.
   */
  readWal(fromLsn: bigint, maxBytes: number): Promise<Buffer>;
  /** Calls fn (on this thread) whenever the flushed LSN advances; returns an unsubscribe. */
  onFlushed(fn: (flushedLsn: bigint) => void): () => void;
  /**
   * Standby only: appends records received from the primary (the first must carry the next
   * LSN), fdatasyncs and applies them through the recovery apply path. Resolves with the last
   * LSN once durable and applied; bad records, a gap or a duplicate reject and change nothing.
   * Several may be in flight; they are taken in call order.
   */
  appendReplicated(records: Buffer): Promise<bigint>;
  /** Keeps the WAL from lsn on across checkpoints until the returned release is called. */
  retainWal(lsn: bigint): () => void;
  /**
   * Appends a record of an optional kind (>= 128) that changes no entry (Engine.writeMarker):
   * replication's TIMELINE, backups' TIME. READ_ONLY on a standby. Returns its LSN.
   */
  writeMarker(kind: number, body: Buffer): bigint;
}
