/**
 * The pure-TypeScript engine: the same behaviour and on-disk format as the native one
 * (docs/on-disk-format.md), single-threaded. It is the fallback where the addon does not
 * load and the yardstick in benchmarks. Disk work (write, fdatasync, checkpoint files)
 * runs on libuv's thread pool, so the JS thread never waits for the disk; recovery at
 * open is synchronous.
 *
 * This file is the Engine facade and the write path (conditions, LSNs, staging until
 * durable). The rest, one concept per file: table.ts (the table, the one apply function,
 * reads, sweeps), recovery.ts (open), wal-writer.ts (the flusher), checkpoint.ts.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { DurableCallback, Engine, EngineConfig, EngineStats, LogCallback, RawEntry } from '../types.js';
import {
  type Change,
  KIND_BATCH,
  KIND_DELETE,
  KIND_INCR,
  KIND_PUT,
  RECORD_HEADER,
  decodeBody,
  encodeDeleteBody,
  encodePutBody,
  writeRecord,
} from '../format.js';
import { writeCheckpoint } from './checkpoint.js';
import { coded } from './io.js';
import { PidLock } from './lock.js';
import { recover } from './recovery.js';
import { type Entry, Table, live } from './table.js';
import { WalWriter } from './wal-writer.js';

/** A write that is submitted but not yet applied (durability `always`). null = deleted. */
interface Pending {
  version: bigint;
  entry: Entry | null;
}

export class JsEngine implements Engine {
  private readonly table = new Table();
  private readonly pending = new Map<string, Pending>();
  /** Changes waiting for their fdatasync before they become visible (always). */
  private staged: Array<[bigint, Change[]]> = [];
  private nextLsn: bigint;
  private appliedLsn: bigint;
  private durableLsn: bigint;
  private readonly wal: WalWriter;
  private checkpointing: Promise<bigint> | null = null;
  private lastCheckpointLsn: bigint;
  private checkpoints = 0;
  /** The caller's clock as last seen by a write: automatic checkpoints use it for TTL. */
  private lastNow = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly lock: PidLock;

  private constructor(
    private readonly cfg: EngineConfig,
    private readonly onDurable: DurableCallback,
    private readonly onLog: LogCallback,
  ) {
    const walDir = path.join(cfg.dir, 'wal');
    fs.mkdirSync(walDir, { recursive: true });
    fs.mkdirSync(path.join(cfg.dir, 'base'), { recursive: true });
    this.lock = PidLock.acquire(cfg.dir);
    try {
      const r = recover(cfg, this.table, onLog);
      this.nextLsn = r.nextLsn;
      this.appliedLsn = r.nextLsn - 1n;
      this.durableLsn = r.nextLsn - 1n;
      this.lastCheckpointLsn = r.lastCheckpointLsn;
      this.wal = new WalWriter(cfg, walDir, r, {
        durable: (last) => this.groupDurable(last),
        failed: (err) => this.walFailed(err),
      });
      this.wal.openSegment(r.nextLsn);
    } catch (err) {
      this.lock.release();
      throw err;
    }
  }

  static open(cfg: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): JsEngine {
    return new JsEngine(cfg, onDurable, onLog);
  }

  // ---------------------------------------------------------------- reads (table.ts)

  private check(): void {
    if (this.closed) throw coded('CLOSED', 'the store is closed');
  }

  get(key: Buffer, now: number): Buffer | undefined {
    this.check();
    return this.table.get(key, now);
  }

  getInto(key: Buffer, now: number, target: Buffer): number {
    this.check();
    return this.table.getInto(key, now, target);
  }

  getEntry(key: Buffer, now: number): RawEntry | undefined {
    this.check();
    return this.table.getEntry(key, now);
  }

  scan(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer[] {
    this.check();
    return this.table.scan(start, end, limit, reverse, now);
  }

  count(start: Buffer | null, end: Buffer | null, now: number): number {
    this.check();
    return this.table.count(start, end, now);
  }

  sweep(now: number, budget: number): number {
    this.check();
    return this.table.sweep(now, budget);
  }

  // ---------------------------------------------------------------- writes

  /** The newest submitted state of key: pending (not yet durable) first, then the table. */
  private current(k: string, now: number): Entry | undefined {
    this.lastNow = now;
    const p = this.pending.get(k);
    const e = p ? p.entry : this.table.entries.get(k);
    return live(e, now) ? e : undefined;
  }

  private checkWritable(): void {
    if (this.closing) throw coded('CLOSED', 'the store is closing');
    if (this.wal.failed) throw coded('IO_ERROR', this.wal.failed.message);
  }

  private checkVersion(k: string, ifVersion: bigint, now: number): Entry | undefined {
    const cur = this.current(k, now);
    if (ifVersion >= 0n && (cur?.version ?? 0n) !== ifVersion) {
      throw coded('VERSION_MISMATCH', `expected version ${ifVersion}, found ${cur?.version ?? 0n}`);
    }
    return cur;
  }

  put(key: Buffer, value: Buffer, expiresAt: number, ifVersion: bigint, now: number): bigint {
    this.checkWritable();
    this.checkVersion(key.toString('latin1'), ifVersion, now);
    const v = Buffer.from(value);
    return this.submit(KIND_PUT, encodePutBody(key, v, expiresAt), [{ type: 'put', key, value: v, expiresAt }]);
  }

  del(key: Buffer, ifVersion: bigint, now: number): bigint {
    this.checkWritable();
    const cur = this.checkVersion(key.toString('latin1'), ifVersion, now);
    if (!cur) return 0n;
    return this.submit(KIND_DELETE, encodeDeleteBody(key), [{ type: 'del', key }]);
  }

  incr(key: Buffer, delta: bigint, now: number): [bigint, bigint] {
    this.checkWritable();
    const cur = this.current(key.toString('latin1'), now);
    let n = 0n;
    if (cur) {
      const text = cur.value.toString('latin1');
      if (!/^-?\d{1,19}$/.test(text)) throw coded('NOT_A_NUMBER', 'the value is not a decimal integer');
      n = BigInt(text);
    }
    const r = n + delta;
    if (r > 0x7fffffffffffffffn || r < -0x8000000000000000n) throw coded('NOT_A_NUMBER', 'the result overflows 64 bits');
    const value = Buffer.from(r.toString(), 'latin1');
    const expiresAt = cur?.expiresAt ?? 0;
    const lsn = this.submit(KIND_INCR, encodePutBody(key, value, expiresAt), [{ type: 'put', key, value, expiresAt }]);
    return [lsn, r];
  }

  batch(body: Buffer, _now: number): bigint {
    this.checkWritable();
    let changes: Change[];
    try {
      changes = decodeBody(KIND_BATCH, body);
    } catch (err) {
      throw coded('INVALID_ARGUMENT', `malformed batch: ${(err as Error).message}`);
    }
    for (const c of changes) if (c.type === 'put') c.value = Buffer.from(c.value);
    return this.submit(KIND_BATCH, Buffer.from(body), changes);
  }

  /** Assigns the LSN, queues the record, applies or stages the change. */
  private submit(kind: number, body: Buffer, changes: Change[]): bigint {
    const lsn = this.nextLsn++;
    const rec = Buffer.allocUnsafe(RECORD_HEADER + body.length);
    writeRecord(rec, 0, lsn, kind, body);
    this.wal.append(lsn, rec);
    if (this.cfg.durability === 0) {
      this.staged.push([lsn, changes]);
      for (const c of changes) {
        const entry = c.type === 'put' ? { value: c.value, version: lsn, expiresAt: c.expiresAt } : null;
        this.pending.set(c.key.toString('latin1'), { version: lsn, entry });
      }
    } else {
      this.table.applyChanges(changes, lsn, false);
      this.appliedLsn = lsn;
    }
    this.wal.submitted();
    return lsn;
  }

  /** The flusher wrote (and under `always` synced) every record up to `last`. */
  private groupDurable(last: bigint): void {
    if (this.cfg.durability === 0) this.applyStaged(last);
    this.durableLsn = last;
    this.onDurable(last);
    this.maybeAutoCheckpoint();
  }

  private applyStaged(upTo: bigint): void {
    while (this.staged.length > 0 && this.staged[0]![0] <= upTo) {
      const [lsn, changes] = this.staged.shift()!;
      this.table.applyChanges(changes, lsn, false);
      this.appliedLsn = lsn;
      for (const c of changes) {
        const k = c.key.toString('latin1');
        if (this.pending.get(k)?.version === lsn) this.pending.delete(k);
      }
    }
  }

  /** The WAL failed: pending writes fail, reads go on. */
  private walFailed(err: Error): void {
    this.staged = [];
    this.pending.clear();
    this.onLog('error', `WAL write failed, the store is now read-only: ${err.message}`);
    this.onDurable(this.durableLsn, 'IO_ERROR', err.message);
  }

  // ---------------------------------------------------------------- checkpoints (checkpoint.ts)

  private maybeAutoCheckpoint(): void {
    if (this.cfg.checkpointWalBytes > 0 && this.wal.walSinceCheckpoint >= this.cfg.checkpointWalBytes && !this.checkpointing) {
      this.checkpoint(this.lastNow).catch((err: Error) => this.onLog('error', `automatic checkpoint failed: ${err.message}`));
    }
  }

  checkpoint(now: number): Promise<bigint> {
    this.check();
    this.checkpointing ??= this.runCheckpoint(now).finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(now: number): Promise<bigint> {
    const redo = this.appliedLsn + 1n;
    this.wal.rotateFrom(this.nextLsn);
    this.wal.walSinceCheckpoint = 0;
    await writeCheckpoint(this.cfg.dir, this.table, redo, now);
    await this.wal.dropBefore(redo);
    this.lastCheckpointLsn = redo;
    this.checkpoints++;
    return redo;
  }

  // ---------------------------------------------------------------- stats and close

  stats(): EngineStats {
    this.check();
    const w = this.wal;
    return {
      keys: this.table.size,
      nextLsn: this.nextLsn,
      durableLsn: this.durableLsn,
      walBytes: w.walBytes,
      walSegments: w.segments.length,
      lastCheckpointLsn: this.lastCheckpointLsn,
      checkpoints: this.checkpoints,
      fsyncs: w.fsyncs,
      maxGroupCommit: w.maxGroupCommit,
      fsyncBuckets: [...w.fsyncBuckets],
      fsyncMicros: w.fsyncMicros,
      groupBuckets: [...w.groupBuckets],
      groupRecords: w.groupRecords,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.checkpointing?.catch(() => undefined);
    await this.wal.drain();
    if (!this.wal.failed && this.appliedLsn > 0n && this.appliedLsn + 1n > this.lastCheckpointLsn) {
      await this.checkpoint(this.lastNow).catch((err: Error) => this.onLog('error', `checkpoint at close failed: ${err.message}`));
    }
    this.closed = true;
    await this.wal.close();
    this.lock.release();
  }
}
