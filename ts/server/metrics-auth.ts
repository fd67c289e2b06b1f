/**
 * metrics_auth = token: /metrics answers only a caller with credentials (an API key or a
 * session token, as /v1 takes them) whose roles include the built-in monitor role or admin;
 * everyone else gets the same problem documents as /v1 (401 AUTH_FAILED, 403
 * PERMISSION_DENIED). /health and /ready stay open: load balancers and orchestrators probe
 * them without credentials, and they say nothing an attacker could use but "up".
 * metrics_auth = none (the default, as before) leaves /metrics open, for a scraper on a
 * private network.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import { KvError } from '../errors.js';
import { authenticate, authorizeOrThrow } from './access.js';

export type MetricsAuth = 'none' | 'token';

/** The preHandler /metrics gets, or null when it is open. Refuses `token` on a server without auth (nothing could pass). */
export function metricsGuard(mode: MetricsAuth, auth: AuthService | null): ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | null {
  if (mode === 'none') return null;
  if (!auth) throw new KvError('INVALID_ARGUMENT', 'config: metrics_auth = token needs authentication on (there would be no credential to check)');
  return async (request) => {
    const principal = await authenticate(auth, request.headers['x-api-key'], request.headers.authorization, request.ip);
    authorizeOrThrow(auth, principal, 'metrics');
  };
}
