import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api-error.ts';
import { createGlintApi } from '../lib/api.ts';
import { createHttpClient } from '../lib/http.ts';
import { REFRESH_TOKEN_KEY, createSession, type SessionChannel } from './session.ts';
import {
  ME,
  createChannelHub,
  createFakeAuthServer,
  createMemoryLocks,
  createMemoryStorage,
  errorResponse,
  json,
} from './testing.ts';

function setup(opts: { stored?: string | null; channel?: SessionChannel | null } = {}) {
  const server = createFakeAuthServer();
  const storage = createMemoryStorage();
  if (opts.stored) storage.setItem(REFRESH_TOKEN_KEY, opts.stored);
  const locks = createMemoryLocks();
  const session = createSession({ fetch: server.fetch, storage, locks, channel: opts.channel ?? null });
  const api = createGlintApi(createHttpClient({ fetch: server.fetch, tokens: session.tokens }));
  return { server, storage, locks, session, api };
}

/** A second tab: its own session and API client over the same server, storage and locks. */
function openTab(
  server: ReturnType<typeof createFakeAuthServer>,
  storage: ReturnType<typeof createMemoryStorage>,
  locks: ReturnType<typeof createMemoryLocks>,
  channel: SessionChannel | null,
) {
  const session = createSession({ fetch: server.fetch, storage, locks, channel });
  const api = createGlintApi(createHttpClient({ fetch: server.fetch, tokens: session.tokens }));
  return { session, api };
}

describe('session', () => {
  it('starts anonymous when no refresh token is stored', () => {
    const { session } = setup();
    expect(session.status.value).toBe('anonymous');
    expect(session.user.value).toBeNull();
  });

  it('keeps the refresh token in storage and the access token only in memory after login', async () => {
    const { session, storage } = setup();
    await session.login({ login: 'ada', password: 'correct horse battery' });
    expect(session.status.value).toBe('authenticated');
    expect(session.user.value?.username).toBe('ada');
    expect([...storage.data.entries()]).toEqual([[REFRESH_TOKEN_KEY, 'refresh-1']]);
  });

  it('restores a session from a stored refresh token with one refresh on load', async () => {
    const server = createFakeAuthServer();
    const seeded = server.issue();
    const storage = createMemoryStorage({ [REFRESH_TOKEN_KEY]: seeded.refreshToken });
    const session = createSession({ fetch: server.fetch, storage, locks: createMemoryLocks() });
    expect(session.status.value).toBe('restoring');

    await session.restore();

    expect(server.refreshCalls).toEqual([seeded.refreshToken]);
    expect(session.status.value).toBe('authenticated');
    expect(session.user.value).toEqual(ME);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).not.toBe(seeded.refreshToken);
  });

  it('refreshes once for many concurrent requests that meet TOKEN_EXPIRED, and retries each once', async () => {
    const { server, session, api, locks } = setup();
    await session.login({ login: 'ada', password: 'pw' });
    server.expireAccessTokens();
    const grantsBefore = locks.grants;

    const results = await Promise.all([api.me(), api.me(), api.me(), api.me()]);

    expect(results.map((r) => r.user.id)).toEqual([ME.id, ME.id, ME.id, ME.id]);
    expect(server.refreshCalls).toEqual(['refresh-1']);
    expect(server.reusedTokens).toEqual([]);
    expect(locks.grants - grantsBefore).toBe(1);
  });

  it('shares one refresh between concurrent requests even where Web Locks are missing', async () => {
    const server = createFakeAuthServer();
    const session = createSession({ fetch: server.fetch, storage: createMemoryStorage(), locks: null });
    const api = createGlintApi(createHttpClient({ fetch: server.fetch, tokens: session.tokens }));
    await session.login({ login: 'ada', password: 'pw' });
    server.expireAccessTokens();

    await Promise.all([api.me(), api.me(), api.myStreams().catch(() => null)]);

    expect(server.refreshCalls).toEqual(['refresh-1']);
    expect(server.reusedTokens).toEqual([]);
  });

  it('reports a second TOKEN_EXPIRED after the retry instead of refreshing again', async () => {
    const { server, session, api } = setup();
    await session.login({ login: 'ada', password: 'pw' });
    let calls = 0;
    server.route('GET /users/me/streams', () => {
      calls += 1;
      return errorResponse(401, 'TOKEN_EXPIRED', 'The access token has expired.');
    });

    const error = await api.myStreams().catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('TOKEN_EXPIRED');
    expect(calls).toBe(2);
    expect(server.refreshCalls).toHaveLength(1);
  });

  it('does not refresh on other 401 codes', async () => {
    const { server, session, api } = setup();
    await session.login({ login: 'ada', password: 'pw' });
    server.route('GET /users/me/streams', () => errorResponse(401, 'TOKEN_INVALID', 'Bad token.'));

    await expect(api.myStreams()).rejects.toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    expect(server.refreshCalls).toEqual([]);
  });

  it('refreshes before sending when the held access token is about to expire', async () => {
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    let clock = 1_000_000;
    const session = createSession({ fetch: server.fetch, storage, locks: createMemoryLocks(), now: () => clock });
    const api = createGlintApi(createHttpClient({ fetch: server.fetch, tokens: session.tokens }));
    await session.login({ login: 'ada', password: 'pw' });

    clock += 895_000; // 900 s tokens, 5 s left: inside the safety margin
    await api.me();

    expect(server.refreshCalls).toEqual(['refresh-1']);
  });

  it('lets a tab skip its refresh when another tab rotated the token and shared the access token', async () => {
    const hub = createChannelHub('sync');
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    const locks = createMemoryLocks();
    const a = openTab(server, storage, locks, hub.channel());
    const b = openTab(server, storage, locks, hub.channel());
    await a.session.login({ login: 'ada', password: 'pw' });
    expect(b.session.status.value).toBe('authenticated');
    server.expireAccessTokens();

    const [fromA, fromB] = await Promise.all([a.api.me(), b.api.me()]);

    expect(fromA.user.id).toBe(ME.id);
    expect(fromB.user.id).toBe(ME.id);
    expect(server.refreshCalls).toEqual(['refresh-1']);
    expect(server.reusedTokens).toEqual([]);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe('refresh-2');
  });

  it('never presents a used refresh token when tabs refresh at once without hearing each other', async () => {
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    const locks = createMemoryLocks();
    const tabs = [1, 2, 3].map(() => openTab(server, storage, locks, null));
    await tabs[0]!.session.login({ login: 'ada', password: 'pw' });
    await Promise.all(tabs.slice(1).map((tab) => tab.session.restore()));
    server.expireAccessTokens();

    await Promise.all(tabs.map((tab) => tab.api.me()));

    expect(server.reusedTokens).toEqual([]);
    expect(new Set(server.refreshCalls).size).toBe(server.refreshCalls.length);
    for (const tab of tabs) expect(tab.session.status.value).toBe('authenticated');
  });

  it('ends the session in every tab when the server reports a reused refresh token', async () => {
    const hub = createChannelHub('sync');
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    const locks = createMemoryLocks();
    const a = openTab(server, storage, locks, hub.channel());
    const b = openTab(server, storage, locks, hub.channel());
    await a.session.login({ login: 'ada', password: 'pw' });
    // Someone else (a copied token, say) already used the stored refresh token.
    await server.fetch('/auth/refresh', { method: 'POST', body: JSON.stringify({ refreshToken: 'refresh-1' }) });
    server.expireAccessTokens();

    await expect(a.api.me()).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });

    expect(server.reusedTokens).toEqual(['refresh-1']);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(a.session.status.value).toBe('anonymous');
    expect(b.session.status.value).toBe('anonymous');
    expect(a.session.endedReason.value).toBe('This refresh token was already used.');

    await a.session.login({ login: 'ada', password: 'pw' });
    expect(a.session.endedReason.value).toBeNull();
  });

  it('keeps the stored token and reports the failure when the refresh cannot reach the server', async () => {
    const server = createFakeAuthServer();
    const seeded = server.issue();
    const storage = createMemoryStorage({ [REFRESH_TOKEN_KEY]: seeded.refreshToken });
    const session = createSession({ fetch: server.fetch, storage, locks: createMemoryLocks() });
    server.failNextRefresh(new TypeError('fetch failed'));

    await session.restore();

    expect(session.status.value).toBe('restoring');
    expect(session.restoreError.value?.code).toBe('NETWORK_ERROR');
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBe(seeded.refreshToken);

    await session.restore();
    expect(session.status.value).toBe('authenticated');
    expect(session.restoreError.value).toBeNull();
  });

  it('logs out: tells the server, clears storage, and logs out the other tabs', async () => {
    const hub = createChannelHub('sync');
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    const locks = createMemoryLocks();
    const a = openTab(server, storage, locks, hub.channel());
    const b = openTab(server, storage, locks, hub.channel());
    await a.session.login({ login: 'ada', password: 'pw' });

    await a.session.logout();

    expect(server.logoutCalls).toEqual(['refresh-1']);
    expect(storage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(a.session.status.value).toBe('anonymous');
    expect(b.session.status.value).toBe('anonymous');
  });

  it('ignores a late token message that arrives after a logout', async () => {
    const hub = createChannelHub('sync');
    const server = createFakeAuthServer();
    const storage = createMemoryStorage();
    const a = openTab(server, storage, createMemoryLocks(), hub.channel());
    const other = hub.channel();
    await a.session.login({ login: 'ada', password: 'pw' });
    await a.session.logout();

    other.post({ type: 'tokens', user: ME, accessToken: 'access-late', expiresAt: Date.now() + 60_000 });

    expect(a.session.status.value).toBe('anonymous');
  });

  it('turns an error body into an ApiError with the field details', async () => {
    const fetch = async () =>
      json(400, {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'The request is invalid.',
          details: [{ path: 'email', message: 'must be an email address' }],
        },
      });
    const session = createSession({ fetch, storage: createMemoryStorage(), locks: null });

    const error = await session.register({ username: 'ada', email: 'nope', password: 'x' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toEqual([{ path: 'email', message: 'must be an email address' }]);
    expect(session.status.value).toBe('anonymous');
  });
});
