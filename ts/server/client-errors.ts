/**
 * Errors that happen before a request reaches fastify's router, in the problem shape every
 * other error has (problem.ts): Node's HTTP parser refusing the bytes (a broken request line,
 * an unknown method token, headers past the size limit, a Content-Length that is not a
 * number, a broken chunk, a request not received in time) goes to fastify's
 * clientErrorHandler, which has only the socket; a URL the router cannot decode goes to
 * frameworkErrors, which has a request and a reply.
 */
import crypto from 'node:crypto';
import type net from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, KvError } from '../errors.js';
import { sendProblem } from './problem.js';

/** Node's HTTP parser error codes (llhttp's HPE_*, and the server's own timeouts) → ours. */
export function clientErrorCode(code: string | undefined): ErrorCode {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'HPE_INVALID_METHOD':
      return 'METHOD_NOT_ALLOWED';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    default:
      return 'MALFORMED_REQUEST';
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * fastify's clientErrorHandler: writes a problem document on the raw socket (no request was
 * parsed, so the request id is made here; it is in the document, the x-request-id header and
 * the log line) and closes the connection, as Node would. Nothing of the bytes received is
 * quoted back or logged: they may hold a credential.
 */
export function problemClientErrorHandler(this: { log: FastifyBaseLogger }, err: NodeJS.ErrnoException, socket: net.Socket): void {
  {
    // A peer that went away, or a socket a response has begun on (a parse error in a pipelined
    // request after one being answered): nothing can be said without corrupting that response,
    // only closed. Node's own rule (_http_server.js socketOnError).
    const inFlight = (socket as net.Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const code = clientErrorCode(err.code);
    const id = crypto.randomUUID();
    const status = ERRORS[code].status;
    const detail = `${ERRORS[code].message} (${err.code ?? 'parse error'})`;
    const body = JSON.stringify({ type: `urn:kvstore:error:${code}`, title: ERRORS[code].message, status, code, detail, instance: id });
    this.log.info({ reqId: id, code, parserError: err.code }, 'request refused before routing');
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${id}\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  }
}

/** fastify's frameworkErrors: a URL the router cannot decode (`/v1/kv/%FF`) and the like. */
export function problemFrameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  void sendProblem(reply, request, new KvError('INVALID_ARGUMENT', err.message));
}
