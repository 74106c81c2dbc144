/**
 * Access tokens are short-lived JWTs (HS256, jose); refresh tokens are opaque random
 * strings stored only as SHA-256 hashes (see auth-service.ts for rotation).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AuthError } from '../errors.ts';
import type { UserId } from '../../protocol/ids.ts';

const ISSUER = 'glint';
const AUDIENCE = 'glint-api';

export interface AccessClaims {
  userId: UserId;
  username: string;
  /** Expiry, ms since epoch (set by verify). */
  expiresAt?: number;
}

export class AccessTokens {
  constructor(
    private readonly key: Uint8Array,
    readonly ttlSeconds: number,
  ) {}

  async sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ typ: 'access', name: claims.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  /** Verifies signature, expiry, issuer, audience and type; throws AuthError otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        // A token without an expiry would be valid forever: refused, whoever signed it.
        requiredClaims: ['exp', 'sub'],
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.name !== 'string') {
        throw new AuthError('TOKEN_INVALID', 'The access token is not valid.');
      }
      return { userId: payload.sub as UserId, username: payload.name, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new AuthError('TOKEN_EXPIRED', 'The access token has expired; refresh it.');
      throw new AuthError('TOKEN_INVALID', 'The access token is not valid.');
    }
  }
}

export const REFRESH_TOKEN_PREFIX = 'glint_rt_';

export function newRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * The token that replaces `token` on refresh: derived from it with a server key, so every
 * refresh of one token (several tabs at once, on any node) is given the same successor
 * without storing it, and nobody without the key can compute it.
 */
export function successorToken(key: Uint8Array, token: string): string {
  return REFRESH_TOKEN_PREFIX + createHmac('sha256', key).update('glint refresh successor\0').update(token).digest('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
