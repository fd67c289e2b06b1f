/**
 * Errors as RFC 9457 problem documents (application/problem+json) with the library's stable
 * codes. A client's mistake is a 4xx with its code; only a bug is INTERNAL (500), logged with
 * the request id, and the server keeps serving.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, KvError, type ErrorCode, isErrorCode } from '../errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance: string;
}

/** Fastify's own error codes for a client's mistake → ours. */
const FASTIFY: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'VALUE_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_ARGUMENT',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_ARGUMENT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_ARGUMENT',
  FST_ERR_VALIDATION: 'INVALID_ARGUMENT',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
  FST_ERR_BAD_URL: 'INVALID_ARGUMENT',
  FST_ERR_ASYNC_CONSTRAINT: 'INVALID_ARGUMENT',
};

export function toProblem(err: unknown, requestId: string): Problem {
  let code: ErrorCode;
  let detail: string;
  if (err instanceof KvError) {
    code = err.code;
    detail = err.message;
  } else {
    const e = err as Partial<FastifyError> & { statusCode?: number };
    const mapped = typeof e.code === 'string' ? FASTIFY[e.code] ?? (isErrorCode(e.code) ? e.code : undefined) : undefined;
    if (mapped) code = mapped;
    else if (e.statusCode === 429) code = 'RATE_LIMITED';
    else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) code = e.statusCode === 413 ? 'VALUE_TOO_LARGE' : e.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_ARGUMENT';
    else code = 'INTERNAL';
    detail = code === 'INTERNAL' ? ERRORS.INTERNAL.message : String(e.message ?? ERRORS[code].message);
  }
  const status = ERRORS[code].status;
  return { type: `urn:kvstore:error:${code}`, title: ERRORS[code].message, status, code, detail, instance: requestId };
}

/** 503s that say "not here, not now": answered with Retry-After, logged as warnings (a failover, a lagging node), not as server errors. */
export const ROUTING_CODES: ReadonlySet<ErrorCode> = new Set(['NOT_PRIMARY', 'FORWARD_FAILED', 'OUTCOME_UNKNOWN', 'READ_INDEX_TIMEOUT']);

export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: unknown): FastifyReply {
  const p = toProblem(err, request.id);
  if (ROUTING_CODES.has(p.code)) {
    request.log.warn({ err, code: p.code }, 'request not served here');
    if (!reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  } else if (p.status >= 500) request.log.error({ err, code: p.code }, 'request failed');
  else if (p.code === 'AUTH_FAILED' || p.code === 'PERMISSION_DENIED') request.log.info({ code: p.code, reason: reasonOf(err) }, 'request refused');
  if (p.code === 'AUTH_FAILED' && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="kvstore", ApiKey header="X-API-Key"');
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** The private reason of an auth failure (the client only sees the generic message). */
function reasonOf(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return typeof cause === 'string' ? cause : undefined;
}
