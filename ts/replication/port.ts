/**
 * What replication needs from an open store's engine: read the WAL from any LSN while the
 * writer appends, learn when the durable LSN moves, and (on a standby) append records received
 * from the primary at the LSNs they carry. `Store._replication()` hands one out; nothing
 * outside ts/replication uses it.
 */
export interface ReplicationPort {
  readonly engineKind: 'native' | 'js';
  readonly dir: string;
  /** Every record with lsn <= this is durable. */
  durableLsn(): bigint;
  /** The LSN the next record gets (on a standby: the next one it expects). */
  nextLsn(): bigint;
  /** The LSN of the first record still in the WAL on disk. */
  oldestLsn(): bigint;
  /**
   * Whole records exactly as on disk, starting at fromLsn, none past durableLsn(), at most
   * maxBytes unless the first record alone is larger. Empty when fromLsn > durableLsn().
   * Throws WAL_COMPACTED when fromLsn < oldestLsn().
   */
  readWal(fromLsn: bigint, maxBytes: number): Buffer;
  /** Calls fn (on this thread) whenever the durable LSN advances; returns an unsubscribe. */
  onDurable(fn: (durableLsn: bigint) => void): () => void;
  /**
   * Standby only: appends records received from the primary (the first must carry nextLsn()),
   * fdatasyncs and applies them through the recovery apply path. Resolves with the last LSN
   * once durable and applied; bad CRC, a gap or a duplicate reject with REPLICATION_PROTOCOL
   * and change nothing.
   */
  appendReplicated(records: Buffer): Promise<bigint>;
  /** Keeps WAL from lsn on disk across checkpoints until the returned release is called. */
  retainWal(lsn: bigint): () => void;
}
