/**
 * Small fakes for the state-model tests: an in-memory auth server with refresh rotation and
 * reuse detection as docs/api.md describes it, storage, Web Locks and a tab-to-tab channel.
 * Not imported by the app.
 */
import type { AuthResult, Me } from '../../../protocol/api.ts';
import type { UserId } from '../../../protocol/ids.ts';
import type { FetchFn } from '../lib/http.ts';
import type { KeyValueStore, LockManagerLike, SessionChannel, SessionMessage } from './session.ts';

export const ME: Me = {
  id: '00000000-0000-4000-8000-000000000001' as UserId,
  username: 'ada',
  email: 'ada@example.com',
  displayName: 'Ada',
  bio: '',
  createdAt: '2025-01-01T00:00:00.000Z',
  lastLoginAt: null,
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function errorResponse(status: number, code: string, message = code, extra: Record<string, unknown> = {}): Response {
  return json(status, { error: { code, message, ...extra } });
}

/**
 * Accounts as the server keeps them: every refresh token is good once; presenting a used
 * one revokes the whole family. Access tokens are valid until `expireAccessTokens()`.
 */
export function createFakeAuthServer() {
  let counter = 0;
  const validRefresh = new Set<string>();
  const usedRefresh = new Set<string>();
  const validAccess = new Set<string>();
  const expiredAccess = new Set<string>();
  const refreshCalls: string[] = [];
  const reusedTokens: string[] = [];
  const logoutCalls: string[] = [];
  let failNextRefreshWith: Error | null = null;
  const routes = new Map<string, (body: unknown, auth: string | null) => Response | Promise<Response>>();

  function issue(): AuthResult {
    counter += 1;
    const result = { user: ME, accessToken: `access-${counter}`, expiresIn: 900, refreshToken: `refresh-${counter}` };
    validRefresh.add(result.refreshToken);
    validAccess.add(result.accessToken);
    return result;
  }

  const fetch: FetchFn = async (input, init = {}) => {
    // Let concurrent callers interleave like real network calls do.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const url = new URL(input, 'http://glint.test');
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const authHeader = (init.headers as Record<string, string> | undefined)?.Authorization ?? null;
    const key = `${init.method ?? 'GET'} ${url.pathname}`;

    if (key === 'POST /auth/login' || key === 'POST /auth/register') {
      return json(key.endsWith('register') ? 201 : 200, issue());
    }
    if (key === 'POST /auth/refresh') {
      const token = (body as { refreshToken: string }).refreshToken;
      refreshCalls.push(token);
      if (failNextRefreshWith) {
        const err = failNextRefreshWith;
        failNextRefreshWith = null;
        throw err;
      }
      if (usedRefresh.has(token)) {
        reusedTokens.push(token);
        validRefresh.clear();
        validAccess.clear();
        return errorResponse(401, 'REFRESH_TOKEN_REUSED', 'This refresh token was already used.');
      }
      if (!validRefresh.has(token)) return errorResponse(401, 'REFRESH_TOKEN_INVALID', 'Unknown refresh token.');
      validRefresh.delete(token);
      usedRefresh.add(token);
      return json(200, issue());
    }
    if (key === 'POST /auth/logout') {
      logoutCalls.push((body as { refreshToken: string }).refreshToken);
      return new Response(null, { status: 204 });
    }
    const token = authHeader?.replace(/^Bearer /, '') ?? null;
    const handler = routes.get(key);
    if (handler) {
      if (token !== null && expiredAccess.has(token)) return errorResponse(401, 'TOKEN_EXPIRED', 'Expired.');
      return handler(body, token);
    }
    if (key === 'GET /users/me') {
      if (token === null) return errorResponse(401, 'UNAUTHENTICATED', 'Log in first.');
      if (expiredAccess.has(token)) return errorResponse(401, 'TOKEN_EXPIRED', 'The access token has expired.');
      if (!validAccess.has(token)) return errorResponse(401, 'TOKEN_INVALID', 'Bad token.');
      return json(200, { user: ME });
    }
    return errorResponse(404, 'ROUTE_NOT_FOUND', 'No route.');
  };

  return {
    fetch,
    /** Hands out a pair as a login would, for seeding storage. */
    issue,
    refreshCalls,
    reusedTokens,
    logoutCalls,
    route(key: string, handler: (body: unknown, auth: string | null) => Response | Promise<Response>) {
      routes.set(key, handler);
    },
    expireAccessTokens() {
      for (const token of validAccess) expiredAccess.add(token);
      validAccess.clear();
    },
    failNextRefresh(err: Error) {
      failNextRefreshWith = err;
    },
  };
}

export function createMemoryStorage(initial: Record<string, string> = {}): KeyValueStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

/** Exclusive named locks, granted in request order, like navigator.locks shared by all tabs. */
export function createMemoryLocks(): LockManagerLike & { grants: number } {
  const tails = new Map<string, Promise<unknown>>();
  const locks = {
    grants: 0,
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const previous = tails.get(name) ?? Promise.resolve();
      const run = previous.then(() => {
        locks.grants += 1;
        return callback();
      });
      tails.set(
        name,
        run.catch(() => undefined),
      );
      return run;
    },
  };
  return locks;
}

/**
 * Channels between fake tabs. `deliver: 'sync'` hands a message over before `post` returns
 * (so before the poster lets go of a lock); `'async'` delivers on a later macrotask.
 */
export function createChannelHub(deliver: 'sync' | 'async' = 'sync') {
  const listeners = new Set<{ owner: object; fn: (m: SessionMessage) => void }>();
  return {
    channel(): SessionChannel {
      const owner = {};
      return {
        post(message) {
          for (const listener of listeners) {
            if (listener.owner === owner) continue;
            const copy = structuredClone(message);
            if (deliver === 'sync') listener.fn(copy);
            else setTimeout(() => listener.fn(copy), 0);
          }
        },
        subscribe(fn) {
          const entry = { owner, fn };
          listeners.add(entry);
          return () => listeners.delete(entry);
        },
        close() {
          for (const listener of listeners) if (listener.owner === owner) listeners.delete(listener);
        },
      };
    },
  };
}
