/**
 * A small client for kvstored's HTTP API (ts/server/routes.ts) over fetch: it adds the
 * credential, turns problem+json answers into CliErrors carrying the server's stable code,
 * and an unreachable server into UNREACHABLE (exit 1).
 */
import type { Agent, fetch as undiciFetch } from 'undici';
import { CliError } from './common.js';
import type { Credential } from './credentials.js';
import { type TlsMaterial, isTlsFailure, tlsHint } from './tls.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Statuses that are not errors for this call (e.g. 404 for an existence check). */
  accept?: number[];
}

interface ProblemBody {
  code?: string;
  detail?: string;
  title?: string;
}

export class ApiClient {
  constructor(
    readonly url: string,
    private readonly credential: Credential | null,
    private readonly timeoutMs: number,
    /** Said after an AUTH_FAILED when there were no credentials (how to get some). */
    private readonly credentialNote?: string,
    /** A CA and/or client certificate (--cacert, --cert, --key); null = the platform's defaults. */
    private readonly tls: TlsMaterial | null = null,
  ) {}

  /** undici's fetch with an Agent carrying the TLS material; loaded only when TLS options are given. */
  #tlsFetch?: Promise<{ fetch: typeof undiciFetch; agent: Agent }>;

  #fetch(u: URL, init: RequestInit): Promise<Response> {
    if (!this.tls) return fetch(u, init);
    const tls = this.tls;
    this.#tlsFetch ??= import('undici').then((m) => ({ fetch: m.fetch, agent: new m.Agent({ connect: { ...tls } }) }));
    // Node's global fetch and the undici package are separate copies: the Agent goes with its own fetch.
    return this.#tlsFetch.then(({ fetch: f, agent }) => f(u, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent }) as unknown as Promise<Response>);
  }

  /** Closes the TLS agent's connections, if one was made. */
  async close(): Promise<void> {
    const t = this.#tlsFetch;
    this.#tlsFetch = undefined;
    if (t) await (await t).agent.close();
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const u = new URL(this.url + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json, */*', ...(opts.headers ?? {}) };
    if (this.credential?.kind === 'apikey') headers['x-api-key'] = this.credential.secret;
    else if (this.credential?.kind === 'token') headers.authorization = `Bearer ${this.credential.secret}`;
    let body: Buffer | string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = opts.body;
    }
    let res: Response;
    let buf: Buffer;
    // A standby with standby_writes = redirect answers a write with 307/308 + Location on its
    // primary: followed with the same method, body and credentials (at most 5 hops, never
    // from https to http), as kvstore-plus-plus/client does. Other redirects are not followed.
    let target = u;
    for (let hop = 0; ; hop++) {
      try {
        res = await this.#fetch(target, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(this.timeoutMs), redirect: 'manual' });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        if (e.name === 'TimeoutError') throw new CliError('UNREACHABLE', `${method} ${target.origin}${target.pathname}: no answer within ${this.timeoutMs} ms`);
        const why = e.cause?.code ?? e.cause?.message ?? e.message;
        const hint = target.protocol === 'https:' && isTlsFailure(e.cause?.code) ? ` (${tlsHint('KVCTL')})` : '';
        throw new CliError('UNREACHABLE', `cannot reach ${hop === 0 ? this.url : target.origin}: ${why}${hint}`);
      }
      buf = Buffer.from(await res.arrayBuffer());
      if (res.status !== 307 && res.status !== 308) break;
      const location = res.headers.get('location');
      if (!location || hop >= 5) throw new CliError('UNREACHABLE', `${target.origin} answered ${res.status} ${location ? 'more than 5 times' : 'without a Location'}`);
      const next = new URL(location, target);
      if (target.protocol === 'https:' && next.protocol !== 'https:') throw new CliError('UNREACHABLE', `refusing a redirect from https to ${next.protocol} (${next.origin}): the credentials would travel in clear`);
      target = next;
    }
    if (res.status >= 400 && !(opts.accept ?? []).includes(res.status)) throw this.#problem(res, buf);
    return { status: res.status, headers: res.headers, body: buf };
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const r = await this.request(method, path, opts);
    if (r.status === 204 || r.body.length === 0) return undefined as T;
    try {
      return JSON.parse(r.body.toString('utf8')) as T;
    } catch {
      throw new CliError('INTERNAL', `${method} ${path}: the server answered ${r.status} with a body that is not JSON`);
    }
  }

  #problem(res: Response, buf: Buffer): CliError {
    let p: ProblemBody = {};
    try {
      p = JSON.parse(buf.toString('utf8')) as ProblemBody;
    } catch {
      // not a problem document (a proxy's error page?): fall through with the status alone
    }
    const code = typeof p.code === 'string' ? p.code : res.status === 401 ? 'AUTH_FAILED' : res.status === 403 ? 'PERMISSION_DENIED' : 'INTERNAL';
    let msg = p.detail ?? p.title ?? `HTTP ${res.status}`;
    if (code === 'AUTH_FAILED') {
      if (!this.credential && this.credentialNote) msg = `${msg}: ${this.credentialNote}`;
      else if (this.credential?.kind === 'token' && this.credential.user) msg = `${msg} (the cached session of ${this.credential.user}: run \`kvctl login ${this.credential.user}\` again)`;
    }
    return new CliError(code, msg);
  }
}
