/**
 * GET /v1/watch: store.watch as Server-Sent Events (docs/http.md, "Watch").
 *
 *   event: ready    data: {"fromVersion":"N"}         first: the watch is in place
 *   id: V
 *   event: change   data: {"version":"V","events":[{type, key|keyBase64, value?, expiresAt?}]}
 *                   one message per WAL record: a batch's or transaction's events together
 *   event: error    data: {"code","message","resumeFrom"?}   last: the stream ends
 *   : keepalive     a comment every KEEPALIVE_MS
 *
 * Resumable: `Last-Event-ID: V` (what an EventSource sends on reconnect) continues with the
 * first record after V; fromVersion=N starts at N. A watcher sees only the keys its
 * principal may read (RBAC, decided per key as events pass; `_sys.` never appears).
 * Backpressure: the body is an async generator fastify pulls, so a slow client leaves
 * events in the watcher's bounded queue, and past its bound the watcher is cut (WATCH_LAGGED).
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import { KvError, toKvError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { WatchEvent, Watcher } from '../store/watch.js';
import type { Metrics } from './metrics.js';
import { commonPrefix } from './scan-page.js';
import { keyJson } from './txn-route.js';

export const KEEPALIVE_MS = 5000;
const LSN = '^[1-9][0-9]{0,19}$';

/** One record's events as the data of a `change` message. */
export function changeJson(events: WatchEvent[]): string {
  return JSON.stringify({
    version: String(events[0]!.version),
    events: events.map((e) => ({
      type: e.type, ...keyJson(e.key),
      ...(e.value !== undefined ? { value: e.value.toString('base64') } : {}),
      ...(e.expiresAt !== undefined ? { expiresAt: e.expiresAt } : {}),
    })),
  });
}

export function watchRoute(app: FastifyInstance, store: Store, auth: AuthService | null, metrics: Metrics | null): void {
  const open = new Map<Watcher, ServerResponse>();
  // The server is closing: every stream ends (its generator returns), so app.close() is not
  // held up; a response stuck behind a client that stopped reading is destroyed after a second.
  app.addHook('preClose', (done) => {
    for (const [w, raw] of open) {
      w.close();
      setTimeout(() => raw.destroy(), 1000).unref();
    }
    done();
  });
  app.get('/watch', {
    schema: {
      operationId: 'watch', tags: ['kv'], summary: 'Watch changes as Server-Sent Events',
      description: 'Events: `ready` (data `{"fromVersion"}`), then one `change` per WAL record (`id: <version>`, data `{"version","events":[{"type","key"|"keyBase64","value"?,"expiresAt"?}]}`), `error` last (data `{"code","message","resumeFrom"?}`); `: keepalive` comments in between. docs/http.md, "Watch".',
      response: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { prefix: { type: 'string' }, start: { type: 'string', minLength: 1 }, end: { type: 'string', minLength: 1 }, fromVersion: { type: 'string', pattern: LSN }, maxQueue: { type: 'integer', minimum: 1, maximum: 100_000 } },
      },
    },
  }, async (request, reply) => {
    const q = request.query as { prefix?: string; start?: string; end?: string; fromVersion?: string; maxQueue?: number };
    const last = request.headers['last-event-id'];
    let from: bigint | undefined;
    if (last !== undefined) {
      if (typeof last !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(last.trim())) throw new KvError('INVALID_ARGUMENT', 'Last-Event-ID must be a version this server sent');
      from = BigInt(last.trim()) + 1n;
    } else if (q.fromVersion !== undefined) {
      from = BigInt(q.fromVersion);
    }
    const principal = request.kvPrincipal;
    const filter = auth === null ? null : (key: Buffer): boolean => auth.authorize(principal, 'read', key).allow;
    if (auth !== null) {
      const d = auth.authorize(principal, 'read', 'x'); // the principal must still stand to watch at all
      if (d.invalid) throw new KvError('AUTH_FAILED', undefined, { cause: d.reason });
      // A principal that may read no key in the range is refused at once, instead of holding a
      // stream that can never carry an event; otherwise events are filtered key by key above.
      const scope = q.prefix ?? (q.start !== undefined && q.end !== undefined ? commonPrefix(q.start, q.end) : '');
      if (!auth.mayAnyUnder(principal, 'read', scope)) throw new KvError('PERMISSION_DENIED', `no role of ${principal?.user ?? 'this principal'} grants read on any key under ${JSON.stringify(scope)}`);
    }
    const range = { ...(q.prefix !== undefined ? { prefix: q.prefix } : {}), ...(q.start !== undefined ? { start: q.start } : {}), ...(q.end !== undefined ? { end: q.end } : {}) };
    const w = store._watch(range, { ...(from !== undefined ? { fromVersion: from } : {}), ...(q.maxQueue !== undefined ? { maxQueue: q.maxQueue } : {}) }, filter);
    open.set(w, reply.raw);
    metrics?.storageOps.inc({ op: 'watch' });
    const body = Readable.from(messages(w), { objectMode: false, highWaterMark: 1 });
    const end = (): void => {
      open.delete(w);
      w.close();
    };
    body.on('close', end);
    reply.raw.on('close', () => body.destroy());
    // connection: close — the socket goes with the stream: a watch connection is never reused,
    // and a server shutting down does not wait out keep_alive_timeout on it once the stream ended.
    reply.header('cache-control', 'no-store').header('x-accel-buffering', 'no').header('connection', 'close').type('text/event-stream; charset=utf-8');
    return reply.send(body);
  });
}

async function* messages(w: Watcher): AsyncGenerator<string> {
  yield `retry: 1000\nevent: ready\ndata: ${JSON.stringify({ fromVersion: String(w.fromVersion) })}\n\n`;
  let pending: Promise<WatchEvent[] | null> | null = null;
  try {
    for (;;) {
      pending ??= w.nextRecord() as Promise<WatchEvent[] | null>;
      let t: NodeJS.Timeout | undefined;
      const r = await Promise.race([pending, new Promise<'idle'>((res) => (t = setTimeout(() => res('idle'), KEEPALIVE_MS)))]);
      clearTimeout(t);
      if (r === 'idle') {
        yield ': keepalive\n\n';
        continue;
      }
      pending = null;
      if (r === null) return;
      yield `id: ${r[0]!.version}\nevent: change\ndata: ${changeJson(r)}\n\n`;
    }
  } catch (err) {
    const e = toKvError(err) as KvError & { resumeFrom?: bigint };
    yield `event: error\ndata: ${JSON.stringify({ code: e.code, message: e.message, ...(e.resumeFrom !== undefined ? { resumeFrom: String(e.resumeFrom) } : {}) })}\n\n`;
  } finally {
    w.close();
  }
}
