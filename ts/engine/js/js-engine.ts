/**
 * The pure-TypeScript engine: the same behaviour and on-disk format as the native one
 * (docs/on-disk-format.md), single-threaded. It is the fallback where the addon does not
 * load and the yardstick in benchmarks. Disk work (write, fdatasync, checkpoint files)
 * runs on libuv's thread pool, so the JS thread never waits for the disk; recovery at
 * open is synchronous.
 *
 * This file is the Engine facade, the write path (conditions, LSNs, staging until
 * durable) and the standby's append path (docs/replication.md). The rest, one concept per
 * file: table.ts (the table, the one apply function, reads, sweeps), recovery.ts (open),
 * wal-writer.ts (the flusher), wal-source.ts (reading the WAL back), replicated.ts
 * (checking received records), checkpoint.ts.
 */
import path from 'node:path';
import fs from 'node:fs';
import type {
  DurableCallback, Engine, EngineConfig, EngineRole, EngineStats, FlushedListener, LogCallback, RawEntry, WalChunk, WalPositions,
} from '../types.js';
import {
  type Change,
  KIND_BATCH,
  KIND_DELETE,
  KIND_FIRST_SKIPPABLE,
  KIND_INCR,
  KIND_PUT,
  MAX_LSN,
  RECORD_HEADER,
  decodeBody,
  decodeChecks,
  encodeDeleteBody,
  encodePutBody,
  writeRecord,
} from '../format.js';
import { writeCheckpoint } from './checkpoint.js';
import { coded } from './io.js';
import { PidLock } from './lock.js';
import { recover } from './recovery.js';
import { checkReplicated } from './replicated.js';
import { type Entry, Table, live } from './table.js';
import { WalSource } from './wal-source.js';
import { WalWriter } from './wal-writer.js';

/** A write that is submitted but not yet applied (durability `always`). null = deleted. */
interface Pending {
  version: bigint;
  entry: Entry | null;
}

/**
 * What waits for its fdatasync before it is applied: a local write under `always`
 * (decoded changes), or replicated records under any policy (applied through
 * Table.applyRecord). `lsn` is its last LSN.
 */
type Staged = { lsn: bigint; changes: Change[] } | { lsn: bigint; replicated: Array<[bigint, Buffer]> };

interface AppendWaiter {
  lsn: bigint;
  resolve: (lsn: bigint) => void;
  reject: (err: Error) => void;
}

export class JsEngine implements Engine {
  private readonly table = new Table();
  private readonly pending = new Map<string, Pending>();
  /** Waiting for their fdatasync before they become visible, in LSN order. */
  private staged: Staged[] = [];
  private currentRole: EngineRole;
  private promoting = false;
  /** appendReplicated promises, in LSN order. */
  private appends: AppendWaiter[] = [];
  private readonly flushedListeners = new Set<FlushedListener>();
  private lastFlushed: bigint;
  private readonly source: WalSource;
  private nextLsn: bigint;
  private appliedLsn: bigint;
  private durableLsn: bigint;
  private readonly wal: WalWriter;
  private checkpointing: Promise<bigint> | null = null;
  private lastCheckpointLsn: bigint;
  private lastCheckpointTimeMs: number;
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
    this.currentRole = cfg.role;
    this.source = new WalSource(walDir);
    this.lock = PidLock.acquire(cfg.dir);
    try {
      const r = recover(cfg, this.table, onLog);
      this.nextLsn = r.nextLsn;
      this.appliedLsn = r.nextLsn - 1n;
      this.durableLsn = r.nextLsn - 1n;
      this.lastCheckpointLsn = r.lastCheckpointLsn;
      this.lastCheckpointTimeMs = r.lastCheckpointTimeMs;
      this.lastFlushed = r.nextLsn - 1n;
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
    if (this.currentRole !== 'primary') throw coded('READ_ONLY', 'this store is a standby: it takes writes only from its primary');
    if (this.nextLsn > MAX_LSN) {
      throw coded('LSN_EXHAUSTED', `the next LSN ${this.nextLsn} is past the last one a record may get (${MAX_LSN}): this store takes no more writes; copy its data to a new store`);
    }
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

  batchIf(body: Buffer, checks: Buffer, now: number): bigint {
    let parsed: Array<{ key: Buffer; version: bigint }>;
    try {
      parsed = decodeChecks(checks);
    } catch (err) {
      throw coded('INVALID_ARGUMENT', `malformed transaction checks: ${(err as Error).message}`);
    }
    let changes: Change[] = [];
    if (body.length > 0) {
      try {
        changes = decodeBody(KIND_BATCH, body);
      } catch (err) {
        throw coded('INVALID_ARGUMENT', `malformed batch: ${(err as Error).message}`);
      }
      this.checkWritable();
    } else {
      this.check();
      if (this.closing) throw coded('CLOSED', 'the store is closing');
    }
    for (const c of parsed) {
      const found = this.current(c.key.toString('latin1'), now)?.version ?? 0n;
      if (found !== c.version) throw coded('VERSION_MISMATCH', `a key the transaction read changed: expected version ${c.version}, found ${found}`);
    }
    this.lastNow = now;
    if (body.length === 0) return 0n;
    for (const c of changes) if (c.type === 'put') c.value = Buffer.from(c.value);
    return this.submit(KIND_BATCH, Buffer.from(body), changes);
  }

  writeMarker(kind: number, body: Buffer): bigint {
    this.checkWritable();
    if (!Number.isInteger(kind) || kind < KIND_FIRST_SKIPPABLE || kind > 255) throw coded('INVALID_ARGUMENT', 'a marker record needs an optional kind (128..255)');
    return this.submit(kind, Buffer.from(body), []);
  }

  retainWal(lsn: bigint): () => void {
    return this.wal.retain(lsn);
  }

  /** Assigns the LSN, queues the record, applies or stages the change. */
  private submit(kind: number, body: Buffer, changes: Change[]): bigint {
    const lsn = this.nextLsn++;
    const rec = Buffer.allocUnsafe(RECORD_HEADER + body.length);
    writeRecord(rec, 0, lsn, kind, body);
    this.wal.append(lsn, rec);
    if (this.cfg.durability === 0) {
      this.staged.push({ lsn, changes });
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

  /** The flusher wrote every record up to `last` (synced up to wal.flushedLsn). */
  private groupDurable(last: bigint): void {
    this.applyStaged(this.wal.flushedLsn);
    this.durableLsn = last;
    this.onDurable(last);
    const w = this.appends;
    let i = 0;
    for (; i < w.length && w[i]!.lsn <= this.appliedLsn; i++) w[i]!.resolve(w[i]!.lsn);
    if (i > 0) this.appends = w.slice(i);
    if (this.wal.flushedLsn > this.lastFlushed) {
      this.lastFlushed = this.wal.flushedLsn;
      for (const l of [...this.flushedListeners]) l(this.lastFlushed);
    }
    this.maybeAutoCheckpoint();
  }

  /** Applies what waited for a sync that now covers it, in LSN order. */
  private applyStaged(upTo: bigint): void {
    while (this.staged.length > 0 && this.staged[0]!.lsn <= upTo) {
      const st = this.staged.shift()!;
      if ('replicated' in st) {
        // Checked whole by appendReplicated: applyRecord cannot refuse them.
        for (const [lsn, rec] of st.replicated) this.table.applyRecord(lsn, rec[16]!, rec.subarray(RECORD_HEADER));
        this.appliedLsn = st.lsn;
        continue;
      }
      this.table.applyChanges(st.changes, st.lsn, false);
      this.appliedLsn = st.lsn;
      for (const c of st.changes) {
        const k = c.key.toString('latin1');
        if (this.pending.get(k)?.version === st.lsn) this.pending.delete(k);
      }
    }
  }

  /** The WAL failed: pending writes and appends fail, reads go on. */
  private walFailed(err: Error): void {
    this.staged = [];
    this.pending.clear();
    this.onLog('error', `WAL write failed, the store is now read-only: ${err.message}`);
    this.onDurable(this.durableLsn, 'IO_ERROR', err.message);
    const failed = coded('IO_ERROR', err.message);
    for (const a of this.appends) a.reject(failed);
    this.appends = [];
    for (const l of [...this.flushedListeners]) l(this.wal.flushedLsn, 'IO_ERROR');
  }

  // ---------------------------------------------------------------- replication (docs/replication.md)

  async readWal(fromLsn: bigint, maxBytes: number): Promise<WalChunk> {
    this.check();
    return await this.source.read(fromLsn, maxBytes, {
      nextLsn: this.nextLsn,
      flushedLsn: this.wal.flushedLsn,
      segments: () => this.wal.segments,
    });
  }

  appendReplicated(records: Buffer, firstLsn: bigint): Promise<bigint> {
    try {
      return this.queueReplicated(records, firstLsn);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Synchronous up to the returned promise, so appends are taken in call order. */
  private queueReplicated(records: Buffer, firstLsn: bigint): Promise<bigint> {
    const checked = checkReplicated(records, firstLsn);
    if (this.closing || this.closed) throw coded('CLOSED', 'the store is closed');
    if (this.wal.failed) throw coded('IO_ERROR', this.wal.failed.message);
    if (this.currentRole !== 'standby' || this.promoting) throw coded('NOT_STANDBY', 'only a standby appends replicated records');
    if (firstLsn !== this.nextLsn) {
      throw coded('WAL_LSN_MISMATCH', `replicated records start at LSN ${firstLsn} but this standby's next LSN is ${this.nextLsn}`);
    }
    const copy = Buffer.from(records); // the caller may reuse its buffer
    const recs: Array<[bigint, Buffer]> = checked.records.map(([lsn, start, end]) => [lsn, copy.subarray(start, end)]);
    for (const [lsn, rec] of recs) this.wal.append(lsn, rec);
    this.nextLsn = checked.lastLsn + 1n;
    this.staged.push({ lsn: checked.lastLsn, replicated: recs });
    this.wal.forceSync = true;
    this.wal.kick();
    return new Promise<bigint>((resolve, reject) => {
      this.appends.push({ lsn: checked.lastLsn, resolve, reject });
    });
  }

  async promote(): Promise<void> {
    this.check();
    if (this.closing) throw coded('CLOSED', 'the store is closing');
    if (this.currentRole !== 'standby' || this.promoting) throw coded('NOT_STANDBY', 'only a standby can be promoted');
    this.promoting = true;
    try {
      // No record arrives any more and client writes are still refused: once everything
      // received is applied, local writes continue the log in LSN order.
      await this.wal.drain();
      if (this.wal.failed) throw coded('IO_ERROR', this.wal.failed.message);
      if (this.closing) throw coded('CLOSED', 'the store closed during the promotion');
      this.currentRole = 'primary';
    } finally {
      this.promoting = false;
    }
  }

  walPositions(): WalPositions {
    this.check();
    return { nextLsn: this.nextLsn, durableLsn: this.durableLsn, flushedLsn: this.wal.flushedLsn, appliedLsn: this.appliedLsn };
  }

  role(): EngineRole {
    this.check();
    return this.currentRole;
  }

  onFlushed(listener: FlushedListener): () => void {
    this.flushedListeners.add(listener);
    return () => {
      this.flushedListeners.delete(listener);
    };
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
    // The copy skips every entry whose version is >= redo, trusting replay to restore it.
    // Under interval/none the table holds writes the WAL may not have yet, so before the
    // snapshot becomes the recovery base, the WAL must hold (synced) every record the copy
    // could have seen; else a crash loses such a key's older value too (not a prefix).
    // Under `always` the table holds only synced records and this returns at once.
    this.lastCheckpointTimeMs = await writeCheckpoint(this.cfg.dir, this.table, redo, now, () => this.wal.syncThrough(this.appliedLsn));
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
      flushedLsn: w.flushedLsn,
      appliedLsn: this.appliedLsn,
      role: this.currentRole,
      walBytes: w.walBytes,
      walSegments: w.segments.length,
      lastCheckpointLsn: this.lastCheckpointLsn,
      lastCheckpointTimeMs: this.lastCheckpointTimeMs,
      checkpoints: this.checkpoints,
      fsyncs: w.fsyncs,
      maxGroupCommit: w.maxGroupCommit,
      fsyncBuckets: [...w.fsyncBuckets],
      fsyncMicros: w.fsyncMicros,
      groupBuckets: [...w.groupBuckets],
      groupRecords: w.groupRecords,
    };
  }

  close(options?: { checkpoint?: boolean }): Promise<void> {
    this.closing ??= this.doClose(options?.checkpoint !== false);
    return this.closing;
  }

  private async doClose(checkpoint: boolean): Promise<void> {
    await this.checkpointing?.catch(() => undefined);
    await this.wal.drain();
    if (checkpoint && !this.wal.failed && this.appliedLsn > 0n && this.appliedLsn + 1n > this.lastCheckpointLsn) {
      await this.checkpoint(this.lastNow).catch((err: Error) => this.onLog('error', `checkpoint at close failed: ${err.message}`));
    }
    this.closed = true;
    await this.wal.close();
    this.lock.release();
  }
}
