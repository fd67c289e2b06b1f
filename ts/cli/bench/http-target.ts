/**
 * The server under test, as kvb drives it: an undici Pool of keep-alive connections (one
 * per worker by default, no pipelining), a key space `<prefix>00000000 …`, and the four
 * operations of the workloads. A response is read whole before the next request, as a
 * real client would.
 */
import { Pool } from 'undici';
import { CliError } from '../common.js';
import { type TlsMaterial, isTlsFailure, tlsHint } from '../tls.js';

export type Op = 'get' | 'set' | 'del' | 'incr';
export const OPS: readonly Op[] = ['get', 'set', 'del', 'incr'];

/** Fractions per operation; they add up to 1. */
export type Mix = Record<Op, number>;

export function mixLabel(m: Mix): string {
  return OPS.filter((o) => m[o] > 0).map((o) => `${o} ${Math.round(m[o] * 1000) / 10}%`).join(' / ');
}

/** Picks an operation with the mix's probabilities. */
export function picker(m: Mix): () => Op {
  const cum: Array<[number, Op]> = [];
  let acc = 0;
  for (const o of OPS) {
    if (m[o] <= 0) continue;
    acc += m[o];
    cum.push([acc, o]);
  }
  const last = cum[cum.length - 1]![1];
  return () => {
    const r = Math.random() * acc;
    for (const [edge, o] of cum) if (r < edge) return o;
    return last;
  };
}

/** ok: 2xx; miss: 404 on a get or delete (a key another worker deleted); anything else is an error. */
export type Outcome = 'ok' | 'miss' | 'error';

export interface TargetOptions {
  url: string;
  apiKey?: string;
  connections: number;
  keys: number;
  keyPrefix: string;
  valueSize: number;
  /** A CA and/or client certificate for https (--cacert, --cert, --key). */
  tls?: TlsMaterial;
}

export class HttpTarget {
  readonly pool: Pool;
  readonly #paths: string[];
  readonly #ctrPaths: string[];
  readonly #headers: Record<string, string>;
  readonly #putHeaders: Record<string, string>;
  readonly #value: Buffer;

  constructor(readonly opts: TargetOptions) {
    this.pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 60_000, ...(opts.tls ? { connect: { ...opts.tls } } : {}) });
    this.#headers = opts.apiKey ? { 'x-api-key': opts.apiKey } : {};
    this.#putHeaders = { ...this.#headers, 'content-type': 'application/octet-stream' };
    this.#paths = Array.from({ length: opts.keys }, (_, i) => `/v1/kv/${encodeURIComponent(keyName(opts.keyPrefix, i))}`);
    // Counters live apart from the values (an incr on a non-number value is a 409).
    this.#ctrPaths = Array.from({ length: Math.min(opts.keys, 1000) }, (_, i) => `/v1/kv/${encodeURIComponent(`${opts.keyPrefix}ctr:${i}`)}/incr`);
    this.#value = Buffer.alloc(opts.valueSize, 'kvb-value-');
  }

  #rand(n: number): number {
    return Math.floor(Math.random() * n);
  }

  /**
   * One request through undici's dispatcher with a minimal handler: the status, and every
   * body byte received (counted, not copied). It costs the client far less CPU than
   * pool.request(), whose response is a Readable stream — which matters when client and
   * server share a machine.
   */
  #send(method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, headers: Record<string, string>, body?: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      let status = 0;
      // undici 7's Pool checks for the classic handler callbacks (onConnect … onError).
      this.pool.dispatch({ method, path, headers, ...(body ? { body } : {}) }, {
        onConnect: () => undefined,
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: (chunk) => {
          this.bytesIn += chunk.length;
          return true;
        },
        onComplete: () => resolve(status),
        onError: (err) => reject(err),
      });
    });
  }

  /** Response body bytes received so far. */
  bytesIn = 0;

  /** One operation on a random key; resolves with its outcome (network errors too). */
  async run(op: Op): Promise<Outcome> {
    try {
      let status: number;
      switch (op) {
        case 'get':
          status = await this.#send('GET', this.#paths[this.#rand(this.#paths.length)]!, this.#headers);
          return status === 200 ? 'ok' : status === 404 ? 'miss' : 'error';
        case 'set':
          status = await this.#send('PUT', this.#paths[this.#rand(this.#paths.length)]!, this.#putHeaders, this.#value);
          return status < 300 ? 'ok' : 'error';
        case 'del':
          status = await this.#send('DELETE', this.#paths[this.#rand(this.#paths.length)]!, this.#headers);
          return status < 300 ? 'ok' : status === 404 ? 'miss' : 'error';
        case 'incr':
          status = await this.#send('POST', this.#ctrPaths[this.#rand(this.#ctrPaths.length)]!, this.#headers);
          return status < 300 ? 'ok' : 'error';
      }
    } catch {
      return 'error';
    }
  }

  /** What the server says about itself, and whether our credentials are good. */
  async probe(): Promise<{ engine: string | null; auth: boolean; user: string | null }> {
    let ready: { engine?: string; auth?: boolean };
    try {
      const r = await this.pool.request({ method: 'GET', path: '/ready', headers: this.#headers });
      ready = (await r.body.json()) as { engine?: string; auth?: boolean };
    } catch (err) {
      const code = (err as { code?: string }).code;
      const hint = this.opts.url.startsWith('https:') && isTlsFailure(code) ? ` (${tlsHint('KVB')})` : '';
      throw new CliError('UNREACHABLE', `cannot reach ${this.opts.url}: ${code ?? (err as Error).message}${hint}`);
    }
    const w = await this.pool.request({ method: 'GET', path: '/v1/auth/whoami', headers: this.#headers });
    const body = (await w.body.json()) as { user?: string | null; code?: string; detail?: string };
    if (w.statusCode === 401) {
      throw new CliError('AUTH_FAILED', this.opts.apiKey ? 'the server refused the API key' : 'the server needs credentials: set KVB_API_KEY or pass --api-key-file');
    }
    if (w.statusCode >= 400) throw new CliError(body.code ?? 'INTERNAL', body.detail ?? `whoami: HTTP ${w.statusCode}`);
    return { engine: ready.engine ?? null, auth: ready.auth ?? false, user: body.user ?? null };
  }

  /** Writes every key once (batches of 500, 4 in flight) so that reads hit. */
  async preload(onProgress?: (done: number) => void, signal?: AbortSignal): Promise<void> {
    const CHUNK = 500;
    const value = this.#value.toString('base64');
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < this.opts.keys && !signal?.aborted) {
        const from = next;
        next = Math.min(this.opts.keys, next + CHUNK);
        const ops = [];
        for (let i = from; i < next; i++) ops.push({ op: 'put', key: keyName(this.opts.keyPrefix, i), value, encoding: 'base64' });
        const r = await this.pool.request({ method: 'POST', path: '/v1/batch', headers: { ...this.#headers, 'content-type': 'application/json' }, body: JSON.stringify({ ops }) });
        const text = await r.body.text();
        if (r.statusCode >= 300) {
          let p: { code?: string; detail?: string } = {};
          try {
            p = JSON.parse(text) as typeof p;
          } catch {
            // not a problem document
          }
          throw new CliError(p.code ?? 'INTERNAL', `preloading keys failed: HTTP ${r.statusCode} ${p.detail ?? ''} (may the API key write under ${JSON.stringify(this.opts.keyPrefix)}?)`);
        }
        done += next - from;
        onProgress?.(done);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

export function keyName(prefix: string, i: number): string {
  return prefix + String(i).padStart(8, '0');
}
