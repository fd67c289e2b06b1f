/**
 * Authentication and authorization as the HTTP routes and the gRPC services both apply them,
 * so the two entry points cannot drift: the same credentials (an API key or a bearer session
 * token, never both), the same decisions, the same error codes.
 */
import { KvError } from '../errors.js';
import type { Action, AuthService, Principal } from '../auth/service.js';
import { isSystemKey } from '../store/keys.js';

/**
 * The principal behind a request's credentials: `apiKey` from `X-API-Key` / `x-api-key`,
 * `authorization` from `Authorization` / `authorization` (`Bearer <token>`). Throws
 * INVALID_ARGUMENT for both at once and AUTH_FAILED for none or bad ones.
 */
export async function authenticate(auth: AuthService, apiKey: unknown, authorization: unknown, ip: string): Promise<Principal> {
  if (apiKey !== undefined && authorization !== undefined) throw new KvError('INVALID_ARGUMENT', 'send X-API-Key or Authorization, not both');
  if (typeof apiKey === 'string') return auth.authenticateApiKey(apiKey, ip);
  if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) return auth.verifyToken(authorization.slice(7).trim());
  throw new KvError('AUTH_FAILED', 'credentials required: X-API-Key or Authorization: Bearer <token>');
}

/**
 * Throws unless `principal` may do `action` (on `key`). With auth off (null) everything is
 * allowed. A principal that no longer stands (user dropped or locked, session stale, key
 * revoked) is AUTH_FAILED, as is none at all; a refusal is PERMISSION_DENIED, except that a
 * read, write or delete of a key under `_sys.` is RESERVED_KEY, as the embedded store and a
 * server without auth answer it: no grant can reach those keys, whoever asks.
 */
export function authorizeOrThrow(auth: AuthService | null, principal: Principal | null, action: Action | 'admin' | 'replicate' | 'metrics', key?: string | Uint8Array): void {
  if (!auth) return;
  const d = auth.authorize(principal, action, key);
  if (d.invalid) throw new KvError('AUTH_FAILED', undefined, { cause: d.reason });
  if (d.allow) return;
  if (action !== 'scan' && action !== 'admin' && key !== undefined && isSystemKey(typeof key === 'string' ? Buffer.from(key) : key)) throw new KvError('RESERVED_KEY');
  throw new KvError('PERMISSION_DENIED', `${action} ${key === undefined ? '' : 'on this key '}denied: ${d.reason}`);
}
