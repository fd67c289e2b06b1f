/**
 * Reading the pure-TS engine's WAL back from any LSN while the flusher appends to it: what
 * a primary streams to its standbys (docs/replication.md; the native twin is
 * native/core/engine_wal_read.cc). Records come from the segment files, bounded by the
 * flushed LSN, so only fdatasynced, whole records are returned. Where recent reads ended
 * is remembered, so a reader that follows the log does not rescan its segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WalChunk } from '../types.js';
import { MAX_RECORD_BODY, RECORD_HEADER, readRecord, segmentName } from '../format.js';
import { coded } from './io.js';

/** Bytes fetched per read (a record larger than this is read whole). */
const READ_BLOCK = 256 * 1024;
const POSITION_SLOTS = 32;

/** What the reader needs to know of the log at the moment of the call. */
export interface WalState {
  nextLsn: bigint;
  flushedLsn: bigint;
  /** First LSNs of the segments on disk, ascending (the writer's live list). */
  segments: () => readonly bigint[];
}

interface Position {
  lsn: bigint;
  segment: bigint;
  offset: number;
  used: number;
}

/** Sequential reads of one segment through a block buffer. */
class SegmentReader {
  private buf = Buffer.alloc(0);
  private bufOffset = 0;
  private bufLen = 0;

  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly file: string,
  ) {}

  /** The record at `offset` (a view, valid until the next call), or null at the end of the file. */
  async at(offset: number): Promise<Buffer | null> {
    await this.fill(offset, RECORD_HEADER);
    let have = this.have(offset);
    if (have.length === 0) return null;
    if (have.length < RECORD_HEADER) throw this.bad(offset, 'record header cut short');
    const size = RECORD_HEADER + have.readUInt32LE(4);
    if (size > RECORD_HEADER + MAX_RECORD_BODY) throw this.bad(offset, 'record length out of range');
    await this.fill(offset, size);
    have = this.have(offset);
    const r = readRecord(have.subarray(0, Math.min(have.length, size)), 0);
    if (!r.ok) throw this.bad(offset, `bad record (${r.reason})`);
    return have.subarray(0, r.next);
  }

  private have(offset: number): Buffer {
    if (offset < this.bufOffset || offset > this.bufOffset + this.bufLen) return Buffer.alloc(0);
    return this.buf.subarray(offset - this.bufOffset, this.bufLen);
  }

  private async fill(offset: number, n: number): Promise<void> {
    if (offset >= this.bufOffset && offset + n <= this.bufOffset + this.bufLen) return;
    const want = Math.max(n, READ_BLOCK);
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
    this.bufOffset = offset;
    this.bufLen = 0;
    while (this.bufLen < want) {
      const { bytesRead } = await this.fh.read(this.buf, this.bufLen, want - this.bufLen, offset + this.bufLen);
      if (bytesRead === 0) break;
      this.bufLen += bytesRead;
    }
  }

  private bad(offset: number, why: string): Error {
    return coded('CORRUPT', `WAL segment ${this.file} at offset ${offset}: ${why}`);
  }
}

export class WalSource {
  private readonly positions: Position[] = [];
  private clock = 0;

  constructor(private readonly walDir: string) {}

  /** Engine.readWal (ts/engine/types.ts) over `state`. */
  async read(fromLsn: bigint, maxBytes: number, state: WalState): Promise<WalChunk> {
    const empty: WalChunk = { records: Buffer.alloc(0), firstLsn: fromLsn, lastLsn: fromLsn - 1n };
    if (fromLsn < 1n) throw coded('INVALID_ARGUMENT', 'fromLsn must be at least 1');
    const flushed = state.flushedLsn;
    if (fromLsn > state.nextLsn) {
      throw coded('WAL_LSN_MISMATCH', `LSN ${fromLsn} is past the end of this WAL (next LSN ${state.nextLsn})`);
    }
    if (fromLsn > flushed) return empty;
    const segs = [...state.segments()];
    if (segs.length === 0 || fromLsn < segs[0]!) {
      throw coded('WAL_COMPACTED', `LSN ${fromLsn} was dropped by a checkpoint (oldest kept: ${segs[0] ?? state.nextLsn}); start from a base backup`);
    }
    let i = segs.length - 1;
    while (segs[i]! > fromLsn) i--;
    let lsn = segs[i]!;
    let offset = 0;
    const cached = this.find(fromLsn);
    if (cached && cached.segment === segs[i]) {
      lsn = fromLsn;
      offset = cached.offset;
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    let lastLsn = fromLsn - 1n;
    let full = false;
    for (;;) {
      const file = path.join(this.walDir, segmentName(segs[i]!));
      let fh: fs.promises.FileHandle;
      try {
        fh = await fs.promises.open(file, 'r');
      } catch (err) {
        // A checkpoint may have dropped it since the list was copied.
        const now = state.segments();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (now.length === 0 || now[0]! > segs[i]!)) {
          throw coded('WAL_COMPACTED', `LSN ${fromLsn} was dropped by a checkpoint while it was read`);
        }
        throw err;
      }
      try {
        const reader = new SegmentReader(fh, file);
        while (lsn <= flushed) {
          const rec = await reader.at(offset);
          if (rec === null) break;
          const recLsn = rec.readBigUInt64LE(8);
          if (recLsn !== lsn) throw coded('CORRUPT', `WAL segment ${file} at offset ${offset}: LSN ${recLsn} where ${lsn} was expected`);
          if (lsn >= fromLsn) {
            if (bytes > 0 && bytes + rec.length > maxBytes) {
              full = true;
              break;
            }
            parts.push(Buffer.from(rec));
            bytes += rec.length;
            lastLsn = lsn;
          }
          offset += rec.length;
          lsn++;
        }
      } finally {
        await fh.close();
      }
      if (full || lsn > flushed) break;
      // The segment ended before `flushed`: the next one must carry on at `lsn`.
      if (i + 1 >= segs.length || segs[i + 1] !== lsn) {
        throw coded('CORRUPT', `WAL segment ${file} ends at LSN ${lsn - 1n} but no segment starts at ${lsn}`);
      }
      i++;
      offset = 0;
    }
    this.note(lsn, segs[i]!, offset);
    return { records: Buffer.concat(parts, bytes), firstLsn: fromLsn, lastLsn };
  }

  private find(lsn: bigint): Position | undefined {
    const p = this.positions.find((q) => q.lsn === lsn);
    if (p) p.used = ++this.clock;
    return p;
  }

  private note(lsn: bigint, segment: bigint, offset: number): void {
    const used = ++this.clock;
    const same = this.positions.find((q) => q.lsn === lsn);
    if (same) {
      Object.assign(same, { segment, offset, used });
    } else if (this.positions.length < POSITION_SLOTS) {
      this.positions.push({ lsn, segment, offset, used });
    } else {
      const lru = this.positions.reduce((a, b) => (a.used <= b.used ? a : b));
      Object.assign(lru, { lsn, segment, offset, used });
    }
  }
}
