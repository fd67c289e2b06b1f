/**
 * Frames of the replication stream (docs/replication.md, "Protocol"). The primary answers
 * `GET /v1/replication/stream` with a chunked body of frames; HTTP chunk boundaries mean
 * nothing, so the reader below reassembles frames from arbitrary chunks.
 *
 * ```
 * offset size field
 * 0      4    crc      CRC-32C of bytes [4, 12 + length): length, kind, reserved, payload
 * 4      4    length   payload length, 0 .. MAX_FRAME_PAYLOAD
 * 8      1    kind     FrameKind
 * 9      3    reserved zero
 * 12     n    payload
 * header = 4 + 4 + 1 + 3 = 12 bytes
 * ```
 * A WAL frame's payload is a run of whole WAL records exactly as on disk (each with its own
 * CRC and LSN, docs/on-disk-format.md), so the frame CRC guards the transport and the
 * record CRCs guard the data end to end. Kinds 0 and 9..127 are refused; 128..255 are
 * optional (a reader skips them), as with WAL record kinds.
 */
import { crc32c } from '../engine/js/crc32c.js';
import { KvError } from '../errors.js';

export const FRAME_HEADER = 4 + 4 + 1 + 3;
/** A WAL frame holds at most one maximal record (256 MiB body) plus its header. */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024 + 64;

export const FrameKind = {
  /** First frame: JSON Hello (the primary's identity, timeline history and LSN range). */
  HELLO: 1,
  /** Whole WAL records, consecutive LSNs, each durable on the primary. */
  WAL: 2,
  /** u64 durableLsn · u64 primary clock (ms): sent when idle, so lag and liveness show. */
  KEEPALIVE: 3,
  /** JSON BaseBegin: a base backup follows (the standby's LSN is older than the primary's WAL). */
  BASE_BEGIN: 4,
  /** A chunk of the base backup's snapshot file, in order. */
  BASE_DATA: 5,
  /** u64 snapshot length: the snapshot is complete; WAL frames from its redo LSN follow. */
  BASE_END: 6,
  /** JSON { code, message }: the primary ends the stream with this error. */
  ERROR: 7,
  /** u64 newTimelineId · u64 switchLsn: this primary was promoted; the stream ends after it. */
  TIMELINE: 8,
} as const;
export type FrameKindCode = (typeof FrameKind)[keyof typeof FrameKind];
const LAST_KNOWN_KIND = 8;
const FIRST_OPTIONAL_KIND = 128;

export interface Frame {
  kind: number;
  payload: Buffer;
}

/** Encodes one frame. */
export function encodeFrame(kind: FrameKindCode, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new KvError('INVALID_ARGUMENT', `frame payload of ${payload.length} bytes is over the limit`);
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt8(kind, 8);
  out.fill(0, 9, 12);
  payload.copy(out, FRAME_HEADER);
  out.writeUInt32LE(crc32c(out, 0, 4, out.length), 0);
  return out;
}

export function encodeJsonFrame(kind: FrameKindCode, value: unknown): Buffer {
  return encodeFrame(kind, Buffer.from(JSON.stringify(value), 'utf8'));
}

export function encodeU64Pair(kind: FrameKindCode, a: bigint, b: bigint): Buffer {
  const p = Buffer.allocUnsafe(16);
  p.writeBigUInt64LE(a, 0);
  p.writeBigUInt64LE(b, 8);
  return encodeFrame(kind, p);
}

export function decodeU64Pair(frame: Frame): [bigint, bigint] {
  if (frame.payload.length !== 16) throw protocolError(`frame kind ${frame.kind} must carry 16 bytes, has ${frame.payload.length}`);
  return [frame.payload.readBigUInt64LE(0), frame.payload.readBigUInt64LE(8)];
}

export function decodeJson<T>(frame: Frame, check: (v: unknown) => v is T): T {
  let v: unknown;
  try {
    v = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw protocolError(`frame kind ${frame.kind} does not hold valid JSON`);
  }
  if (!check(v)) throw protocolError(`frame kind ${frame.kind} has an unexpected shape`);
  return v;
}

export function protocolError(message: string): KvError {
  return new KvError('REPLICATION_PROTOCOL', message);
}

/**
 * Reassembles frames from stream chunks. `push` returns every frame completed by the chunk;
 * a bad CRC, a reserved byte set, an oversized length or an unknown required kind throws
 * REPLICATION_PROTOCOL naming the stream offset, and the reader is then unusable (the
 * caller drops the connection; nothing it applied came from the bad frame).
 * `end()` throws if the stream stopped inside a frame.
 */
export class FrameReader {
  private readonly parts: Buffer[] = [];
  private buffered = 0;
  /** Stream offset of the first buffered byte. */
  private offset = 0;
  private failed: KvError | undefined;

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= FRAME_HEADER) {
      const head = this.peek(FRAME_HEADER);
      const length = head.readUInt32LE(4);
      const kind = head.readUInt8(8);
      if (length > MAX_FRAME_PAYLOAD) this.fail(`frame length ${length} is over the limit`);
      if (head.readUInt8(9) !== 0 || head.readUInt16LE(10) !== 0) this.fail('reserved frame bytes are not zero');
      if (kind === 0 || (kind > LAST_KNOWN_KIND && kind < FIRST_OPTIONAL_KIND)) this.fail(`unknown frame kind ${kind}`);
      if (this.buffered < FRAME_HEADER + length) break;
      const whole = this.take(FRAME_HEADER + length);
      if (crc32c(whole, 0, 4, whole.length) !== whole.readUInt32LE(0)) this.fail(`frame CRC mismatch (kind ${kind}, ${length} bytes)`);
      this.offset += whole.length;
      if (kind >= FIRST_OPTIONAL_KIND) continue;
      frames.push({ kind, payload: whole.subarray(FRAME_HEADER) });
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  end(): void {
    if (this.failed) throw this.failed;
    if (this.buffered > 0) this.fail(`the stream ended inside a frame (${this.buffered} bytes of it received)`);
  }

  private fail(why: string): never {
    this.failed = protocolError(`replication stream at byte ${this.offset}: ${why}`);
    throw this.failed;
  }

  /** The first n buffered bytes (copied only when they span chunks). */
  private peek(n: number): Buffer {
    const first = this.parts[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.parts, this.buffered).subarray(0, n);
  }

  private take(n: number): Buffer {
    let first = this.parts[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.parts, this.buffered);
      this.parts.length = 0;
      this.parts.push(first);
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.parts.shift();
    else this.parts[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
