/**
 * Session tokens: JWTs (HS256, jose) signed with a catalog signing key named by `kid`, so keys
 * rotate without logging everyone out: the old key keeps verifying until the tokens it
 * signed have expired. Claims: sub (user), uid (oid), ep (the user's auth epoch). The HMAC
 * secrets come from the keyring (keyring.ts), which keeps them sealed in the catalog.
 *
 * jose is imported on the first sign or verify, not with this module, so an embedded user
 * who never uses sessions does not load it (issue 20). Once loaded, it is used directly.
 */
import crypto from 'node:crypto';
import type * as Jose from 'jose';
import { importOptional } from '../optional-package.js';

export const ISSUER = 'kvstore';

export interface SessionClaims {
  sub: string;
  uid: number;
  ep: number;
  exp: number;
  kid: string;
}

let jose: typeof Jose | undefined;
async function loadJose(): Promise<typeof Jose> {
  // An optional peer of this package: absent, the call fails with PACKAGE_UNAVAILABLE.
  jose ??= await importOptional('session tokens (AuthService)', ['jose'], () => import('jose'));
  return jose;
}

export async function signSession(kid: string, secret: Buffer, claims: { sub: string; uid: number; ep: number }, now: number, ttlSec: number): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSec;
  const { SignJWT } = jose ?? (await loadJose());
  const token = await new SignJWT({ uid: claims.uid, ep: claims.ep })
    .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(crypto.randomBytes(12).toString('base64url'))
    .sign(secret);
  return { token, expiresAt: exp * 1000 };
}

/** The claims of a token this catalog signed and that has not expired; null otherwise. `secretFor` may throw (a key that does not unseal). */
export async function verifySession(token: string, secretFor: (kid: string) => Buffer | undefined, now: number): Promise<SessionClaims | null> {
  const { decodeProtectedHeader, jwtVerify } = jose ?? (await loadJose());
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return null;
  }
  const secret = kid === undefined ? undefined : secretFor(kid);
  if (!secret || !kid) return null;
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'], issuer: ISSUER, currentDate: new Date(now), requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.uid !== 'number' || typeof payload.ep !== 'number' || typeof payload.exp !== 'number') return null;
    return { sub: payload.sub, uid: payload.uid, ep: payload.ep, exp: payload.exp * 1000, kid };
  } catch {
    return null;
  }
}
