/**
 * The primary's view of its standbys: who is streaming, how far each has flushed and
 * applied, and (through SyncQuorum) which writes the synchronous ones have confirmed.
 * Fed by the stream route (connect / disconnect, what was sent) and the feedback route.
 */
import { SyncQuorum } from './sync-quorum.js';

export interface StandbyInfo {
  id: string;
  /** Remote address of its stream connection. */
  address: string;
  connectedAt: number;
  /** Highest LSN sent to it. */
  sentLsn: bigint;
  flushedLsn: bigint;
  appliedLsn: bigint;
  lastFeedbackAt: number;
  /** Base backups sent on this connection's behalf. */
  baseBackups: number;
}

export class StandbyRegistry {
  readonly #standbys = new Map<string, StandbyInfo & { stream: number }>();
  #nextStream = 1;
  #baseBackups = 0;
  #streamErrors = 0;

  constructor(readonly quorum: SyncQuorum, private readonly now: () => number = Date.now) {}

  /**
   * A standby opened a stream. A second stream under the same id replaces the first (the
   * old connection is a ghost of a reconnect); returns a token for disconnect().
   */
  connect(id: string, address: string): number {
    const stream = this.#nextStream++;
    const prev = this.#standbys.get(id);
    this.#standbys.set(id, {
      id, address, connectedAt: this.now(), sentLsn: 0n, flushedLsn: prev?.flushedLsn ?? 0n,
      appliedLsn: prev?.appliedLsn ?? 0n, lastFeedbackAt: prev?.lastFeedbackAt ?? 0, baseBackups: 0, stream,
    });
    return stream;
  }

  /**
   * The stream with this token ended; the standby stops counting for synchronous commit.
   * failed: it ended with an error (counted in streamErrors, with errorSent's).
   */
  disconnect(id: string, stream: number, failed: boolean): void {
    if (failed) this.#streamErrors++;
    const s = this.#standbys.get(id);
    if (s?.stream !== stream) return;
    this.#standbys.delete(id);
    this.quorum.remove(id);
  }

  sent(id: string, lsn: bigint): void {
    const s = this.#standbys.get(id);
    if (s && lsn > s.sentLsn) s.sentLsn = lsn;
  }

  /** The stream to a standby ended with an ERROR frame (the primary gave up on it). */
  errorSent(): void {
    this.#streamErrors++;
  }

  baseBackupSent(id: string): void {
    this.#baseBackups++;
    const s = this.#standbys.get(id);
    if (s) s.baseBackups++;
  }

  /**
   * Feedback from a standby. Only a standby with an open stream counts: feedback from one
   * whose stream is gone must not confirm synchronous writes. Returns false then.
   */
  feedback(id: string, flushedLsn: bigint, appliedLsn: bigint): boolean {
    const s = this.#standbys.get(id);
    if (!s) return false;
    if (flushedLsn > s.flushedLsn) s.flushedLsn = flushedLsn;
    if (appliedLsn > s.appliedLsn) s.appliedLsn = appliedLsn;
    s.lastFeedbackAt = this.now();
    this.quorum.report(id, s.flushedLsn);
    return true;
  }

  list(): StandbyInfo[] {
    return [...this.#standbys.values()].map(({ stream: _stream, ...info }) => ({ ...info }));
  }

  get baseBackups(): number {
    return this.#baseBackups;
  }

  get streamErrors(): number {
    return this.#streamErrors;
  }
}
