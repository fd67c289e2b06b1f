/**
 * Continuous WAL archiving (kvstored's `archive`): ships the flushed WAL to a repository as
 * immutable chunks `wal/<first>-<last>.wal`, each whole records with consecutive LSNs. A
 * chunk goes when `chunkBytes` of WAL are waiting, or when `partialIntervalMs` passed
 * since the last shipment and anything is waiting (which bounds what a lost disk can take
 * with it). The archiver holds retainWal at the first LSN not yet archived, so no
 * checkpoint drops a segment the archive lacks, however long the target fails. A failing
 * target never stops writes: each failure is logged (error level, the SDK's or the file
 * system's message, no credentials), counted, and retried with backoff.
 *
 * While it runs it also writes a TIME marker (kind 129, u64 ms) about once per
 * `timeMarkerMs` when records were written since the last one: what restore --until-time
 * cuts at (restore.ts). Standbys write none (their WAL is the primary's).
 */
import { KvError } from '../errors.js';
import { KIND_TIME } from '../engine/format.js';
import type { ReplicationPort } from '../replication/port.js';
import { lastLsn } from '../replication/wal-sender.js';
import { listArchive } from './catalog.js';
import { archiveKey } from './manifest.js';
import type { Repo } from './repo.js';

export interface ArchiverOptions {
  partialIntervalMs: number;
  /** Ship as soon as this much WAL waits (default 16 MiB). */
  chunkBytes?: number;
  /** TIME marker period, ms (default 1000; 0 = none). */
  timeMarkerMs?: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Test hook: called with each chunk's key after it is stored. */
  onShipped?: (key: string) => void;
}

export interface ArchiverStatus {
  /** Every record <= it is in the archive (0 before the first shipment). */
  lastArchivedLsn: bigint;
  /** flushed LSN - lastArchivedLsn. */
  lagLsn: bigint;
  /** Bytes of WAL waiting at the last look: the records waiting times the mean record size shipped (an estimate). */
  lagBytes: number;
  chunks: number;
  bytes: number;
  failures: number;
  lastError: string | null;
  lastSuccessMs: number;
}

const TICK_MS = 200;
const MAX_BACKOFF_MS = 30_000;

export class WalArchiver {
  readonly #port: ReplicationPort;
  readonly #repo: Repo;
  readonly #o: Required<Omit<ArchiverOptions, 'onShipped'>> & Pick<ArchiverOptions, 'onShipped'>;
  #next = 0n;
  #release: () => void = () => {};
  #timer: NodeJS.Timeout | null = null;
  #markerTimer: NodeJS.Timeout | null = null;
  #lastMarkerLsn = 0n;
  #running: Promise<void> | null = null;
  #stopped = false;
  #lastShip = Date.now();
  /** Records shipped since start (with status.bytes: the mean record size). */
  #records = 0;
  #backoffUntil = 0;
  #backoffMs = 0;
  readonly #status: ArchiverStatus = { lastArchivedLsn: 0n, lagLsn: 0n, lagBytes: 0, chunks: 0, bytes: 0, failures: 0, lastError: null, lastSuccessMs: 0 };

  constructor(port: ReplicationPort, repo: Repo, options: ArchiverOptions) {
    this.#port = port;
    this.#repo = repo;
    this.#o = { chunkBytes: 16 << 20, timeMarkerMs: 1000, ...options };
  }

  /** Finds where the archive ends, pins the WAL from there and starts shipping. */
  async start(): Promise<void> {
    const oldest = this.#port.oldestLsn();
    let from = oldest;
    // Pin first, so nothing is dropped while the archive is listed.
    this.#release = this.#port.retainWal(oldest);
    try {
      const chunks = await listArchive(this.#repo);
      const last = chunks.reduce((a, c) => (c.last > a ? c.last : a), 0n);
      if (last > 0n) {
        this.#status.lastArchivedLsn = last;
        from = last + 1n;
        if (from < oldest) {
          this.#o.log('warn', `archive: ${this.#repo.location} ends at LSN ${last} but this WAL starts at ${oldest}: LSNs ${last + 1n}..${oldest - 1n} are not archived (restores cannot cross that gap; take a new base backup)`);
          from = oldest;
        }
        const flushedNext = this.#port.positions().nextLsn;
        if (from > flushedNext) {
          throw new KvError('REPLICATION_MISMATCH', `archive: ${this.#repo.location} already holds WAL up to LSN ${last}, past this store's ${flushedNext - 1n}: it belongs to another store or timeline; use a new archive location`);
        }
      }
    } catch (err) {
      // An unreachable target at start is a failure like any other: keep the WAL pinned and retry.
      if ((err as KvError).code === 'REPLICATION_MISMATCH') {
        this.#release();
        throw err;
      }
      this.#fail(err);
    }
    this.#next = from;
    this.#repin(from);
    this.#o.log('info', `archive: shipping WAL from LSN ${from} to ${this.#repo.location}`);
    this.#timer = setInterval(() => void this.#tick(), TICK_MS);
    this.#timer.unref();
    if (this.#o.timeMarkerMs > 0) {
      this.#markerTimer = setInterval(() => this.#marker(), this.#o.timeMarkerMs);
      this.#markerTimer.unref();
    }
  }

  status(): ArchiverStatus {
    const flushed = this.#port.positions().flushedLsn;
    const a = this.#status.lastArchivedLsn;
    return { ...this.#status, lagLsn: flushed > a ? flushed - a : 0n };
  }

  /** Writes a TIME marker now if records were written since the last one (primary only). */
  #marker(): void {
    const p = this.#port.positions();
    if (p.nextLsn - 1n <= this.#lastMarkerLsn) return;
    try {
      const body = Buffer.alloc(8);
      body.writeBigUInt64LE(BigInt(Date.now()));
      this.#lastMarkerLsn = this.#port.writeMarker(KIND_TIME, body);
    } catch {
      /* a standby (READ_ONLY) or a closed store: no markers */
    }
  }

  #repin(lsn: bigint): void {
    const old = this.#release;
    this.#release = this.#port.retainWal(lsn);
    old();
  }

  #fail(err: unknown): void {
    this.#status.failures++;
    const msg = err instanceof Error ? err.message : String(err);
    this.#status.lastError = msg;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 1000 : this.#backoffMs * 2);
    this.#backoffUntil = Date.now() + this.#backoffMs;
    this.#o.log('error', `archive: shipping WAL to ${this.#repo.location} failed (${this.#status.failures} failure(s); WAL from LSN ${this.#next} is kept until it succeeds; retry in ${this.#backoffMs} ms): ${msg}`);
  }

  #tick(): void {
    if (this.#running || this.#stopped || Date.now() < this.#backoffUntil) return;
    void this.#exclusive(false).catch((err: unknown) => this.#fail(err));
  }

  /** Runs #shipOnce with no other shipment in flight (ticks and flush() never overlap). */
  async #exclusive(force: boolean): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
    const run = this.#shipOnce(force);
    this.#running = run;
    try {
      await run;
    } finally {
      if (this.#running === run) this.#running = null;
    }
  }

  /**
   * Ships what is flushed when a chunk's worth waits, the partial interval passed, or
   * `force`. Whether a chunk's worth waits is judged from the LSN count and the mean record
   * size shipped so far, so a tick that ships nothing reads nothing.
   */
  async #shipOnce(force: boolean): Promise<void> {
    for (let round = 0; round < 64; round++) {
      const flushed = this.#port.positions().flushedLsn;
      if (this.#next > flushed) {
        this.#status.lagBytes = 0;
        return;
      }
      const waiting = Number(flushed - this.#next + 1n);
      const meanRecord = this.#records > 0 ? this.#status.bytes / this.#records : 64;
      this.#status.lagBytes = Math.round(waiting * meanRecord);
      const due = force || Date.now() - this.#lastShip >= this.#o.partialIntervalMs;
      if (!due && waiting * meanRecord < this.#o.chunkBytes) return;
      const first = this.#next;
      const recs = await this.#port.readWal(first, this.#o.chunkBytes);
      if (recs.length === 0) return;
      if (recs.readBigUInt64LE(8) !== first) throw new KvError('INTERNAL', `archive: the WAL read at LSN ${first} began at LSN ${recs.readBigUInt64LE(8)}`);
      const last = lastLsn(recs);
      const full = recs.length >= this.#o.chunkBytes || last < flushed;
      if (!full && !due) return;
      const key = archiveKey(first, last);
      await this.#repo.put(key, recs);
      this.#status.chunks++;
      this.#status.bytes += recs.length;
      this.#records += Number(last - first + 1n);
      this.#status.lastArchivedLsn = last;
      this.#status.lastSuccessMs = Date.now();
      this.#status.lagBytes = 0;
      if (this.#backoffMs > 0) this.#o.log('info', `archive: shipping to ${this.#repo.location} works again (archived through LSN ${last})`);
      this.#backoffMs = 0;
      this.#lastShip = Date.now();
      this.#next = last + 1n;
      this.#repin(this.#next);
      this.#o.onShipped?.(key);
      if (!full) return;
    }
  }

  /** Ships everything flushed now (a partial chunk included). Rejects if the target fails. */
  async flush(): Promise<void> {
    await this.#exclusive(true);
  }

  /**
   * Stops: a last TIME marker, everything flushed shipped (best effort: a failing target is
   * logged), the WAL pin released. Call before closing the store.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#markerTimer) clearInterval(this.#markerTimer);
    if (this.#o.timeMarkerMs > 0) this.#marker();
    // Let the last records (and that marker) reach the disk, so they are shipped too (bounded).
    const want = this.#port.positions().nextLsn - 1n;
    for (let i = 0; i < 100 && this.#port.positions().flushedLsn < want; i++) await new Promise((r) => setTimeout(r, 20));
    try {
      await this.flush();
    } catch (err) {
      this.#fail(err);
    }
    this.#stopped = true;
    this.#release();
  }
}
