/**
 * Sending a client's request on to the primary (undici, one keep-alive Agent per server) and
 * relaying the primary's answer: the standby forwards a write, or asks for a read index.
 *
 * What travels: the method, the path and query, the body bytes (streamed, never parsed here),
 * and the headers the primary needs to decide — the credentials (`authorization`,
 * `x-api-key`) unchanged, so the PRIMARY authenticates and authorizes, the content type and
 * length, the conditions (`if-match`, `if-none-match`), this request's id (one id in both
 * nodes' logs) and FORWARDED_HEADER, which tells the receiver not to forward again. Nothing
 * else: no cookies, no hop-by-hop headers, no proxy headers. Headers are never logged.
 *
 * A failure is classified by what the primary may have seen: a connection that could not be
 * opened (refused, unreachable, TLS refused, connect timeout) carried nothing, so
 * FORWARD_FAILED (safe to retry); anything after the request could have been sent (reset,
 * closed, no answer in time) is OUTCOME_UNKNOWN. Both are 503s, never a 500.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent } from 'undici';
import { KvError, isErrorCode } from '../errors.js';

/** On a request: sent by a node that forwards it; such a request is never forwarded again. */
export const FORWARDED_HEADER = 'x-kvstore-forwarded';
/** On a relayed answer: the primary (origin) that answered it. */
export const PRIMARY_HEADER = 'x-kvstore-primary';

/** The credentials alone (a read index asks for no more). */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'] as const;
// transfer-encoding is not passed: undici frames the body itself (chunked when there is no content-length).
const PASS_REQUEST = ['authorization', 'x-api-key', 'content-type', 'content-length', 'if-match', 'if-none-match', 'accept', 'user-agent'] as const;
const PASS_RESPONSE = ['content-type', 'etag', 'x-expires-at', 'retry-after', 'location', 'www-authenticate'] as const;

/** Error codes meaning the connection was never made: the primary saw nothing. */
const NOT_SENT = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

const CONNECT_TIMEOUT_MS = 3000;

export interface ForwardTls {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

export interface Relayed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function errCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return String(e?.code ?? e?.cause?.code ?? (err instanceof Error ? err.name : 'unknown'));
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export class Forwarder {
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(timeoutMs: number, tls: ForwardTls = {}) {
    this.#timeoutMs = timeoutMs;
    this.#agent = new Agent({
      connections: 64,
      keepAliveTimeout: 10_000,
      connect: { timeout: Math.min(timeoutMs, CONNECT_TIMEOUT_MS), ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) },
    });
  }

  /**
   * Sends `method path` to `primary` (an origin) with the headers PASS_REQUEST keeps from
   * `incoming` and `body`; resolves with the primary's answer whatever its status. Rejects
   * with FORWARD_FAILED or OUTCOME_UNKNOWN (see the file comment); `what` names the request
   * in those messages.
   */
  async send(o: {
    primary: string; method: string; path: string; incoming: IncomingHttpHeaders; requestId: string; body: NodeJS.ReadableStream | null;
    timeoutMs?: number; what: string; pass?: readonly string[];
  }): Promise<Relayed> {
    const headers: Record<string, string> = { [FORWARDED_HEADER]: '1', 'x-request-id': o.requestId };
    for (const h of o.pass ?? PASS_REQUEST) {
      const v = one(o.incoming[h]);
      if (v !== undefined) headers[h] = v;
    }
    const timeout = o.timeoutMs ?? this.#timeoutMs;
    let status: number;
    let resHeaders: IncomingHttpHeaders;
    let res: Awaited<ReturnType<Agent['request']>>;
    try {
      res = await this.#agent.request({
        origin: o.primary, path: o.path, method: o.method as 'POST', headers, body: o.body as never,
        headersTimeout: timeout, bodyTimeout: timeout,
        // An overall bound too: a request queued behind a full pool has no headers timer yet.
        signal: AbortSignal.timeout(timeout + CONNECT_TIMEOUT_MS),
      });
      status = res.statusCode;
      resHeaders = res.headers as IncomingHttpHeaders;
    } catch (err) {
      const code = errCode(err);
      if (NOT_SENT.has(code)) throw new KvError('FORWARD_FAILED', `${o.what}: cannot reach the primary ${o.primary} (${code}); nothing was sent`, { cause: err });
      throw new KvError('OUTCOME_UNKNOWN', `${o.what}: sent to the primary ${o.primary}, no answer (${code}): it may or may not have been applied`, { cause: err });
    }
    let body: Buffer;
    try {
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      throw new KvError('OUTCOME_UNKNOWN', `${o.what}: the primary ${o.primary} answered ${status} but its answer was cut (${errCode(err)})`, { cause: err });
    }
    const out: Record<string, string> = {};
    for (const h of PASS_RESPONSE) {
      const v = one(resHeaders[h]);
      if (v !== undefined) out[h] = v;
    }
    return { status, headers: out, body };
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** The stable code and detail of a problem document the primary answered, if it is one. */
export function problemOf(r: Relayed): { code: string; detail: string } | null {
  if (!/json/.test(r.headers['content-type'] ?? '')) return null;
  try {
    const p = JSON.parse(r.body.toString('utf8')) as { code?: unknown; detail?: unknown };
    return isErrorCode(p.code) ? { code: p.code, detail: typeof p.detail === 'string' ? p.detail : '' } : null;
  } catch {
    return null;
  }
}
