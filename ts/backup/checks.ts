/**
 * The checks verify and restore share: a stream's SHA-256 and size against the manifest, a
 * snapshot's structure (header, redo LSN, CRC-32C trailer) without holding it in memory,
 * and WAL record runs (CRC of every record, consecutive LSNs). Every failure is
 * BACKUP_CORRUPT naming the file.
 */
import { createHash } from 'node:crypto';
import { KvError } from '../errors.js';
import { FORMAT_VERSION, SNAP_END_MAGIC, SNAP_HEADER, SNAP_MAGIC, SNAP_TRAILER, readRecord } from '../engine/format.js';
import { crc32c } from '../engine/js/crc32c.js';

export function corrupt(file: string, why: string): KvError {
  return new KvError('BACKUP_CORRUPT', `${file}: ${why}`);
}

/** Hash and size of a stream as it passes (chunks are handed on unchanged). */
export class Digest {
  readonly #hash = createHash('sha256');
  bytes = 0;

  update(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }

  hex(): string {
    return this.#hash.digest('hex');
  }
}

export function checkDigest(file: string, d: Digest, want: { bytes: number; sha256: string }): void {
  if (d.bytes !== want.bytes) throw corrupt(file, `size ${d.bytes} bytes, the manifest says ${want.bytes} (truncated?)`);
  const got = d.hex();
  if (got !== want.sha256) throw corrupt(file, `SHA-256 ${got} does not match the manifest's ${want.sha256}`);
}

/** Checks a snapshot file's structure as its chunks stream past. */
export class SnapshotCheck {
  #crc = 0;
  /** The last SNAP_TRAILER bytes seen, held back from the CRC (they are the trailer). */
  #tail = Buffer.alloc(0);
  #header: Buffer[] = [];
  #headerBytes = 0;
  #total = 0;

  constructor(private readonly file: string, private readonly redo: bigint) {}

  update(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#headerBytes < SNAP_HEADER) {
      const take = chunk.subarray(0, SNAP_HEADER - this.#headerBytes);
      this.#header.push(Buffer.from(take));
      this.#headerBytes += take.length;
    }
    const all = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    const body = Math.max(0, all.length - SNAP_TRAILER);
    this.#crc = crc32c(all, this.#crc, 0, body);
    this.#tail = Buffer.from(all.subarray(body));
  }

  finish(): void {
    if (this.#total < SNAP_HEADER + SNAP_TRAILER) throw corrupt(this.file, `snapshot is ${this.#total} bytes: truncated`);
    const h = Buffer.concat(this.#header);
    if (!h.subarray(0, 8).equals(SNAP_MAGIC)) throw corrupt(this.file, 'not a snapshot (bad magic)');
    if (h.readUInt32LE(8) !== FORMAT_VERSION) throw corrupt(this.file, 'unsupported snapshot format version');
    if (h.readBigUInt64LE(16) !== this.redo) throw corrupt(this.file, `snapshot redo LSN ${h.readBigUInt64LE(16)} is not the manifest's ${this.redo}`);
    if (this.#tail.readUInt32LE(4) !== SNAP_END_MAGIC) throw corrupt(this.file, 'snapshot has no end marker: truncated');
    if (this.#tail.readUInt32LE(0) !== this.#crc) throw corrupt(this.file, 'snapshot CRC-32C mismatch');
  }
}

export interface RecordView {
  lsn: bigint;
  kind: number;
  body: Buffer;
  /** The whole record, as on disk. */
  bytes: Buffer;
}

/**
 * The records of a WAL file (whole records back to back), checked: each CRC, consecutive
 * LSNs from `first`. Throws BACKUP_CORRUPT naming the file and offset.
 */
export function* records(file: string, buf: Buffer, first: bigint): Generator<RecordView> {
  let at = 0;
  let want = first;
  while (at < buf.length) {
    const r = readRecord(buf, at);
    if (!r.ok) throw corrupt(file, `bad WAL record at offset ${at} (${r.reason})`);
    if (r.lsn !== want) throw corrupt(file, `LSN ${r.lsn} at offset ${at} where ${want} was expected (the LSN chain is broken)`);
    yield { lsn: r.lsn, kind: r.kind, body: r.body, bytes: buf.subarray(at, r.next) };
    at = r.next;
    want++;
  }
}
