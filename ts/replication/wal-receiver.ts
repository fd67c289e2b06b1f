/**
 * The standby's side of streaming replication: one loop that connects to the primary's
 * stream from its next LSN, appends what arrives through the engine's replicated-append
 * path (CRC and LSN checked, fdatasynced, applied by the recovery apply function) and
 * reports flushed/applied LSNs back. Reconnects with capped exponential backoff.
 *
 * Session, in order (the stream's frames, wal-sender.ts):
 *   HELLO       decide with planFollow(): stream on; rewind (close the engine, cut the WAL
 *               at the switch point, reopen, reconnect); rebootstrap (empty the directory,
 *               reconnect from LSN 1, which makes the primary send a base backup); refuse
 *               (stop: following would be wrong, and the operator must act).
 *   BASE_*      write the snapshot beside the data, then close the engine, install it,
 *               reopen at its redo LSN; WAL frames follow on the same stream.
 *   WAL         append; up to MAX_IN_FLIGHT frames are handed to the engine before the first
 *               is durable, so the standby's group commit covers several.
 *   KEEPALIVE   the primary's durable LSN and clock: lag.
 *   ERROR       the primary gave up on this stream: reconnect.
 * Anything malformed (REPLICATION_PROTOCOL) drops the connection; nothing from the bad frame
 * was applied, and the next session resumes from the engine's next LSN.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { decodeControl, readRecord } from '../engine/format.js';
import { KvError, isErrorCode } from '../errors.js';
import { FrameKind, FrameReader, decodeJson, decodeU64Pair, protocolError, type Frame } from './frames.js';
import { readHistory, writeHistory } from './history-file.js';
import type { ReplicationPort } from './port.js';
import { installBaseBackup, rewindWal } from './rewind.js';
import { historyFromJson, planFollow, type History } from './timeline.js';
import type { BaseBegin, Hello } from './wal-sender.js';

const MAX_IN_FLIGHT = 8;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
const FEEDBACK_EVERY_MS = 1000;

export interface ReceiverTls {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

export interface StandbyHost {
  /** The store's replication port (changes after every reopen). */
  port(): ReplicationPort;
  /** Closes the engine, runs fn on the closed directory, reopens the engine as a standby. */
  reset(fn: (dir: string) => void): Promise<void>;
  /** The primary's history was adopted (written to timeline.json) without a reset. */
  historyWritten(h: History): void;
}

export interface ReceiverOptions {
  primaryUrl: string;
  /** This standby's name on the primary (status, synchronous set). */
  standbyId: string;
  apiKey?: string | undefined;
  token?: string | undefined;
  tls?: ReceiverTls | undefined;
  /** Called before every connection; throws to refuse streaming from primaryUrl now (node.ts's ReplicationConfig). */
  confirmPrimary?: ((url: string, signal: AbortSignal) => Promise<void>) | undefined;
  host: StandbyHost;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface ReceiverStatus {
  connected: boolean;
  primaryUrl: string;
  /** The primary's durable LSN as last heard (HELLO or KEEPALIVE). */
  primaryLsn: bigint;
  /** Highest LSN durable and applied here. */
  appliedLsn: bigint;
  /** When the primary's last frame arrived (ms since epoch, 0 = never). */
  lastMessageAt: number;
  /** Primary clock minus ours at the last KEEPALIVE, plus how long ago that was. */
  lagMs: number;
  /** Why the last session ended, if it failed. */
  lastError: { code: string; message: string } | null;
  /** Set when the receiver stopped for good (a refusal the operator must resolve). */
  stopped: { code: string; message: string } | null;
  baseBackups: number;
  rewinds: number;
  streamErrors: number;
}

export class WalReceiver {
  readonly #o: ReceiverOptions;
  readonly #dispatcher: Dispatcher;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #stopping = false;
  readonly #status: ReceiverStatus;
  #lastPrimaryClock = 0;
  /** When applied last reached the primary's LSN; until then, when this receiver was made (lag counts from there, not from 1970). */
  #caughtUpAt = Date.now();
  #feedbackBusy = false;
  #feedbackAgain = false;
  #lastFeedbackAt = 0;
  #listeners = new Set<() => void>();

  constructor(o: ReceiverOptions) {
    this.#o = o;
    this.#dispatcher = tlsDispatcher(o.tls);
    this.#status = {
      connected: false, primaryUrl: o.primaryUrl, primaryLsn: 0n, appliedLsn: o.host.port().positions().appliedLsn, lastMessageAt: 0, lagMs: 0,
      lastError: null, stopped: null, baseBackups: 0, rewinds: 0, streamErrors: 0,
    };
  }

  status(): ReceiverStatus {
    const s = { ...this.#status };
    s.appliedLsn = this.#o.host.port().positions().appliedLsn;
    s.lagMs = s.appliedLsn >= s.primaryLsn ? 0 : Math.max(0, Date.now() - this.#caughtUpAt);
    return s;
  }

  /** Calls fn after every applied frame (tests and the embedded replica wait on it). */
  onProgress(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#loop();
  }

  /** Ends the stream and the loop; resolves when no frame is being applied any more. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    await this.#running;
    await this.#dispatcher.close().catch(() => {});
  }

  async #loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.#stopping) {
      const t0 = Date.now();
      try {
        await this.#session();
        backoff = BACKOFF_MIN_MS;
      } catch (err) {
        if (this.#stopping) break;
        const e = err instanceof KvError ? err : new KvError('IO_ERROR', (err as Error).message);
        this.#status.lastError = { code: e.code, message: e.message };
        if (e.code === 'REPLICATION_PROTOCOL') this.#status.streamErrors++;
        if (e.code === 'REPLICATION_MISMATCH' || e.code === 'PERMISSION_DENIED' || e.code === 'AUTH_FAILED') {
          this.#status.stopped = { code: e.code, message: e.message };
          this.#o.log('error', `replication stopped: ${e.code}: ${e.message}`);
          if (e.code === 'REPLICATION_MISMATCH') break;
        } else {
          this.#o.log('warn', `replication: ${e.code}: ${e.message}; reconnecting in ${backoff} ms`);
        }
      } finally {
        this.#status.connected = false;
      }
      if (this.#stopping) break;
      if (Date.now() - t0 > 10_000) backoff = BACKOFF_MIN_MS;
      await sleep(backoff, this.#abort.signal);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.#o.apiKey) h['x-api-key'] = this.#o.apiKey;
    if (this.#o.token) h.authorization = `Bearer ${this.#o.token}`;
    return h;
  }

  async #session(): Promise<void> {
    await this.#o.confirmPrimary?.(this.#o.primaryUrl, this.#abort.signal);
    const port = this.#o.host.port();
    const from = port.positions().nextLsn;
    const url = new URL('/v1/replication/stream', this.#o.primaryUrl);
    url.searchParams.set('from', from.toString());
    url.searchParams.set('standby', this.#o.standbyId);
    const res = await request(url, { method: 'GET', headers: this.#headers(), dispatcher: this.#dispatcher, signal: this.#abort.signal, bodyTimeout: 0, headersTimeout: 10_000 });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw errorFromProblem(res.statusCode, text);
    }
    this.#status.connected = true;
    const reader = new FrameReader();
    const inFlight = new Set<Promise<unknown>>();
    let failure: unknown = null;
    const body = res.body as unknown as AsyncIterable<Buffer> & { destroy(e?: Error): void };
    const append = (records: Buffer): void => {
      const p: Promise<unknown> = this.#o.host.port().appendReplicated(records).then(
        () => {
          inFlight.delete(p);
          this.#progress();
        },
        (e: unknown) => {
          inFlight.delete(p);
          failure ??= e;
          body.destroy(e as Error);
        },
      );
      inFlight.add(p);
    };
    const drain = async (): Promise<void> => {
      await Promise.allSettled(inFlight);
      if (failure) throw failure;
    };
    let sawHello = false;
    let base: { begin: BaseBegin; fd: number; file: string; got: number } | null = null;
    try {
      for await (const chunk of body) {
        for (const f of reader.push(chunk)) {
          this.#status.lastMessageAt = Date.now();
          if (!sawHello) {
            if (f.kind !== FrameKind.HELLO) throw protocolError(`the first frame must be HELLO, got kind ${f.kind}`);
            sawHello = true;
            if (await this.#hello(f, from)) return; // a reset happened: reconnect
            continue;
          }
          switch (f.kind) {
            case FrameKind.WAL:
              if (base) throw protocolError('WAL frame inside a base backup');
              this.#primaryAt(walFrameLastLsn(f.payload));
              append(f.payload);
              if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
              break;
            case FrameKind.KEEPALIVE: {
              const [lsn, clock] = decodeU64Pair(f);
              this.#primaryAt(lsn);
              this.#lastPrimaryClock = Number(clock);
              await drain();
              this.#progress();
              break;
            }
            case FrameKind.BASE_BEGIN: {
              if (base) throw protocolError('BASE_BEGIN inside a base backup');
              await drain();
              const begin = decodeJson(f, isBaseBegin);
              const file = path.join(port.dir, 'base.incoming');
              fs.mkdirSync(port.dir, { recursive: true });
              base = { begin, fd: fs.openSync(file, 'w', 0o600), file, got: 0 };
              this.#o.log('info', `replication: receiving a base backup (redo LSN ${begin.redoLsn}, ${begin.snapshotBytes} bytes)`);
              break;
            }
            case FrameKind.BASE_DATA:
              if (!base) throw protocolError('BASE_DATA outside a base backup');
              fs.writeSync(base.fd, f.payload, 0, f.payload.length, base.got);
              base.got += f.payload.length;
              if (base.got > base.begin.snapshotBytes) throw protocolError('base backup longer than announced');
              break;
            case FrameKind.BASE_END: {
              if (!base) throw protocolError('BASE_END outside a base backup');
              if (base.got !== base.begin.snapshotBytes) throw protocolError(`base backup has ${base.got} of ${base.begin.snapshotBytes} bytes`);
              fs.fsyncSync(base.fd);
              fs.closeSync(base.fd);
              const b = base;
              base = null;
              await this.#o.host.reset((dir) => installBaseBackup(dir, b.file, BigInt(b.begin.redoLsn), b.begin.catalogVersion, b.begin.checkpointTimeMs));
              this.#status.baseBackups++;
              this.#o.log('info', `replication: base backup installed; streaming from LSN ${b.begin.redoLsn}`);
              break;
            }
            case FrameKind.ERROR: {
              const e = decodeJson(f, isProblem);
              throw new KvError(isErrorCode(e.code) ? e.code : 'IO_ERROR', `the primary ended the stream: ${e.message}`);
            }
            default:
              throw protocolError(`unexpected frame kind ${f.kind}`);
          }
        }
      }
      reader.end();
      await drain();
    } catch (err) {
      throw failure ?? err;
    } finally {
      if (base) {
        fs.closeSync(base.fd);
        fs.rmSync(base.file, { force: true });
      }
      // Let in-flight appends finish (or fail) before the next session reads nextLsn.
      await Promise.allSettled(inFlight);
    }
  }

  /** Handles HELLO; true when the directory was reset and the session must reconnect. */
  async #hello(f: Frame, from: bigint): Promise<boolean> {
    const hello = decodeJson(f, isHello);
    const remote = historyFromJson(hello.history);
    if (typeof remote === 'string') throw protocolError(`HELLO history: ${remote}`);
    this.#primaryAt(BigInt(hello.durableLsn));
    const port = this.#o.host.port();
    const local = readHistory(port.dir);
    const plan = planFollow({ history: local, lastLsn: from - 1n, redoLsn: redoOf(port.dir) }, { history: remote, lastLsn: BigInt(hello.durableLsn) });
    switch (plan.action) {
      case 'stream':
        if (!sameHistory(local, remote)) {
          writeHistory(port.dir, remote);
          this.#o.host.historyWritten(remote);
        }
        if (local === null || this.#status.lastError !== null) this.#o.log('info', `replication: streaming from ${this.#o.primaryUrl} at LSN ${from} (timeline ${remote.entries.at(-1)!.id})`);
        this.#status.lastError = null;
        return false;
      case 'rewind': {
        let result: ReturnType<typeof rewindWal> | undefined;
        await this.#o.host.reset((dir) => {
          result = rewindWal(dir, plan.keepBelow);
          writeHistory(dir, remote);
        });
        this.#status.rewinds++;
        this.#o.log('warn', `replication: rewound to LSN ${plan.keepBelow - 1n} to follow timeline ${remote.entries.at(-1)!.id}: discarded ${result?.records ?? 0} record(s), LSN ${plan.keepBelow}..${result?.lastDiscarded ?? 0n} (${result?.bytes ?? 0} bytes; segments removed: ${result?.segments.join(', ') || 'none'}${result?.truncated ? `; ${result.truncated.segment} cut at byte ${result.truncated.offset}` : ''})`);
        return true;
      }
      case 'rebootstrap':
        await this.#o.host.reset((dir) => {
          for (const sub of ['wal', 'base']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
          fs.rmSync(path.join(dir, 'control'), { force: true });
          writeHistory(dir, remote);
        });
        this.#o.log('warn', `replication: re-bootstrapping from a base backup: ${plan.reason}`);
        return true;
      case 'refuse':
        throw new KvError(plan.code, plan.reason);
    }
  }

  #primaryAt(lsn: bigint): void {
    if (lsn > this.#status.primaryLsn) this.#status.primaryLsn = lsn;
  }

  #progress(): void {
    const applied = this.#o.host.port().positions().appliedLsn;
    this.#status.appliedLsn = applied;
    if (applied >= this.#status.primaryLsn) this.#caughtUpAt = Date.now();
    for (const fn of this.#listeners) fn();
    this.#feedback();
  }

  /** Reports flushed/applied LSNs; at most one request in flight, the latest values win. */
  #feedback(): void {
    if (this.#feedbackBusy) {
      this.#feedbackAgain = true;
      return;
    }
    this.#feedbackBusy = true;
    const pos = this.#o.host.port().positions();
    const url = new URL('/v1/replication/feedback', this.#o.primaryUrl);
    const body = JSON.stringify({ standby: this.#o.standbyId, flushedLsn: pos.flushedLsn.toString(), appliedLsn: pos.appliedLsn.toString() });
    request(url, { method: 'POST', headers: { ...this.#headers(), 'content-type': 'application/json' }, body, dispatcher: this.#dispatcher, signal: this.#abort.signal, headersTimeout: 10_000 })
      .then((res) => res.body.dump())
      .catch(() => {})
      .finally(() => {
        this.#feedbackBusy = false;
        this.#lastFeedbackAt = Date.now();
        if (this.#feedbackAgain && !this.#stopping) {
          this.#feedbackAgain = false;
          this.#feedback();
        }
      });
  }

  get lastFeedbackAt(): number {
    return this.#lastFeedbackAt;
  }

  get primaryClockOffset(): number {
    return this.#lastPrimaryClock === 0 ? 0 : this.#lastPrimaryClock - Date.now();
  }
}

/**
 * The LSN of a WAL frame's last record. WAL_BAD_RECORD unless the payload is a run of whole,
 * CRC-valid records (the frame's own CRC only says it arrived as sent); nothing is appended.
 */
function walFrameLastLsn(payload: Buffer): bigint {
  let lsn = 0n;
  for (let at = 0; at < payload.length;) {
    const r = readRecord(payload, at);
    if (!r.ok) throw new KvError('WAL_BAD_RECORD', `WAL frame of ${payload.length} bytes: no valid record at byte ${at} (${r.reason})`);
    lsn = r.lsn;
    at = r.next;
  }
  return lsn;
}

function redoOf(dir: string): bigint {
  try {
    return decodeControl(fs.readFileSync(path.join(dir, 'control'))).redoLsn;
  } catch {
    return 1n;
  }
}

function sameHistory(a: History | null, b: History): boolean {
  return a !== null && a.systemId === b.systemId && a.entries.length === b.entries.length && a.entries.every((e, i) => e.id === b.entries[i]!.id && e.switchLsn === b.entries[i]!.switchLsn);
}

/** An HTTP client pool with the replication TLS settings (CA, client certificate for mTLS). */
export function tlsDispatcher(tls: ReceiverTls | undefined): Dispatcher {
  return new Agent({ connect: { ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert } : {}), ...(tls?.key ? { key: tls.key } : {}) }, keepAliveTimeout: 10_000 });
}

/** A KvError from a non-2xx answer of a kvstored node (its problem document's code when it has one). */
export function errorFromProblem(status: number, text: string): KvError {
  let code: string | undefined;
  let detail = text.slice(0, 300);
  try {
    const p = JSON.parse(text) as { code?: unknown; detail?: unknown };
    if (typeof p.code === 'string') code = p.code;
    if (typeof p.detail === 'string') detail = p.detail;
  } catch {
    // not a problem document
  }
  if (code !== undefined && isErrorCode(code)) return new KvError(code, `primary answered ${status}: ${detail}`);
  return new KvError(status === 401 ? 'AUTH_FAILED' : status === 403 ? 'PERMISSION_DENIED' : 'IO_ERROR', `primary answered ${status}: ${detail}`);
}

/** Sleeps ms, or less if signal aborts. The abort listener goes either way (one per reconnect would pile up). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function isHello(v: unknown): v is Hello {
  const h = v as Partial<Hello> | null;
  return typeof h === 'object' && h !== null && typeof h.systemId === 'string' && typeof h.durableLsn === 'string' && /^\d+$/.test(h.durableLsn) && typeof h.oldestLsn === 'string' && typeof h.history === 'object';
}

function isBaseBegin(v: unknown): v is BaseBegin {
  const b = v as Partial<BaseBegin> | null;
  return typeof b === 'object' && b !== null && typeof b.redoLsn === 'string' && /^[1-9]\d*$/.test(b.redoLsn) && Number.isSafeInteger(b.snapshotBytes) && Number.isInteger(b.catalogVersion) && Number.isSafeInteger(b.checkpointTimeMs);
}

function isProblem(v: unknown): v is { code: string; message: string } {
  const p = v as { code?: unknown; message?: unknown } | null;
  return typeof p === 'object' && p !== null && typeof p.code === 'string' && typeof p.message === 'string';
}
