/**
 * The newcomer's journey over HTTP against a real server: register, login, refresh,
 * create a stream, reveal and rotate its key, list live streams, read the profile.
 * Run once per database backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { refreshTokens } from '../../server/db/schema.ts';
import { hashToken } from '../../server/auth/tokens.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { until } from '../helpers/wait.ts';

export function describeAccountFlow(db: 'pglite' | 'postgres'): void {
  describe(`account and stream flow on ${db}`, () => {
    let server: TestServer;
    let call: ReturnType<typeof api>;
    beforeAll(async () => {
      server = await startTestServer({ db, config: { auth: { refreshTokenSweepSeconds: 1, refreshReuseGraceSeconds: 1 } } });
      call = api(server.url);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('walks from registration to a rotated stream key and a public profile', async () => {
      const reg = await call('POST', '/auth/register', { json: { username: 'Streamer_1', email: 'Streamer@Example.com', password: 'a long enough passphrase' } });
      expect(reg.status).toBe(201);
      expect(reg.body.user).toMatchObject({ username: 'Streamer_1', email: 'streamer@example.com' });
      expect(reg.body.user).not.toHaveProperty('passwordHash');
      expect(reg.body.accessToken).toMatch(/^ey/);
      expect(reg.body.refreshToken).toMatch(/^glint_rt_/);
      const userId = reg.body.user.id;

      // Login by username in another case, and by email.
      const byName = await call('POST', '/auth/login', { json: { login: 'streamer_1', password: 'a long enough passphrase' } });
      expect(byName.status).toBe(200);
      const login = await call('POST', '/auth/login', { json: { login: 'STREAMER@example.com', password: 'a long enough passphrase' } });
      expect(login.status).toBe(200);
      expect(login.body.user.id).toBe(userId);
      expect(login.body.user.lastLoginAt).not.toBeNull();

      const refreshed = await call('POST', '/auth/refresh', { json: { refreshToken: login.body.refreshToken } });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
      const token = refreshed.body.accessToken;

      const me = await call('GET', '/users/me', { token });
      expect(me.status).toBe(200);
      expect(me.body.user.id).toBe(userId);

      const created = await call('POST', '/streams', { token, json: { title: 'First stream', description: 'hello' } });
      expect(created.status).toBe(201);
      const { stream, streamKey } = created.body;
      expect(stream).toMatchObject({ userId, title: 'First stream', description: 'hello', status: 'offline', viewCount: 0, startTime: null });
      // No PUBLIC_URL configured: the WHIP URL uses the address the caller reached us at.
      expect(stream.ingestUrl).toBe(`${server.url}/whip`);
      expect(streamKey).toMatch(/^glint_sk_[A-Za-z0-9_-]{32}$/);
      expect(JSON.stringify(stream)).not.toContain(streamKey);

      const revealed = await call('GET', `/streams/${stream.id}/key`, { token });
      expect(revealed.status).toBe(200);
      expect(revealed.body.streamKey).toBe(streamKey);
      expect(revealed.headers.get('cache-control')).toBe('no-store');

      const rotated = await call('POST', `/streams/${stream.id}/key/rotate`, { token });
      expect(rotated.status).toBe(200);
      expect(rotated.body.streamKey).not.toBe(streamKey);
      const again = await call('GET', `/streams/${stream.id}/key`, { token });
      expect(again.body.streamKey).toBe(rotated.body.streamKey);

      const live = await call('GET', '/streams/live');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({ items: [], nextCursor: null });

      const mine = await call('GET', '/users/me/streams', { token });
      expect(mine.body.items.map((s: { id: string }) => s.id)).toEqual([stream.id]);

      const profile = await call('GET', `/users/${userId}/profile`);
      expect(profile.status).toBe(200);
      expect(profile.body.profile).toEqual({ id: userId, username: 'Streamer_1', displayName: 'Streamer_1', bio: '', createdAt: reg.body.user.createdAt });

      const patched = await call('PATCH', '/users/me', { token, json: { displayName: 'Streamer One', bio: 'I stream things' } });
      expect(patched.status).toBe(200);
      expect((await call('GET', `/users/${userId}/profile`)).body.profile.displayName).toBe('Streamer One');
    });

    it('marks streams live and offline, lists them newest first, and pages with a cursor', async () => {
      const reg = await call('POST', '/auth/register', { json: { username: 'pager', email: 'pager@example.com', password: 'quiet harbor lamps' } });
      const token = reg.body.accessToken;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await call('POST', '/streams', { token, json: { title: `s${i}` } });
        ids.push(c.body.stream.id);
        const started = await call('POST', `/streams/${c.body.stream.id}/start`, { token });
        expect(started.status).toBe(200);
        expect(started.body.stream.status).toBe('live');
        expect(started.body.stream.startTime).not.toBeNull();
        await new Promise((r) => setTimeout(r, 5));
      }
      // Starting again keeps the original start time.
      const first = await call('GET', `/streams/${ids[0]}`);
      const restart = await call('POST', `/streams/${ids[0]}/start`, { token });
      expect(restart.body.stream.startTime).toBe(first.body.stream.startTime);

      const page1 = await call('GET', '/streams/live?limit=2');
      expect(page1.body.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
      expect(page1.body.items[0].owner).toEqual({ username: 'pager', displayName: 'pager' });
      expect(page1.body.nextCursor).toEqual(expect.any(String));
      const page2 = await call('GET', `/streams/live?limit=2&cursor=${page1.body.nextCursor}`);
      expect(page2.body.items.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
      expect(page2.body.nextCursor).toBeNull();

      const stopped = await call('POST', `/streams/${ids[1]}/stop`, { token });
      expect(stopped.body.stream.status).toBe('offline');
      expect(stopped.body.stream.endTime).not.toBeNull();
      const after = await call('GET', '/streams/live');
      expect(after.body.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[0]]);

      const edited = await call('PATCH', `/streams/${ids[2]}`, { token, json: { title: 'renamed' } });
      expect(edited.body.stream.title).toBe('renamed');
      expect((await call('DELETE', `/streams/${ids[2]}`, { token })).status).toBe(204);
      expect((await call('GET', `/streams/${ids[2]}`)).status).toBe(404);
    });

    it('rotates refresh tokens and revokes the whole session when a used one comes back', async () => {
      const reg = await call('POST', '/auth/register', { json: { username: 'rotator', email: 'rot@example.com', password: 'seven blue kettles' } });
      const r1 = reg.body.refreshToken;
      const second = await call('POST', '/auth/refresh', { json: { refreshToken: r1 } });
      expect(second.status).toBe(200);
      const r2 = second.body.refreshToken;

      await new Promise((r) => setTimeout(r, 1_100)); // past the grace window
      const reuse = await call('POST', '/auth/refresh', { json: { refreshToken: r1 } });
      expect(reuse.status).toBe(401);
      expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
      // The thief's reuse also killed the legitimate newer token of the same session.
      const afterReuse = await call('POST', '/auth/refresh', { json: { refreshToken: r2 } });
      expect(afterReuse.status).toBe(401);
      expect(afterReuse.body.error.code).toBe('REFRESH_TOKEN_INVALID');

      // Other sessions of the same user are untouched; logout ends one.
      const login = await call('POST', '/auth/login', { json: { login: 'rotator', password: 'seven blue kettles' } });
      expect((await call('POST', '/auth/logout', { json: { refreshToken: login.body.refreshToken } })).status).toBe(204);
      const afterLogout = await call('POST', '/auth/refresh', { json: { refreshToken: login.body.refreshToken } });
      expect(afterLogout.body.error.code).toBe('REFRESH_TOKEN_INVALID');
    });

    it('deletes refresh tokens that can no longer be used, every sweep interval', async () => {
      const reg = await call('POST', '/auth/register', { json: { username: 'sweeper', email: 'sweep@example.com', password: 'dusty attic broom' } });
      const rows = server.app.db.db;
      const live = hashToken(reg.body.refreshToken);
      await rows.insert(refreshTokens).values({ userId: reg.body.user.id, familyId: crypto.randomUUID(), tokenHash: 'expired-token-hash', expiresAt: new Date(Date.now() - 1000) });
      await until('the expired refresh token to be deleted', async () => ((await rows.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, 'expired-token-hash'))).length === 0 ? true : undefined), 5_000);
      expect(await rows.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, live))).toHaveLength(1);
    });

    it('gives five concurrent refreshes of one token (five tabs) the same new token, which keeps working', async () => {
      const reg = await call('POST', '/auth/register', { json: { username: 'racer', email: 'racer@example.com', password: 'winter garden hose' } });
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => call('POST', '/auth/refresh', { json: { refreshToken: reg.body.refreshToken } })));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const successors = new Set(results.map((r) => r.body.refreshToken));
      expect(successors.size).toBe(1);
      const [next] = [...successors];
      expect(next).not.toBe(reg.body.refreshToken);
      for (const r of results) expect((await call('GET', '/users/me', { token: r.body.accessToken })).status).toBe(200);
      // The session lives on: the shared successor refreshes normally.
      const later = await call('POST', '/auth/refresh', { json: { refreshToken: next } });
      expect(later.status).toBe(200);
      expect(later.body.refreshToken).not.toBe(next);
    });
  });
}
