/**
 * The primary's side of streaming replication (docs/replication.md, "Protocol").
 *
 *   GET  /v1/replication/stream?from=<lsn>&standby=<id>   → 200, a chunked body of frames
 *   POST /v1/replication/feedback {standby, flushedLsn, appliedLsn} → 204
 *
 * Stream states, in order:
 *   HELLO      always first: system id, timeline history, durable and oldest LSN.
 *   BASE_*     only when `from` is older than the oldest WAL on disk: the newest checkpoint's
 *              snapshot (BASE_BEGIN, BASE_DATA chunks, BASE_END); the WAL then starts at its
 *              redo LSN.
 *   WAL        whole durable records from `from` on, in LSN order, each frame at most
 *              WAL_FRAME_BYTES unless one record is larger; then every record as it becomes
 *              durable.
 *   KEEPALIVE  after KEEPALIVE_MS without a WAL frame (durable LSN and clock: lag and liveness).
 *   ERROR      the stream cannot go on (e.g. WAL compacted mid-stream); then the body ends.
 * The stream never ends on its own otherwise; the standby closes it, or the server when it
 * closes (`closing`), after sending every record flushed by then: kvstored closes the server
 * after its last writes, so a standby connected at a clean shutdown has everything.
 * Backpressure: frames are produced by an async generator that fastify pulls, so a slow
 * standby holds at most one frame plus the socket buffers in the primary's memory.
 * Feedback goes on a separate request (the stream is one-way HTTP/1.1): it keeps proxies,
 * TLS, mTLS and authentication exactly as for every other route, at the price of one small
 * POST per flushed group.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeControl, readRecord, snapshotName } from '../engine/format.js';
import { KvError } from '../errors.js';
import { FrameKind, encodeFrame, encodeJsonFrame, encodeU64Pair } from './frames.js';
import type { ReplicationPort } from './port.js';
import type { StandbyRegistry } from './standbys.js';
import { historyToJson, type History } from './timeline.js';

export const WAL_FRAME_BYTES = 1024 * 1024;
export const BASE_CHUNK_BYTES = 1024 * 1024;
export const KEEPALIVE_MS = 1000;
export const STANDBY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
export const STREAM_CONTENT_TYPE = 'application/x-kvstore-replication';

export interface Hello {
  systemId: string;
  history: ReturnType<typeof historyToJson>;
  /** The primary's durable LSN when the stream opened. */
  durableLsn: string;
  /** The oldest LSN its WAL still holds. */
  oldestLsn: string;
  engine: 'native' | 'js';
}

export interface BaseBegin {
  redoLsn: string;
  snapshotBytes: number;
  catalogVersion: number;
  checkpointTimeMs: number;
}

export interface WalSenderOptions {
  /** The store's replication port while the store is open as a primary. */
  port: () => ReplicationPort;
  /** The current history (it changes when this node is promoted). */
  history: () => History;
  registry: StandbyRegistry;
  /** Throws (401/403 KvError) unless the request may replicate. */
  authorize: (request: FastifyRequest) => void;
  /** Resolves when the server closes: every stream sends what is flushed, then ends. */
  closing: Promise<void>;
}

/** Registers the two replication routes on `app` (mounted under /v1). */
export function walSenderRoutes(app: FastifyInstance, o: WalSenderOptions): void {
  app.get('/replication/stream', {
    // Hidden from the OpenAPI document: the node-to-node protocol (docs/replication.md), not a client API.
    schema: {
      hide: true,
      summary: 'Stream the WAL to a standby (replication permission)',
      querystring: {
        type: 'object',
        required: ['from', 'standby'],
        additionalProperties: false,
        properties: { from: { type: 'string', pattern: '^[1-9][0-9]{0,19}$' }, standby: { type: 'string', pattern: STANDBY_ID_RE.source } },
      },
    },
  }, async (request, reply) => {
    o.authorize(request);
    const q = request.query as { from: string; standby: string };
    const from = BigInt(q.from);
    const port = o.port();
    const token = o.registry.connect(q.standby, request.ip);
    const stop = new AbortController();
    void o.closing.then(() => stop.abort());
    const body = Readable.from(frames(port, o, q.standby, from, stop.signal), { objectMode: false, highWaterMark: 1 });
    let failed = false;
    body.on('error', () => (failed = true));
    body.on('close', () => {
      stop.abort();
      o.registry.disconnect(q.standby, token, failed);
    });
    // The response's close: the standby went away (or the server is closing the socket).
    reply.raw.on('close', () => body.destroy());
    reply.header('cache-control', 'no-store').type(STREAM_CONTENT_TYPE);
    return reply.send(body);
  });

  app.post('/replication/feedback', {
    schema: {
      hide: true,
      summary: 'A standby reports its flushed and applied LSNs',
      body: {
        type: 'object',
        required: ['standby', 'flushedLsn', 'appliedLsn'],
        additionalProperties: false,
        properties: {
          standby: { type: 'string', pattern: STANDBY_ID_RE.source },
          flushedLsn: { type: 'string', pattern: '^(0|[1-9][0-9]{0,19})$' },
          appliedLsn: { type: 'string', pattern: '^(0|[1-9][0-9]{0,19})$' },
        },
      },
    },
  }, async (request, reply) => {
    o.authorize(request);
    const b = request.body as { standby: string; flushedLsn: string; appliedLsn: string };
    if (!o.registry.feedback(b.standby, BigInt(b.flushedLsn), BigInt(b.appliedLsn))) {
      throw new KvError('NOT_FOUND', `standby ${b.standby} has no open stream`);
    }
    return reply.code(204).send();
  });
}

/** The frames of one stream (see the header comment for their order). */
async function* frames(port: ReplicationPort, o: WalSenderOptions, standby: string, from: bigint, signal: AbortSignal): AsyncGenerator<Buffer> {
  const hello: Hello = {
    systemId: o.history().systemId,
    history: historyToJson(o.history()),
    durableLsn: port.positions().flushedLsn.toString(),
    oldestLsn: port.oldestLsn().toString(),
    engine: port.engineKind,
  };
  yield encodeJsonFrame(FrameKind.HELLO, hello);
  let next = from;
  let release: () => void = () => {};
  try {
    if (from < port.oldestLsn()) {
      const base = openBaseBackup(port);
      release = base.release;
      try {
        yield encodeJsonFrame(FrameKind.BASE_BEGIN, base.begin);
        let sent = 0;
        const chunk = Buffer.allocUnsafe(BASE_CHUNK_BYTES);
        while (sent < base.begin.snapshotBytes) {
          const n = fs.readSync(base.fd, chunk, 0, Math.min(BASE_CHUNK_BYTES, base.begin.snapshotBytes - sent), sent);
          if (n <= 0) throw new KvError('IO_ERROR', `snapshot ended after ${sent} of ${base.begin.snapshotBytes} bytes`);
          sent += n;
          yield encodeFrame(FrameKind.BASE_DATA, Buffer.from(chunk.subarray(0, n)));
        }
        const end = Buffer.alloc(16);
        end.writeBigUInt64LE(BigInt(sent), 0);
        yield encodeFrame(FrameKind.BASE_END, end);
      } finally {
        fs.closeSync(base.fd);
      }
      o.registry.baseBackupSent(standby);
      next = BigInt(base.begin.redoLsn);
    } else {
      release = port.retainWal(from);
    }
    let wake: (() => void) | undefined;
    const unsubscribe = port.onFlushed(() => wake?.());
    const abort = () => wake?.();
    signal.addEventListener('abort', abort);
    try {
      for (;;) {
        // Once aborted (the server closes, or the standby went away), send what is flushed, then end.
        const last = signal.aborted;
        if (next <= port.positions().flushedLsn) {
          const records = await port.readWal(next, WAL_FRAME_BYTES);
          if (records.length > 0) {
            const last = lastLsn(records);
            yield encodeFrame(FrameKind.WAL, records);
            o.registry.sent(standby, last);
            next = last + 1n;
            release();
            release = port.retainWal(next);
            continue;
          }
        }
        if (last) break;
        const woke = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), KEEPALIVE_MS);
          wake = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
        wake = undefined;
        if (!woke && !signal.aborted) yield encodeU64Pair(FrameKind.KEEPALIVE, port.positions().flushedLsn, BigInt(Date.now()));
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', abort);
    }
  } catch (err) {
    const e = err instanceof KvError ? err : new KvError('IO_ERROR', (err as Error).message);
    o.registry.errorSent();
    yield encodeJsonFrame(FrameKind.ERROR, { code: e.code, message: e.message });
  } finally {
    release();
  }
}

/** The LSN of the last record in a run of whole records. */
export function lastLsn(records: Buffer): bigint {
  let at = 0;
  let lsn = 0n;
  while (at < records.length) {
    const r = readRecord(records, at);
    if (!r.ok) throw new KvError('INTERNAL', `the WAL reader returned a broken record run (${r.reason} at ${at})`);
    lsn = r.lsn;
    at = r.next;
  }
  return lsn;
}

/**
 * The newest checkpoint, held open: its snapshot's fd (readable even if a later checkpoint
 * unlinks it) and the WAL from its redo LSN retained. A checkpoint finishing between reading
 * `control` and opening the snapshot is retried. Also what `kvctl backup create` copies
 * (ts/backup/create.ts).
 */
export function openBaseBackup(port: ReplicationPort): { fd: number; begin: BaseBegin; release: () => void } {
  for (let attempt = 0; attempt < 5; attempt++) {
    let control;
    try {
      control = decodeControl(fs.readFileSync(path.join(port.dir, 'control')));
    } catch (err) {
      throw new KvError('IO_ERROR', `base backup: cannot read control: ${(err as Error).message}`);
    }
    const release = port.retainWal(control.redoLsn);
    let fd: number;
    try {
      fd = fs.openSync(path.join(port.dir, 'base', snapshotName(control.redoLsn)), 'r');
    } catch (err) {
      release();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KvError('IO_ERROR', `base backup: ${(err as Error).message}`);
    }
    if (port.oldestLsn() > control.redoLsn) {
      fs.closeSync(fd);
      release();
      continue;
    }
    return {
      fd,
      release,
      begin: { redoLsn: control.redoLsn.toString(), snapshotBytes: fs.fstatSync(fd).size, catalogVersion: control.catalogVersion, checkpointTimeMs: control.checkpointTimeMs },
    };
  }
  throw new KvError('IO_ERROR', 'base backup: checkpoints kept replacing the snapshot; retry');
}
