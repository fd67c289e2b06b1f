/**
 * The pure-TS engine's WAL writer and flusher: framed records queue here in LSN order; a
 * flush loop writes each group to the current segment (cutting it at segment boundaries
 * and where a checkpoint asked for a new segment), fdatasyncs it unless durability is
 * `none` (a group holding replicated records is synced whatever the policy), keeps the
 * flushed LSN, and tells the engine through `hooks.durable`. Disk work runs on libuv's thread
 * pool. An fdatasync failure is final (PostgreSQL, 2018): the queue is dropped and
 * `hooks.failed` is told once; nothing is written again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EngineConfig } from '../types.js';
import { FSYNC_BOUNDS_MICROS, GROUP_BOUNDS, addToBuckets } from '../types.js';
import { segmentName } from '../format.js';
import { fsyncDir, fsyncDirSync } from './io.js';

const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const open = promisify(fs.open);

export interface WalHooks {
  /** Every record with lsn <= last is written (and fdatasynced unless durability is `none`); see flushedLsn. */
  durable(last: bigint): void;
  /** The WAL can no longer be written; called once. */
  failed(err: Error): void;
}

export class WalWriter {
  /** Records submitted, not yet written: [lsn, framed bytes]. */
  private queue: Array<[bigint, Buffer]> = [];
  private segFd = -1;
  private segFirstLsn = 0n;
  private segBytes = 0;
  /** First LSNs of the segments on disk, ascending. */
  segments: bigint[];
  walBytes: number;
  walSinceCheckpoint = 0;
  private rotateAt: bigint | null = null;
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  fsyncs = 0;
  readonly fsyncBuckets: number[] = new Array<number>(FSYNC_BOUNDS_MICROS.length + 1).fill(0);
  fsyncMicros = 0;
  readonly groupBuckets: number[] = new Array<number>(GROUP_BOUNDS.length + 1).fill(0);
  groupRecords = 0;
  maxGroupCommit = 0;
  failed: Error | null = null;
  /** Every record <= it is fdatasynced. */
  flushedLsn: bigint;
  /** Every record <= it is written to the current or an earlier segment. */
  private writtenLsn: bigint;
  /** The next group is fdatasynced whatever the policy (replicated records are in it). */
  forceSync = false;
  /** retain(): LSNs whose segments dropBefore must keep. */
  private readonly retained = new Map<object, bigint>();
  /** syncThrough() waits: the next flush pass fdatasyncs even under `none`, even with nothing queued. */
  private syncWanted = false;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly walDir: string,
    recovered: { segments: bigint[]; walBytes: number; nextLsn: bigint },
    private readonly hooks: WalHooks,
  ) {
    this.segments = recovered.segments;
    this.walBytes = recovered.walBytes;
    this.flushedLsn = recovered.nextLsn - 1n; // recovery synced what it replayed
    this.writtenLsn = this.flushedLsn;
  }

  /** Opens (creating) the segment whose first record will be `first`; at open only. */
  openSegment(first: bigint): void {
    const file = path.join(this.walDir, segmentName(first));
    this.segFd = fs.openSync(file, 'a', 0o600);
    this.segBytes = fs.fstatSync(this.segFd).size;
    this.segFirstLsn = first;
    if (!this.segments.includes(first)) this.segments.push(first);
    fsyncDirSync(this.walDir);
  }

  /** Queues a framed record; LSNs must be appended in order. Call `submitted` after a burst. */
  append(lsn: bigint, rec: Buffer): void {
    this.queue.push([lsn, rec]);
  }

  /**
   * After records were appended: `always` and `none` flush at once (the flush loop lets
   * the rest of the turn's burst join the group); `interval` arms a timer on the first
   * record after a flush. The timer stays referenced so the process does not exit with
   * records unwritten.
   */
  submitted(): void {
    if (this.cfg.durability !== 1) {
      this.kick();
    } else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.kick();
      }, this.cfg.intervalMs);
    }
  }

  /** The next record with lsn >= `lsn` starts a new segment (a checkpoint's redo point). */
  rotateFrom(lsn: bigint): void {
    this.rotateAt = lsn;
  }

  /**
   * Resolves once every record up to `lsn` is written and fdatasynced, whatever the policy
   * (the flush loop does it, so a sync never races a segment switch). Rejects with the WAL's
   * failure.
   */
  async syncThrough(lsn: bigint): Promise<void> {
    while (this.flushedLsn < lsn) {
      if (this.failed) throw this.failed;
      this.syncWanted = true;
      this.kick();
      await this.flushing;
    }
  }

  /** Starts a flush unless one is running (it loops until the queue is empty). */
  kick(): void {
    if (this.flushing || this.failed || (this.queue.length === 0 && !this.syncWanted)) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      this.kick(); // records submitted while the loop was finishing
    });
  }

  /** Writes everything queued (close): stops the interval timer and waits for the flush loop. */
  async drain(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.flushing || (this.queue.length > 0 && !this.failed)) {
      this.kick();
      await this.flushing;
    }
  }

  /** Closes the current segment, fsynced unless the WAL failed. */
  async close(): Promise<void> {
    if (this.segFd < 0) return;
    if (!this.failed) await fsync(this.segFd).catch(() => undefined);
    await close(this.segFd);
    this.segFd = -1;
  }

  private async flushLoop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // let a burst of submits join this group
    while ((this.queue.length > 0 || this.syncWanted) && !this.failed) {
      const group = this.queue;
      this.queue = [];
      const sync = this.cfg.durability !== 2 || this.forceSync || this.syncWanted;
      this.forceSync = false;
      this.syncWanted = false;
      try {
        if (group.length === 0) {
          // Only a sync was asked for: everything written so far becomes flushed.
          await this.timedSync();
          continue;
        }
        await this.writeGroup(group, sync);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      const last = group[group.length - 1]![0];
      this.maxGroupCommit = Math.max(this.maxGroupCommit, group.length);
      addToBuckets(this.groupBuckets, GROUP_BOUNDS, group.length);
      this.groupRecords += group.length;
      this.hooks.durable(last);
    }
  }

  private async writeGroup(group: Array<[bigint, Buffer]>, sync: boolean): Promise<void> {
    let i = 0;
    while (i < group.length) {
      // Cut the group at the next segment boundary.
      const parts: Buffer[] = [];
      let bytes = 0;
      for (; i < group.length; i++) {
        const [lsn, rec] = group[i]!;
        const full = this.segBytes + bytes + rec.length > this.cfg.walSegmentBytes && this.segBytes + bytes > 0;
        if (full || (this.rotateAt !== null && lsn >= this.rotateAt && this.segFirstLsn < this.rotateAt)) {
          if (parts.length > 0) break;
          await this.rotate(lsn);
        }
        parts.push(rec);
        bytes += rec.length;
      }
      const last = group[i - 1]![0];
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
      for (let off = 0; off < buf.length; ) off += (await write(this.segFd, buf, off, buf.length - off)).bytesWritten;
      this.segBytes += bytes;
      this.walBytes += bytes;
      this.walSinceCheckpoint += bytes;
      this.writtenLsn = last;
      if (sync) await this.timedSync();
    }
  }

  /** fdatasyncs the current segment: every record written so far is flushed. */
  private async timedSync(): Promise<void> {
    const written = this.writtenLsn;
    const t0 = performance.now();
    await fdatasync(this.segFd);
    const us = Math.round((performance.now() - t0) * 1000);
    this.fsyncs++;
    this.fsyncMicros += us;
    addToBuckets(this.fsyncBuckets, FSYNC_BOUNDS_MICROS, us);
    if (written > this.flushedLsn) this.flushedLsn = written;
  }

  /** Closes the current segment (synced) and starts a new one whose first record is `first`. */
  private async rotate(first: bigint): Promise<void> {
    await fdatasync(this.segFd);
    // Every record before the new segment's first is in the one just synced.
    if (first - 1n > this.flushedLsn) this.flushedLsn = first - 1n;
    await close(this.segFd);
    this.segFd = -1;
    this.rotateAt = null;
    const file = path.join(this.walDir, segmentName(first));
    this.segFd = await open(file, 'a', 0o600);
    this.segBytes = 0;
    this.segFirstLsn = first;
    this.segments.push(first);
    await fsyncDir(this.walDir);
  }

  /** fsync failed: never retry (PostgreSQL, 2018). */
  private fail(err: Error): void {
    this.failed = err;
    this.queue = [];
    this.hooks.failed(err);
  }

  /** Keeps every record >= lsn on disk (dropBefore spares its segment) until released. */
  retain(lsn: bigint): () => void {
    const token = {};
    this.retained.set(token, lsn);
    return () => void this.retained.delete(token);
  }

  /**
   * Deletes every segment wholly before `redo` (its successor starts at or before redo),
   * sparing the segment of every retained LSN and all after it.
   */
  async dropBefore(redo: bigint): Promise<void> {
    let keepFrom = redo;
    for (const lsn of this.retained.values()) if (lsn < keepFrom) keepFrom = lsn;
    const keep: bigint[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const next = this.segments[i + 1];
      if (next !== undefined && next <= keepFrom && this.segments[i] !== this.segFirstLsn) {
        const file = path.join(this.walDir, segmentName(this.segments[i]!));
        this.walBytes -= (await fs.promises.stat(file)).size;
        await fs.promises.unlink(file);
      } else {
        keep.push(this.segments[i]!);
      }
    }
    this.segments = keep;
    await fsyncDir(this.walDir);
  }
}
