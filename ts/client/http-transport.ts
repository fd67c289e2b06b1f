/**
 * The client over kvstored's HTTP API (docs/http.md) with undici: one keep-alive Agent per
 * client (its connections reused across requests), problem+json answers turned back into
 * KvErrors with the server's code, and a cluster's 307/308 redirects followed with the same
 * method, body and credentials (never from https to http).
 *
 * The HTTP API carries keys in the URL and in JSON as text, so a key (or scan bound) that is
 * not valid UTF-8 is refused here with INVALID_ARGUMENT: use grpc:// for binary keys.
 */
import { isUtf8 } from 'node:buffer';
import { Agent, request } from 'undici';
import { type ErrorCode, KvError, isErrorCode } from '../errors.js';
import { REFUSED_BEFORE_ACTING, parseRetryAfter, retryable } from './retry.js';
import type { ConnectOptions, Entry, RemoteStats, Transport, TxnResponse, TxnResult, WatchEvent, WatchFrame, WhoAmI, WireBatchOp, WireScan, WireTxn, WireTxnOp, WireWatch } from './types.js';

/** A watch stream with no byte (not even the server's 5 s keepalive) for this long is dead. */
const WATCH_IDLE_MS = 20_000;

interface JsonEvent { type: 'put' | 'del' | 'expire'; key?: string; keyBase64?: string; value?: string; expiresAt?: number }

/** One SSE message (event name and data) into a watch frame; an `error` event is thrown. */
function sseFrame(event: string, data: string): WatchFrame | undefined {
  if (event === 'ready') return { fromVersion: BigInt((JSON.parse(data) as { fromVersion: string }).fromVersion) };
  if (event === 'error') {
    const p = JSON.parse(data) as { code?: unknown; message?: string; resumeFrom?: string };
    const err = new KvError(isErrorCode(p.code) ? p.code : 'INTERNAL', p.message ?? 'the watch failed') as KvError & { resumeFrom?: bigint };
    if (p.resumeFrom !== undefined) err.resumeFrom = BigInt(p.resumeFrom);
    throw err;
  }
  if (event !== 'change') return undefined;
  const m = JSON.parse(data) as { version: string; events: JsonEvent[] };
  const version = BigInt(m.version);
  return m.events.map((e): WatchEvent => {
    const out: WatchEvent = { type: e.type, key: e.key !== undefined ? Buffer.from(e.key, 'utf8') : Buffer.from(e.keyBase64 ?? '', 'base64'), version };
    if (e.value !== undefined) out.value = Buffer.from(e.value, 'base64');
    if (e.expiresAt !== undefined) out.expiresAt = e.expiresAt;
    return out;
  });
}

function wireOp(o: WireTxnOp): Record<string, unknown> {
  const key = text(o.key, 'key');
  if (o.type === 'put') return { op: 'put', key, value: o.value.toString('base64'), encoding: 'base64', ...(o.ttlMs !== undefined ? { ttl: o.ttlMs / 1000 } : {}) };
  if (o.type === 'incr') return { op: 'incr', key, by: String(o.by) };
  return { op: o.type, key };
}

function txnResult(r: { op: string; version?: string; deleted?: boolean; value?: string; found?: boolean }): TxnResult {
  switch (r.op) {
    case 'put': return { type: 'put', version: BigInt(r.version!) };
    case 'del': return { type: 'del', deleted: r.deleted === true };
    case 'incr': return { type: 'incr', value: BigInt(r.value!) };
    default: return r.found ? { type: 'get', value: Buffer.from(r.value!, 'base64'), version: BigInt(r.version!) } : { type: 'get', value: undefined, version: 0n };
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What a status means when the answer carries no kvstore code (a proxy, a load balancer). */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401: return 'AUTH_FAILED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 412: return 'VERSION_MISMATCH';
    case 413: return 'VALUE_TOO_LARGE';
    case 415: return 'UNSUPPORTED_MEDIA_TYPE';
    case 429: return 'RATE_LIMITED';
    case 502: case 503: return 'UNAVAILABLE';
    case 504: return 'TIMEOUT';
    default: return status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL';
  }
}

const header = (a: Answer, name: string): string | undefined => {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** A failed answer as a KvError; retryable when the server refused before doing anything. */
export function problemError(a: Answer): KvError {
  let code: ErrorCode | undefined;
  let detail: string | undefined;
  if (/json/.test(header(a, 'content-type') ?? '')) {
    try {
      const p = JSON.parse(a.body.toString('utf8')) as { code?: unknown; detail?: unknown };
      if (isErrorCode(p.code)) code = p.code;
      if (typeof p.detail === 'string') detail = p.detail;
    } catch {
      /* not JSON after all: the status speaks */
    }
  }
  const err = new KvError(code ?? codeForStatus(a.status), detail ?? `HTTP ${a.status}`);
  if (REFUSED_BEFORE_ACTING.has(err.code) || (code === undefined && (a.status === 429 || a.status === 503))) {
    retryable(err, parseRetryAfter(header(a, 'retry-after')));
  }
  return err;
}

/** A request that got no answer: TIMEOUT when the clock ran out, else UNAVAILABLE. */
function networkError(err: unknown, url: URL): KvError {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || /TIMEOUT/.test(e.code ?? '')) return new KvError('TIMEOUT', `no answer from ${url.origin} in time`, { cause: err });
  return new KvError('UNAVAILABLE', `cannot reach ${url.origin}: ${e.code ?? e.message ?? String(err)}`, { cause: err });
}

/** A key or bound as URL / JSON text. */
function text(b: Buffer, what: string): string {
  if (!isUtf8(b)) throw new KvError('INVALID_ARGUMENT', `the HTTP API carries ${what}s as UTF-8 text and this ${what} is not valid UTF-8; connect with grpc:// for binary ${what}s`);
  return b.toString('utf8');
}

const big = (v: unknown): bigint => BigInt(String(v));

export class HttpTransport implements Transport {
  readonly #base: URL;
  readonly #agent: Agent;
  readonly #credential: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxRedirects: number;
  /** Sent with every read: x-kvstore-consistency. */
  readonly #readHeaders: Record<string, string>;

  constructor(o: ConnectOptions) {
    this.#base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    const tls = o.tls ?? {};
    this.#agent = new Agent({
      connections: o.connections ?? 16,
      keepAliveTimeout: 30_000,
      connect: { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) },
    });
    this.#credential = o.apiKey !== undefined ? { 'x-api-key': o.apiKey } : o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {};
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#maxRedirects = o.maxRedirects ?? 5;
    this.#readHeaders = o.consistency === undefined ? {} : { 'x-kvstore-consistency': o.consistency };
  }

  /**
   * Sends one request, following redirects; throws the problem as a KvError unless its
   * status is in `accept`.
   */
  async #send(method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string>; accept?: number[] } = {}): Promise<Answer> {
    let url = new URL(path, this.#base);
    const signal = AbortSignal.timeout(this.#timeoutMs);
    for (let hop = 0; ; hop++) {
      let a: Answer;
      try {
        const res = await request(url, { dispatcher: this.#agent, method: method as 'GET', headers: { ...this.#credential, ...opts.headers }, body: opts.body ?? null, signal });
        a = { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
      } catch (err) {
        throw networkError(err, url);
      }
      if (a.status === 307 || a.status === 308) {
        const location = header(a, 'location');
        if (!location) throw new KvError('UNAVAILABLE', `${url.origin} answered ${a.status} without a Location`);
        if (hop >= this.#maxRedirects) throw new KvError('UNAVAILABLE', `more than ${this.#maxRedirects} redirects (last to ${location})`);
        const next = new URL(location, url);
        if (url.protocol === 'https:' && next.protocol !== 'https:') throw new KvError('UNAVAILABLE', `refusing a redirect from https to ${next.protocol} (${next.origin}): the credentials would travel in clear`);
        url = next;
        continue;
      }
      if (a.status >= 400 && !opts.accept?.includes(a.status)) throw problemError(a);
      return a;
    }
  }

  async #json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const a = await this.#send(method, path, body === undefined ? { headers } : { body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } });
    return JSON.parse(a.body.toString('utf8')) as T;
  }

  #keyPath(key: Buffer, suffix = ''): string {
    return `v1/kv/${encodeURIComponent(text(key, 'key'))}${suffix}`;
  }

  async getEntry(key: Buffer): Promise<Entry | undefined> {
    const a = await this.#send('GET', this.#keyPath(key), { accept: [404], headers: this.#readHeaders });
    if (a.status === 404) {
      const err = problemError(a);
      if (err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
    const version = big(/\d+/.exec(header(a, 'etag') ?? '')?.[0] ?? '0');
    const exp = header(a, 'x-expires-at');
    return exp === undefined ? { value: a.body, version } : { value: a.body, version, expiresAt: Date.parse(exp) };
  }

  async put(key: Buffer, value: Buffer, ttlMs: number | undefined, ifVersion: bigint | undefined): Promise<bigint> {
    const path = this.#keyPath(key) + (ttlMs === undefined ? '' : `?ttl=${encodeURIComponent(String(ttlMs / 1000))}`);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    // If-Match: "0" is "only if absent", exactly as ifVersion 0n is for the embedded store.
    if (ifVersion !== undefined) headers['if-match'] = `"${ifVersion}"`;
    const a = await this.#send('PUT', path, { body: value, headers });
    return big((JSON.parse(a.body.toString('utf8')) as { version: string }).version);
  }

  async delete(key: Buffer, ifVersion: bigint | undefined): Promise<boolean> {
    const a = await this.#send('DELETE', this.#keyPath(key), { accept: [404], ...(ifVersion !== undefined ? { headers: { 'if-match': `"${ifVersion}"` } } : {}) });
    if (a.status === 404) {
      const err = problemError(a);
      if (err.code === 'NOT_FOUND') return false;
      throw err;
    }
    return true;
  }

  async incr(key: Buffer, by: bigint): Promise<bigint> {
    const a = await this.#send('POST', `${this.#keyPath(key, '/incr')}?by=${by}`);
    return big((JSON.parse(a.body.toString('utf8')) as { value: string }).value);
  }

  async batch(ops: WireBatchOp[]): Promise<bigint> {
    const body = {
      ops: ops.map((o) => (o.type === 'del'
        ? { op: 'del', key: text(o.key, 'key') }
        : { op: 'put', key: text(o.key, 'key'), value: o.value.toString('base64'), encoding: 'base64', ...(o.ttlMs !== undefined ? { ttl: o.ttlMs / 1000 } : {}) })),
    };
    return big((await this.#json<{ version: string }>('POST', 'v1/batch', body)).version);
  }

  async scan(q: WireScan): Promise<{ items: Array<[Buffer, Buffer]>; cursor?: string }> {
    const p = new URLSearchParams({ limit: String(q.limit), values: 'true' });
    if (q.prefix !== undefined) p.set('prefix', text(q.prefix, 'prefix'));
    if (q.start !== undefined) p.set('start', text(q.start, 'start'));
    if (q.end !== undefined) p.set('end', text(q.end, 'end'));
    if (q.reverse) p.set('reverse', 'true');
    if (q.cursor !== undefined) p.set('cursor', String(q.cursor));
    const r = await this.#json<{ items: Array<{ key?: string; keyBase64?: string; value?: string }>; cursor?: string }>('GET', `v1/kv?${p}`, undefined, this.#readHeaders);
    const items = r.items.map((i): [Buffer, Buffer] => [i.key !== undefined ? Buffer.from(i.key, 'utf8') : Buffer.from(i.keyBase64 ?? '', 'base64'), Buffer.from(i.value ?? '', 'base64')]);
    return r.cursor === undefined ? { items } : { items, cursor: r.cursor };
  }

  async txn(t: WireTxn): Promise<TxnResponse> {
    const body = {
      compare: t.compare.map((c) => ({
        key: text(c.key, 'key'), op: c.op,
        ...('version' in c ? { version: String(c.version) } : 'value' in c ? { value: c.value.toString('base64'), encoding: 'base64' } : { exists: c.exists }),
      })),
      success: t.success.map(wireOp),
      failure: t.failure.map(wireOp),
    };
    const r = await this.#json<{ succeeded: boolean; version: string; results: Array<{ op: string }> }>('POST', 'v1/txn', body);
    return { succeeded: r.succeeded, version: BigInt(r.version), results: r.results.map(txnResult) };
  }

  async *watch(q: WireWatch, signal: AbortSignal): AsyncGenerator<WatchFrame> {
    const p = new URLSearchParams();
    if (q.prefix !== undefined) p.set('prefix', text(q.prefix, 'prefix'));
    if (q.start !== undefined) p.set('start', text(q.start, 'start'));
    if (q.end !== undefined) p.set('end', text(q.end, 'end'));
    if (q.fromVersion !== undefined) p.set('fromVersion', String(q.fromVersion));
    if (q.maxQueue !== undefined) p.set('maxQueue', String(q.maxQueue));
    const url = new URL(`v1/watch?${p}`, this.#base);
    let res;
    try {
      res = await request(url, { dispatcher: this.#agent, method: 'GET', headers: { ...this.#credential, accept: 'text/event-stream' }, signal, headersTimeout: this.#timeoutMs, bodyTimeout: WATCH_IDLE_MS });
    } catch (err) {
      throw networkError(err, url);
    }
    if (res.statusCode >= 300) throw problemError({ status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) });
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const message = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of message.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          const frame = sseFrame(event, data.join('\n'));
          if (frame !== undefined) yield frame;
        }
      }
    } catch (err) {
      if (err instanceof KvError) throw err;
      if (signal.aborted) return;
      throw networkError(err, url);
    } finally {
      res.body.destroy();
    }
    if (!signal.aborted) throw new KvError('UNAVAILABLE', `the watch stream from ${url.origin} ended`);
  }

  async checkpoint(): Promise<bigint> {
    return big((await this.#json<{ redoLsn: string }>('POST', 'v1/admin/checkpoint')).redoLsn);
  }

  async stats(): Promise<RemoteStats> {
    const s = await this.#json<Record<string, unknown>>('GET', 'v1/admin/stats');
    const { memory: _memory, auth: _auth, ...rest } = s;
    // The server sends every LSN as a decimal string (JSON has no bigint).
    return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, k.endsWith('Lsn') ? big(v) : v])) as unknown as RemoteStats;
  }

  async whoami(): Promise<WhoAmI> {
    const w = await this.#json<{ user: string | null; auth?: boolean; type?: 'session' | 'apikey'; keyName?: string | null; roles?: string[]; admin?: boolean }>('GET', 'v1/auth/whoami');
    if (w.user === null) return { auth: false };
    return { auth: true, user: w.user, type: w.type!, ...(w.keyName ? { keyName: w.keyName } : {}), roles: w.roles ?? [], admin: w.admin === true };
  }

  async login(name: string, password: string): Promise<{ token: string; expiresAt: number }> {
    const r = await this.#json<{ token: string; expiresAt: string }>('POST', 'v1/auth/login', { name, password });
    return { token: r.token, expiresAt: Date.parse(r.expiresAt) };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
