/**
 * Accounts and sessions: register, login (throttled, see login-throttle.ts),
 * refresh-token rotation with reuse detection, logout, and bearer-token authentication.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { Me, PublicProfile, AuthResult, RegisterBody, LoginBody, UpdateMeBody } from '../../protocol/api.ts';
import type { UserId } from '../../protocol/ids.ts';
import { AuthError, BadRequestError, NotFoundError } from '../errors.ts';
import type { UsersRepo, UserRow } from '../db/users-repo.ts';
import type { RefreshTokensRepo } from '../db/refresh-tokens-repo.ts';
import { burnPasswordCheck, hashPassword, passwordWeakness, verifyPassword } from './passwords.ts';
import { AccessTokens, hashToken, newRefreshToken, successorToken, type AccessClaims } from './tokens.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { bearerToken } from '../http/bearer.ts';

export interface AuthServiceOptions {
  users: UsersRepo;
  refreshTokens: RefreshTokensRepo;
  accessTokens: AccessTokens;
  /** Key deriving a refresh token's successor (see successorToken). */
  refreshTokenKey: Uint8Array;
  refreshTokenTtlSeconds: number;
  /** Refreshes of one token within this window all get the same answer (several tabs at once). */
  refreshReuseGraceSeconds: number;
  throttle: LoginThrottle;
  /** How often refresh tokens that can no longer be used are deleted. */
  refreshTokenSweepMs: number;
  log: Logger;
}

export function toMe(u: UserRow): Me {
  return {
    id: u.id as UserId,
    username: u.username,
    email: u.email,
    displayName: u.displayName,
    bio: u.bio,
    createdAt: u.createdAt.toISOString(),
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  };
}

export function toProfile(u: UserRow): PublicProfile {
  return { id: u.id as UserId, username: u.username, displayName: u.displayName, bio: u.bio, createdAt: u.createdAt.toISOString() };
}

const BAD_LOGIN = 'Wrong login or password.';

export class AuthService {
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: AuthServiceOptions) {}

  /** Deletes dead refresh tokens now and then every `refreshTokenSweepMs`. */
  start(): void {
    const sweep = () => {
      this.o.refreshTokens.deleteExpired().then(
        (n) => n > 0 && this.o.log.info({ deleted: n }, 'expired refresh tokens deleted'),
        (err) => this.o.log.warn({ err }, 'cannot delete expired refresh tokens'),
      );
    };
    sweep();
    this.sweepTimer = setInterval(sweep, this.o.refreshTokenSweepMs);
    this.sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  async register(body: RegisterBody, ip: string): Promise<AuthResult> {
    await this.o.throttle.registration(ip);
    const weakness = passwordWeakness(body.password, body.username, body.email);
    if (weakness) {
      throw new BadRequestError('WEAK_PASSWORD', `The password ${weakness}.`, { details: [{ path: 'password', message: weakness }] });
    }
    const user = await this.o.users.create({ username: body.username, email: body.email, passwordHash: await hashPassword(body.password) });
    this.o.log.info({ userId: user.id }, 'user registered');
    return this.issue(user, randomUUID());
  }

  async login(body: LoginBody, ip: string): Promise<AuthResult> {
    // The account first: its limits follow the account whichever way the login was spelt.
    const user = await this.o.users.findByLogin(body.login);
    const attempt = await this.o.throttle.begin(user ? `u:${user.id}` : `n:${body.login.toLowerCase()}`, ip);
    const ok = user ? await verifyPassword(body.password, user.passwordHash) : (await burnPasswordCheck(body.password), false);
    if (!user || !ok) {
      await this.o.throttle.failed(attempt);
      this.o.log.info({ ip }, 'login failed');
      throw new AuthError('INVALID_CREDENTIALS', BAD_LOGIN);
    }
    await this.o.throttle.succeeded(attempt);
    const now = new Date();
    await this.o.users.touchLogin(user.id as UserId, now);
    return this.issue({ ...user, lastLoginAt: now }, randomUUID());
  }

  /**
   * Rotates a refresh token. Every refresh of the same token within the grace window (tabs
   * refreshing together, a retried request) gets the same successor; presenting it later is
   * reuse, and the whole login session is revoked.
   */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const result = await this.o.refreshTokens.consume(hashToken(refreshToken), this.o.refreshReuseGraceSeconds * 1000);
    if (result.kind === 'reused') {
      await this.o.refreshTokens.revokeFamily(result.row.familyId);
      this.o.log.warn({ userId: result.row.userId, family: result.row.familyId }, 'refresh token reused; session revoked');
      throw new AuthError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session was ended for safety. Log in again.');
    }
    if (result.kind === 'invalid') throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid. Log in again.');
    const user = await this.o.users.findById(result.row.userId as UserId);
    if (!user) throw new AuthError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid. Log in again.');
    return this.issue(user, result.row.familyId, successorToken(this.o.refreshTokenKey, refreshToken));
  }

  async logout(refreshToken: string): Promise<void> {
    const row = await this.o.refreshTokens.findByHash(hashToken(refreshToken));
    if (row) await this.o.refreshTokens.revokeFamily(row.familyId);
  }

  /** Resolves the caller from an Authorization header; throws AuthError when absent or bad. */
  async authenticate(authorization: string | undefined): Promise<AccessClaims> {
    if (!authorization) throw new AuthError('UNAUTHENTICATED', 'Log in first: this needs an access token (Authorization: Bearer ...).');
    const token = bearerToken(authorization);
    if (!token) throw new AuthError('TOKEN_INVALID', 'The Authorization header must be "Bearer <access token>".');
    return this.o.accessTokens.verify(token);
  }

  async me(userId: UserId): Promise<Me> {
    const user = await this.o.users.findById(userId);
    if (!user) throw new AuthError('TOKEN_INVALID', 'The account of this token no longer exists.');
    return toMe(user);
  }

  async updateMe(userId: UserId, patch: UpdateMeBody): Promise<Me> {
    const user = await this.o.users.update(userId, patch);
    if (!user) throw new AuthError('TOKEN_INVALID', 'The account of this token no longer exists.');
    return toMe(user);
  }

  async profile(userId: UserId): Promise<PublicProfile> {
    const user = await this.o.users.findById(userId);
    if (!user) throw new NotFoundError('USER_NOT_FOUND', 'No user has this id.');
    return toProfile(user);
  }

  private async issue(user: UserRow, familyId: string, refreshToken = newRefreshToken()): Promise<AuthResult> {
    await this.o.refreshTokens.insert({
      userId: user.id as UserId,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.o.refreshTokenTtlSeconds * 1000),
    });
    const accessToken = await this.o.accessTokens.sign({ userId: user.id as UserId, username: user.username });
    return { user: toMe(user), accessToken, expiresIn: this.o.accessTokens.ttlSeconds, refreshToken };
  }
}
