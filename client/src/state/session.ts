import { batch, computed, signal } from '@preact/signals';
import type { AuthResult, LoginBody, Me, RegisterBody } from '../../../protocol/api.ts';
import { ApiError } from '../lib/api-error.ts';
import { createAuthApi } from '../lib/api.ts';
import { createHttpClient, type FetchFn, type TokenSource } from '../lib/http.ts';

/** localStorage key of the refresh token. The access token is never stored. */
export const REFRESH_TOKEN_KEY = 'glint.refreshToken';
/** Web Lock that serialises refreshes across every tab of the origin. */
export const REFRESH_LOCK = 'glint-refresh';
/** Treat an access token as expired this long before it really is (clock skew, request time). */
const EXPIRY_MARGIN_MS = 10_000;
/** A refresh runs while holding the cross-tab lock; never let a stuck request hold it for ever. */
const REFRESH_TIMEOUT_MS = 20_000;

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The part of the Web Locks API we use: an exclusive lock held while `callback` runs. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** What one tab tells the others; delivered only to other tabs (like BroadcastChannel). */
export type SessionMessage =
  | { type: 'tokens'; user: Me; accessToken: string; expiresAt: number }
  | { type: 'user'; user: Me }
  | { type: 'logout' };

export interface SessionChannel {
  post(message: SessionMessage): void;
  subscribe(listener: (message: SessionMessage) => void): () => void;
  close(): void;
}

export interface SessionDeps {
  fetch: FetchFn;
  storage: KeyValueStore;
  /** Cross-tab lock; null where the Web Locks API is missing (then refreshes are serialised per tab only). */
  locks: LockManagerLike | null;
  /** Cross-tab messages; null to run alone. */
  channel?: SessionChannel | null;
  baseUrl?: string;
  now?: () => number;
}

/**
 * `restoring`: a refresh token is stored but no access token is held yet;
 * `anonymous`: nobody is logged in; `authenticated`: `user` and an access token are held.
 */
export type SessionStatus = 'restoring' | 'anonymous' | 'authenticated';

export type Session = ReturnType<typeof createSession>;

/**
 * Who is logged in, and the tokens that prove it.
 *
 * The access token lives only in memory (a signal). The refresh token lives in storage,
 * shared by every tab. The server rotates it on every refresh and revokes the whole login
 * session when a used one comes back, so every use of it happens inside the `glint-refresh`
 * Web Lock, reading it from storage inside the lock and writing its replacement before
 * letting go. Within a tab, concurrent callers share one refresh (single flight). A tab that
 * refreshes posts the new access token to the other tabs, so they seldom need their own.
 */
export function createSession(deps: SessionDeps) {
  const { storage, locks, channel = null } = deps;
  const now = deps.now ?? Date.now;
  const auth = createAuthApi(createHttpClient({ fetch: deps.fetch, baseUrl: deps.baseUrl ?? '' }));

  const user = signal<Me | null>(null);
  const accessToken = signal<string | null>(null);
  let expiresAt = 0;
  const status = signal<SessionStatus>(readRefreshToken() === null ? 'anonymous' : 'restoring');
  /** Why the last attempt to restore the session failed (network, server down), if it did. */
  const restoreError = signal<ApiError | null>(null);
  /** Why the session ended without a logout (refresh token expired, revoked or reused), for the login page. */
  const endedReason = signal<string | null>(null);
  const isLoggedIn = computed(() => status.value === 'authenticated');

  let inflight: Promise<boolean> | null = null;

  const unsubscribe = channel?.subscribe((message) => {
    if (message.type === 'tokens') {
      // A late message from before a logout must not log this tab back in.
      if (readRefreshToken() !== null) hold(message.user, message.accessToken, message.expiresAt);
    } else if (message.type === 'user') {
      if (user.peek()?.id === message.user.id) user.value = message.user;
    } else {
      forget();
    }
  });

  function readRefreshToken(): string | null {
    try {
      return storage.getItem(REFRESH_TOKEN_KEY);
    } catch {
      return null;
    }
  }

  function hold(me: Me, token: string, expiry: number): void {
    expiresAt = expiry;
    batch(() => {
      user.value = me;
      accessToken.value = token;
      status.value = 'authenticated';
      restoreError.value = null;
      endedReason.value = null;
    });
  }

  function forget(): void {
    expiresAt = 0;
    batch(() => {
      user.value = null;
      accessToken.value = null;
      status.value = 'anonymous';
      restoreError.value = null;
    });
  }

  /** Keeps a fresh login or refresh: refresh token to storage, access token to memory and to the other tabs. */
  function adopt(result: AuthResult): void {
    storage.setItem(REFRESH_TOKEN_KEY, result.refreshToken);
    const expiry = now() + result.expiresIn * 1000;
    hold(result.user, result.accessToken, expiry);
    channel?.post({ type: 'tokens', user: result.user, accessToken: result.accessToken, expiresAt: expiry });
  }

  function hasFreshToken(other: string | null): boolean {
    const current = accessToken.peek();
    return current !== null && current !== other && now() < expiresAt - EXPIRY_MARGIN_MS;
  }

  function withLock<T>(callback: () => Promise<T>): Promise<T> {
    return locks ? locks.request(REFRESH_LOCK, callback) : callback();
  }

  /**
   * Gets a new access token because `failed` (the token a request was refused with, or
   * null when none was held) is no good. Resolves true when a usable token is held
   * afterwards, false when the session is gone (logged out here or elsewhere, or revoked).
   * Network and server failures reject and leave the stored refresh token alone.
   */
  function refresh(failed: string | null = accessToken.peek()): Promise<boolean> {
    if (inflight) return inflight;
    if (hasFreshToken(failed)) return Promise.resolve(true);
    const attempt = withLock(() => refreshHoldingLock(failed));
    inflight = attempt.finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function refreshHoldingLock(failed: string | null): Promise<boolean> {
    // Read inside the lock: while we waited, another tab may have rotated the token (then
    // the stored one is its fresh replacement) or logged out (then nothing is stored).
    const stored = readRefreshToken();
    if (stored === null) {
      forget();
      return false;
    }
    // Another tab refreshed while we waited and already handed us its access token: done.
    if (hasFreshToken(failed)) return true;

    let result: AuthResult;
    try {
      result = await auth.refresh(stored, timeoutSignal(REFRESH_TIMEOUT_MS));
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'REFRESH_TOKEN_INVALID' || err.code === 'REFRESH_TOKEN_REUSED')) {
        if (readRefreshToken() === stored) storage.removeItem(REFRESH_TOKEN_KEY);
        forget();
        endedReason.value = err.message;
        channel?.post({ type: 'logout' });
        return false;
      }
      if (status.peek() === 'restoring') restoreError.value = err instanceof ApiError ? err : toApiError(err);
      throw err;
    }
    adopt(result);
    return true;
  }

  /** On page load: turns a stored refresh token into a logged-in session. */
  async function restore(): Promise<void> {
    if (status.peek() !== 'restoring') return;
    restoreError.value = null;
    try {
      await refresh(null);
    } catch {
      // Kept in restoreError for the page to show with a retry button.
    }
  }

  async function register(body: RegisterBody): Promise<Me> {
    const result = await auth.register(body);
    // Under the lock, so a refresh running in another tab cannot overwrite the new token.
    await withLock(async () => adopt(result));
    return result.user;
  }

  async function login(body: LoginBody): Promise<Me> {
    const result = await auth.login(body);
    await withLock(async () => adopt(result));
    return result.user;
  }

  /**
   * Forgets the session here and in every tab, then asks the server to revoke it. Local
   * state is cleared even when the server cannot be reached; that failure is rethrown.
   */
  async function logout(): Promise<void> {
    const token = await withLock(async () => {
      const stored = readRefreshToken();
      storage.removeItem(REFRESH_TOKEN_KEY);
      return stored;
    });
    forget();
    channel?.post({ type: 'logout' });
    if (token !== null) await auth.logout(token);
  }

  /** After PATCH /users/me: shows the new profile here and in the other tabs. */
  function updateUser(me: Me): void {
    user.value = me;
    channel?.post({ type: 'user', user: me });
  }

  const tokens: TokenSource = {
    async accessToken() {
      const current = accessToken.peek();
      if (current !== null && now() < expiresAt - EXPIRY_MARGIN_MS) return current;
      if (current === null && readRefreshToken() === null) return null;
      return (await refresh(current)) ? accessToken.peek() : null;
    },
    renew: (failed) => refresh(failed),
  };

  function close(): void {
    unsubscribe?.();
    channel?.close();
  }

  return {
    user,
    status,
    restoreError,
    endedReason,
    isLoggedIn,
    tokens,
    restore,
    refresh,
    register,
    login,
    logout,
    updateUser,
    close,
  };
}

function timeoutSignal(ms: number): AbortSignal | undefined {
  return typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(ms) : undefined;
}

function toApiError(err: unknown): ApiError {
  return new ApiError('NETWORK_ERROR', err instanceof Error ? err.message : 'Could not restore the session.', {
    cause: err,
  });
}

/** Adapts `navigator.locks` when the browser has it. */
export function webLocks(nav: Navigator | undefined = globalThis.navigator): LockManagerLike | null {
  const manager = nav?.locks;
  if (!manager || typeof manager.request !== 'function') return null;
  return {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      // The lock is held until the callback's promise settles.
      return manager.request(name, () => callback()) as Promise<T>;
    },
  };
}

/** A BroadcastChannel carrying SessionMessages between tabs of this origin. */
export function broadcastSessionChannel(name = 'glint-session'): SessionChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  const bc = new BroadcastChannel(name);
  return {
    post: (message) => bc.postMessage(message),
    subscribe(listener) {
      const handler = (event: MessageEvent<SessionMessage>) => listener(event.data);
      bc.addEventListener('message', handler);
      return () => bc.removeEventListener('message', handler);
    },
    close: () => bc.close(),
  };
}
