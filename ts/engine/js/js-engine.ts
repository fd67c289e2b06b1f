/**
 * The pure-TypeScript engine: the same behaviour and on-disk format as the native one
 * (docs/on-disk-format.md), single-threaded. It is the fallback where the addon does not
 * load and the yardstick in benchmarks. Disk work (write, fdatasync, checkpoint files)
 * runs on libuv's thread pool, so the JS thread never waits for the disk; recovery at
 * open is synchronous.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DurableCallback, Engine, EngineConfig, EngineStats, LogCallback, RawEntry } from '../types.js';
import { FSYNC_BOUNDS_MICROS, GROUP_BOUNDS, addToBuckets } from '../types.js';
import {
  type Change,
  FormatError,
  KIND_BATCH,
  KIND_DELETE,
  KIND_FIRST_SKIPPABLE,
  KIND_INCR,
  KIND_PUT,
  RECORD_HEADER,
  SEGMENT_RE,
  SNAPSHOT_RE,
  SNAP_END_MAGIC,
  SNAP_ENTRY_FIXED,
  SNAP_HEADER,
  SNAP_MAGIC,
  SNAP_TRAILER,
  FORMAT_VERSION,
  decodeBody,
  decodeControl,
  encodeControl,
  encodeDeleteBody,
  encodePutBody,
  readRecord,
  segmentName,
  snapshotName,
  validRecordAfter,
  writeRecord,
} from '../format.js';
import { crc32c } from './crc32c.js';
import { PidLock } from './lock.js';
import { SortedKeys } from './sorted-keys.js';

const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const open = promisify(fs.open);

interface Entry {
  value: Buffer;
  version: bigint;
  expiresAt: number;
}

/** A write that is submitted but not yet applied (durability `always`). null = deleted. */
interface Pending {
  version: bigint;
  entry: Entry | null;
}

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const live = (e: Entry | null | undefined, now: number): e is Entry =>
  e != null && (e.expiresAt === 0 || e.expiresAt > now);

function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await fs.promises.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

export class JsEngine implements Engine {
  private readonly table = new Map<string, Entry>();
  private readonly index = new SortedKeys();
  private readonly pending = new Map<string, Pending>();
  /** Records submitted, not yet written: [lsn, framed bytes]. */
  private queue: Array<[bigint, Buffer]> = [];
  /** Changes waiting for their fdatasync before they become visible (always). */
  private staged: Array<[bigint, Change[]]> = [];
  private nextLsn: bigint;
  private appliedLsn: bigint;
  private durableLsn: bigint;
  /** Every record up to here is fdatasynced (== durableLsn under always and interval). */
  private syncedLsn: bigint;
  /** syncThrough() waits: the next flush pass fdatasyncs even under `none`, even with nothing to write. */
  private syncWanted = false;
  private segFd = -1;
  private segFirstLsn: bigint;
  private segBytes = 0;
  private segments: bigint[] = [];
  private walBytes = 0;
  private walSinceCheckpoint = 0;
  private rotateAt: bigint | null = null;
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private sweepIter: Iterator<[string, Entry]> | null = null;
  private checkpointing: Promise<bigint> | null = null;
  private lastCheckpointLsn = 0n;
  private checkpoints = 0;
  private fsyncs = 0;
  private fsyncBuckets: number[] = new Array<number>(FSYNC_BOUNDS_MICROS.length + 1).fill(0);
  private fsyncMicros = 0;
  private groupBuckets: number[] = new Array<number>(GROUP_BOUNDS.length + 1).fill(0);
  private groupRecords = 0;
  private maxGroupCommit = 0;
  private failed: Error | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly walDir: string;
  private readonly baseDir: string;
  private readonly lock: PidLock;

  private constructor(
    private readonly cfg: EngineConfig,
    private readonly onDurable: DurableCallback,
    private readonly onLog: LogCallback,
  ) {
    this.walDir = path.join(cfg.dir, 'wal');
    this.baseDir = path.join(cfg.dir, 'base');
    fs.mkdirSync(this.walDir, { recursive: true });
    fs.mkdirSync(this.baseDir, { recursive: true });
    this.lock = PidLock.acquire(cfg.dir);
    try {
      const next = this.recover();
      this.nextLsn = next;
      this.appliedLsn = next - 1n;
      this.durableLsn = next - 1n;
      this.syncedLsn = next - 1n;
      this.segFirstLsn = next;
      this.openSegment(next);
    } catch (err) {
      this.lock.release();
      throw err;
    }
  }

  static open(cfg: EngineConfig, onDurable: DurableCallback, onLog: LogCallback): JsEngine {
    return new JsEngine(cfg, onDurable, onLog);
  }

  // ---------------------------------------------------------------- recovery

  /** Loads control, snapshot and WAL; returns the next LSN. */
  private recover(): bigint {
    let redo = 1n;
    const controlPath = path.join(this.cfg.dir, 'control');
    if (fs.existsSync(controlPath)) {
      let control;
      try {
        control = decodeControl(fs.readFileSync(controlPath));
      } catch (err) {
        throw coded('CORRUPT', `${controlPath}: ${(err as Error).message}`);
      }
      redo = control.redoLsn;
      this.lastCheckpointLsn = redo;
      this.loadSnapshot(path.join(this.baseDir, snapshotName(redo)), redo);
    }
    const names = fs.readdirSync(this.walDir).filter((n) => SEGMENT_RE.test(n)).sort();
    const firsts = names.map((n) => BigInt('0x' + n.slice(0, 16)));
    let expected: bigint | null = null;
    for (let i = 0; i < names.length; i++) {
      const next = firsts[i + 1];
      if (next !== undefined && next <= redo) continue; // wholly before the redo point
      const file = path.join(this.walDir, names[i]!);
      const buf = fs.readFileSync(file);
      const isLast = i === names.length - 1;
      let at = 0;
      for (;;) {
        const r = readRecord(buf, at);
        const want: bigint = expected ?? firsts[i]!;
        if (!r.ok) {
          if (r.reason === 'end') break;
          if (isLast && !validRecordAfter(buf, at + 1, want + 1n)) {
            this.onLog('warn', `torn WAL tail in ${file} at offset ${at} (${r.reason}): truncated`);
            this.truncateFile(file, at);
            break;
          }
          this.corruptAt(file, at, `bad record (${r.reason})`, names.slice(i + 1));
          break;
        }
        if (at === 0 && r.lsn !== firsts[i]) {
          // A segment is named after its first record; one that is not cannot be placed in LSN order.
          this.corruptAt(file, at, `segment ${names[i]} begins with LSN ${r.lsn}`, names.slice(i + 1));
          break;
        }
        if (expected === null && r.lsn > redo) {
          this.corruptAt(file, at, `WAL starts at LSN ${r.lsn} but replay must start at ${redo}: segments are missing`, names.slice(i + 1));
          break;
        }
        if (r.lsn !== want) {
          this.corruptAt(file, at, `LSN ${r.lsn} where ${want} was expected`, names.slice(i + 1));
          break;
        }
        if (r.lsn >= redo && r.kind < KIND_FIRST_SKIPPABLE) {
          let changes: Change[];
          try {
            changes = decodeBody(r.kind, r.body);
          } catch (err) {
            if (!(err instanceof FormatError)) throw err;
            this.corruptAt(file, at, err.message, names.slice(i + 1));
            break;
          }
          this.applyChanges(changes, r.lsn, true);
        }
        expected = r.lsn + 1n;
        at = r.next;
      }
      if (this.stopReplay) break;
    }
    this.segments = fs
      .readdirSync(this.walDir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort()
      .map((n) => BigInt('0x' + n.slice(0, 16)));
    for (const s of this.segments) this.walBytes += fs.statSync(path.join(this.walDir, segmentName(s))).size;
    return expected !== null && expected > redo ? expected : redo;
  }

  private stopReplay = false;
  /** The caller's clock as last seen by a write: automatic checkpoints use it for TTL. */
  private lastNow = 0;

  /** Corruption: refuse to open, or (truncateCorruptTail) cut the WAL here, loudly. */
  private corruptAt(file: string, offset: number, why: string, later: string[]): void {
    if (!this.cfg.truncateCorruptTail) {
      throw coded('CORRUPT', `WAL corrupt in ${file} at offset ${offset}: ${why}`);
    }
    this.onLog('error', `WAL corrupt in ${file} at offset ${offset}: ${why}; truncating there and discarding ${later.length} later segment(s) as truncateCorruptTail asked`);
    this.truncateFile(file, offset);
    for (const n of later) fs.unlinkSync(path.join(this.walDir, n));
    fsyncDirSync(this.walDir);
    this.stopReplay = true;
  }

  private truncateFile(file: string, size: number): void {
    const fd = fs.openSync(file, 'r+');
    try {
      fs.ftruncateSync(fd, size);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private loadSnapshot(file: string, redo: bigint): void {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw coded('CORRUPT', `${file}: snapshot named by control is missing (${(err as Error).message})`);
    }
    const bad = (why: string): Error => coded('CORRUPT', `snapshot ${file}: ${why}`);
    if (buf.length < SNAP_HEADER + SNAP_TRAILER || !buf.subarray(0, 8).equals(SNAP_MAGIC)) throw bad('bad header');
    const end = buf.length - SNAP_TRAILER;
    if (buf.readUInt32LE(end + 4) !== SNAP_END_MAGIC) throw bad('bad trailer (incomplete file?)');
    if (crc32c(buf, 0, 0, end) !== buf.readUInt32LE(end)) throw bad('CRC mismatch');
    if (buf.readUInt32LE(8) !== FORMAT_VERSION) throw bad('unsupported format version');
    if (buf.readBigUInt64LE(16) !== redo) throw bad('redo LSN does not match control');
    const count = buf.readBigUInt64LE(24);
    let at = SNAP_HEADER;
    for (let n = 0n; n < count; n++) {
      if (at + SNAP_ENTRY_FIXED > end) throw bad(`entry ${n} truncated`);
      const klen = buf.readUInt32LE(at);
      const vlen = buf.readUInt32LE(at + 4);
      const version = buf.readBigUInt64LE(at + 8);
      const expiresAt = Number(buf.readBigUInt64LE(at + 16));
      const k = at + SNAP_ENTRY_FIXED;
      if (klen === 0 || k + klen + vlen > end || version >= redo) throw bad(`entry ${n} out of range`);
      const key = buf.toString('latin1', k, k + klen);
      if (!this.table.has(key)) this.index.insert(key);
      this.table.set(key, { value: Buffer.from(buf.subarray(k + klen, k + klen + vlen)), version, expiresAt });
      at = k + klen + vlen;
    }
    if (at !== end) throw bad('trailing bytes after the last entry');
  }

  // ---------------------------------------------------------------- reads

  private check(): void {
    if (this.closed) throw coded('CLOSED', 'the store is closed');
  }

  get(key: Buffer, now: number): Buffer | undefined {
    this.check();
    const e = this.table.get(key.toString('latin1'));
    return live(e, now) ? Buffer.from(e.value) : undefined;
  }

  getInto(key: Buffer, now: number, target: Buffer): number {
    this.check();
    const e = this.table.get(key.toString('latin1'));
    if (!live(e, now)) return -1;
    if (e.value.length > target.length) return -(e.value.length + 2);
    e.value.copy(target);
    return e.value.length;
  }

  getEntry(key: Buffer, now: number): RawEntry | undefined {
    this.check();
    const e = this.table.get(key.toString('latin1'));
    return live(e, now) ? [Buffer.from(e.value), e.version, e.expiresAt] : undefined;
  }

  scan(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer[] {
    this.check();
    const s = start && start.toString('latin1');
    const e = end && end.toString('latin1');
    const out: Buffer[] = [];
    for (const k of reverse ? this.index.rangeReverse(s, e) : this.index.range(s, e)) {
      const entry = this.table.get(k);
      if (!live(entry, now)) continue;
      out.push(Buffer.from(k, 'latin1'), Buffer.from(entry.value));
      if (limit > 0 && out.length >= limit * 2) break;
    }
    return out;
  }

  count(start: Buffer | null, end: Buffer | null, now: number): number {
    this.check();
    let n = 0;
    for (const k of this.index.range(start && start.toString('latin1'), end && end.toString('latin1'))) {
      if (live(this.table.get(k), now)) n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- writes

  /** The newest submitted state of key: pending (not yet durable) first, then the table. */
  private current(k: string, now: number): Entry | undefined {
    this.lastNow = now;
    const p = this.pending.get(k);
    const e = p ? p.entry : this.table.get(k);
    return live(e, now) ? e : undefined;
  }

  private checkWritable(): void {
    if (this.closing) throw coded('CLOSED', 'the store is closing');
    if (this.failed) throw coded('IO_ERROR', this.failed.message);
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
    this.queue.push([lsn, rec]);
    if (this.cfg.durability === 0) {
      this.staged.push([lsn, changes]);
      for (const c of changes) {
        const entry = c.type === 'put' ? { value: c.value, version: lsn, expiresAt: c.expiresAt } : null;
        this.pending.set(c.key.toString('latin1'), { version: lsn, entry });
      }
      this.kick();
    } else {
      this.applyChanges(changes, lsn, false);
      this.appliedLsn = lsn;
      if (this.cfg.durability === 2) this.kick();
      else if (this.flushTimer === null) {
        // interval: the first record after a flush arms the timer; it stays referenced so
        // the process does not exit with records unwritten.
        this.flushTimer = setTimeout(() => {
          this.flushTimer = null;
          this.kick();
        }, this.cfg.intervalMs);
      }
    }
    return lsn;
  }

  private applyChanges(changes: Change[], lsn: bigint, recovering: boolean): void {
    for (const c of changes) {
      const k = c.key.toString('latin1');
      if (c.type === 'put') {
        if (!this.table.has(k)) this.index.insert(k);
        const value = recovering ? Buffer.from(c.value) : c.value;
        this.table.set(k, { value, version: lsn, expiresAt: c.expiresAt });
      } else if (this.table.delete(k)) {
        this.index.delete(k);
      }
    }
  }

  // ---------------------------------------------------------------- flusher

  /** Starts a flush unless one is running (it loops until the queue is empty). */
  private kick(): void {
    if (this.flushing || this.failed || (this.queue.length === 0 && !this.syncWanted)) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      this.kick(); // records submitted while the loop was finishing
    });
  }

  private async flushLoop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // let a burst of submits join this group
    while ((this.queue.length > 0 || this.syncWanted) && !this.failed) {
      const group = this.queue;
      this.queue = [];
      const sync = this.cfg.durability !== 2 || this.syncWanted;
      this.syncWanted = false;
      try {
        await this.writeGroup(group, sync);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      if (group.length === 0) {
        this.syncedLsn = this.durableLsn;
        continue;
      }
      const last = group[group.length - 1]![0];
      if (sync) this.syncedLsn = last;
      if (this.cfg.durability === 0) this.applyStaged(last);
      this.durableLsn = last;
      this.maxGroupCommit = Math.max(this.maxGroupCommit, group.length);
      addToBuckets(this.groupBuckets, GROUP_BOUNDS, group.length);
      this.groupRecords += group.length;
      this.onDurable(last);
      this.maybeAutoCheckpoint();
    }
  }

  /** Writes the group, cut at segment boundaries; `sync`: fdatasync each part (or, if empty, the segment). */
  private async writeGroup(group: Array<[bigint, Buffer]>, sync: boolean): Promise<void> {
    if (group.length === 0) {
      if (sync) await this.timedSync();
      return;
    }
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
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
      for (let off = 0; off < buf.length; ) off += (await write(this.segFd, buf, off, buf.length - off)).bytesWritten;
      this.segBytes += bytes;
      this.walBytes += bytes;
      this.walSinceCheckpoint += bytes;
      if (sync) await this.timedSync();
    }
  }

  private async timedSync(): Promise<void> {
    const t0 = performance.now();
    await fdatasync(this.segFd);
    const us = Math.round((performance.now() - t0) * 1000);
    this.fsyncs++;
    this.fsyncMicros += us;
    addToBuckets(this.fsyncBuckets, FSYNC_BOUNDS_MICROS, us);
  }

  /**
   * Resolves once every record up to `lsn` is written and fdatasynced, whatever the policy
   * (the flusher does it, so a sync never races a segment switch). Rejects with the WAL's
   * failure.
   */
  private async syncThrough(lsn: bigint): Promise<void> {
    while (this.syncedLsn < lsn) {
      if (this.failed) throw this.failed;
      this.syncWanted = true;
      this.kick();
      await this.flushing;
    }
  }

  private openSegment(first: bigint): void {
    const file = path.join(this.walDir, segmentName(first));
    this.segFd = fs.openSync(file, 'a', 0o600);
    this.segBytes = fs.fstatSync(this.segFd).size;
    this.segFirstLsn = first;
    if (!this.segments.includes(first)) this.segments.push(first);
    fsyncDirSync(this.walDir);
  }

  /** Closes the current segment (synced) and starts a new one whose first record is `first`. */
  private async rotate(first: bigint): Promise<void> {
    await fdatasync(this.segFd);
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

  private applyStaged(upTo: bigint): void {
    while (this.staged.length > 0 && this.staged[0]![0] <= upTo) {
      const [lsn, changes] = this.staged.shift()!;
      this.applyChanges(changes, lsn, false);
      this.appliedLsn = lsn;
      for (const c of changes) {
        const k = c.key.toString('latin1');
        if (this.pending.get(k)?.version === lsn) this.pending.delete(k);
      }
    }
  }

  /** fsync failed: never retry (PostgreSQL, 2018). Pending writes fail; reads go on. */
  private fail(err: Error): void {
    this.failed = err;
    this.queue = [];
    this.staged = [];
    this.pending.clear();
    this.onLog('error', `WAL write failed, the store is now read-only: ${err.message}`);
    this.onDurable(this.durableLsn, 'IO_ERROR', err.message);
  }

  // ---------------------------------------------------------------- background work

  sweep(now: number, budget: number): number {
    this.check();
    let removed = 0;
    this.sweepIter ??= this.table.entries();
    for (let i = 0; i < budget; i++) {
      const n = this.sweepIter.next();
      if (n.done) {
        this.sweepIter = null;
        break;
      }
      const [k, e] = n.value;
      if (e.expiresAt !== 0 && e.expiresAt <= now && this.table.get(k) === e) {
        this.table.delete(k);
        this.index.delete(k);
        removed++;
      }
    }
    return removed;
  }

  private maybeAutoCheckpoint(): void {
    if (this.cfg.checkpointWalBytes > 0 && this.walSinceCheckpoint >= this.cfg.checkpointWalBytes && !this.checkpointing) {
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
    this.rotateAt = this.nextLsn;
    this.walSinceCheckpoint = 0;
    const final = path.join(this.baseDir, snapshotName(redo));
    const tmp = final + '.tmp';
    const fh = await fs.promises.open(tmp, 'w+', 0o600);
    try {
      const header = Buffer.alloc(SNAP_HEADER);
      SNAP_MAGIC.copy(header, 0);
      header.writeUInt32LE(FORMAT_VERSION, 8);
      header.writeBigUInt64LE(redo, 16);
      await fh.write(header, 0, SNAP_HEADER, 0);
      let count = 0n;
      let pos = SNAP_HEADER;
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const flush = async (): Promise<void> => {
        const b = Buffer.concat(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await fh.write(b, 0, b.length, pos);
        pos += b.length;
      };
      // Fuzzy copy: entries are copied in slices between turns of the event loop, so
      // writers keep going; versions plus replay from `redo` make the result exact.
      for (const [k, e] of this.table) {
        if (e.expiresAt !== 0 && e.expiresAt <= now) continue;
        if (e.version >= redo) continue; // replay from redo restores it
        const rec = Buffer.allocUnsafe(SNAP_ENTRY_FIXED + k.length + e.value.length);
        rec.writeUInt32LE(k.length, 0);
        rec.writeUInt32LE(e.value.length, 4);
        rec.writeBigUInt64LE(e.version, 8);
        rec.writeBigUInt64LE(BigInt(e.expiresAt), 16);
        rec.write(k, SNAP_ENTRY_FIXED, 'latin1');
        e.value.copy(rec, SNAP_ENTRY_FIXED + k.length);
        chunk.push(rec);
        chunkBytes += rec.length;
        count++;
        if (chunk.length >= 1024) await flush(); // a slice is ~1k entries: a short pause for writers
      }
      await flush();
      header.writeBigUInt64LE(count, 24);
      await fh.write(header, 0, SNAP_HEADER, 0);
      // The CRC covers the header, whose count is known only now: read the file back
      // (it is in the page cache) rather than hold a copy of the table in memory.
      const trailer = Buffer.alloc(SNAP_TRAILER);
      trailer.writeUInt32LE(await this.crcOfFile(fh, pos), 0);
      trailer.writeUInt32LE(SNAP_END_MAGIC, 4);
      await fh.write(trailer, 0, SNAP_TRAILER, pos);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, final);
    await fsyncDir(this.baseDir);
    // The copy skipped every entry whose version is >= redo, trusting replay to restore it.
    // Under interval/none the table holds writes the WAL may not have yet, so before the
    // snapshot becomes the recovery base, the WAL must hold (synced) every record the copy
    // could have seen; else a crash loses such a key's older value too (not a prefix).
    // Under `always` the table holds only synced records and this returns at once.
    await this.syncThrough(this.appliedLsn);
    const control = encodeControl({ catalogVersion: 0, redoLsn: redo, checkpointTimeMs: Date.now() });
    const ctmp = path.join(this.cfg.dir, 'control.tmp');
    await fs.promises.writeFile(ctmp, control, { mode: 0o600 });
    const cfh = await fs.promises.open(ctmp, 'r+');
    await cfh.sync();
    await cfh.close();
    await fs.promises.rename(ctmp, path.join(this.cfg.dir, 'control'));
    await fsyncDir(this.cfg.dir);
    await this.dropBefore(redo);
    this.lastCheckpointLsn = redo;
    this.checkpoints++;
    return redo;
  }

  private async crcOfFile(fh: fs.promises.FileHandle, length: number): Promise<number> {
    const buf = Buffer.allocUnsafe(Math.min(length, 1 << 20));
    let crc = 0;
    for (let off = 0; off < length; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - off), off);
      crc = crc32c(buf, crc, 0, bytesRead);
      off += bytesRead;
    }
    return crc;
  }

  /** Removes older snapshots and the segments wholly before redo. */
  private async dropBefore(redo: bigint): Promise<void> {
    for (const n of await fs.promises.readdir(this.baseDir)) {
      if ((SNAPSHOT_RE.test(n) && n !== snapshotName(redo)) || n.endsWith('.snap.tmp')) {
        await fs.promises.unlink(path.join(this.baseDir, n));
      }
    }
    const keep: bigint[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const next = this.segments[i + 1];
      if (next !== undefined && next <= redo && this.segments[i] !== this.segFirstLsn) {
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

  stats(): EngineStats {
    this.check();
    return {
      keys: this.table.size,
      nextLsn: this.nextLsn,
      durableLsn: this.durableLsn,
      walBytes: this.walBytes,
      walSegments: this.segments.length,
      lastCheckpointLsn: this.lastCheckpointLsn,
      checkpoints: this.checkpoints,
      fsyncs: this.fsyncs,
      maxGroupCommit: this.maxGroupCommit,
      fsyncBuckets: [...this.fsyncBuckets],
      fsyncMicros: this.fsyncMicros,
      groupBuckets: [...this.groupBuckets],
      groupRecords: this.groupRecords,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.checkpointing?.catch(() => undefined);
    while (this.flushing || (this.queue.length > 0 && !this.failed)) {
      this.kick();
      await this.flushing;
    }
    if (!this.failed && this.appliedLsn > 0n && this.appliedLsn + 1n > this.lastCheckpointLsn) {
      await this.checkpoint(this.lastNow).catch((err: Error) => this.onLog('error', `checkpoint at close failed: ${err.message}`));
    }
    this.closed = true;
    if (this.segFd >= 0) {
      if (!this.failed) await fsync(this.segFd).catch(() => undefined);
      await close(this.segFd);
      this.segFd = -1;
    }
    this.lock.release();
  }
}
