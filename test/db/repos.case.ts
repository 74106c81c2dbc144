/**
 * The repository contract, run once on embedded PGlite and once on PostgreSQL: both
 * backends must behave the same for every query the server makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../server/db/index.ts';
import { UsersRepo } from '../../server/db/users-repo.ts';
import { RefreshTokensRepo } from '../../server/db/refresh-tokens-repo.ts';
import { StreamsRepo } from '../../server/db/streams-repo.ts';
import { AppError } from '../../server/errors.ts';
import type { StreamId, UserId } from '../../protocol/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/services.ts';

export function describeRepos(backend: 'pglite' | 'postgres'): void {
  describe(`repositories on ${backend}`, () => {
    let database: Database;
    let pgDb: TestDatabase | undefined;
    let users: UsersRepo;
    let tokens: RefreshTokensRepo;
    let streams: StreamsRepo;

    beforeAll(async () => {
      if (backend === 'postgres') pgDb = await createTestDatabase();
      database = await createDatabase({ url: pgDb?.url ?? '', dataDir: 'memory://' });
      expect(database.kind).toBe(backend);
      users = new UsersRepo(database.db);
      tokens = new RefreshTokensRepo(database.db);
      streams = new StreamsRepo(database.db);
    });
    afterAll(async () => {
      await database?.close();
      await pgDb?.drop();
    });

    const newUser = (name: string) => users.create({ username: name, email: `${name}@example.com`, passwordHash: 'scrypt$x' });

    it('creates users, finds them by any-case username or email, and refuses duplicates', async () => {
      const u = await newUser('Mixed_Case');
      expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(u.createdAt).toBeInstanceOf(Date);
      expect((await users.findByLogin('mixed_case'))?.id).toBe(u.id);
      expect((await users.findByLogin('MIXED_CASE@EXAMPLE.COM'))?.id).toBe(u.id);
      expect(await users.findByLogin('nobody')).toBeUndefined();
      await expect(users.create({ username: 'MIXED_case', email: 'other@example.com', passwordHash: 'x' })).rejects.toMatchObject({ code: 'USERNAME_TAKEN' });
      await expect(users.create({ username: 'other', email: 'Mixed_Case@example.com', passwordHash: 'x' })).rejects.toBeInstanceOf(AppError);
      const updated = await users.update(u.id as UserId, { bio: 'hi', displayName: 'M' });
      expect(updated).toMatchObject({ bio: 'hi', displayName: 'M' });
      await users.touchLogin(u.id as UserId, new Date('2026-01-02T03:04:05Z'));
      expect((await users.findById(u.id as UserId))?.lastLoginAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    });

    it('consumes a refresh token exactly once, tells a repeat within the grace window from reuse', async () => {
      const u = await newUser('tok');
      const familyId = '11111111-1111-4111-8111-111111111111';
      await tokens.insert({ userId: u.id as UserId, familyId, tokenHash: 'h1', expiresAt: new Date(Date.now() + 60_000) });
      const results = await Promise.all([tokens.consume('h1', 10_000), tokens.consume('h1', 10_000), tokens.consume('h1', 0)]);
      expect(results.map((r) => r.kind).sort()).toEqual(['again', 'ok', 'reused']);
      expect((await tokens.consume('h1', 10_000, new Date(Date.now() + 11_000))).kind).toBe('reused');
      // Issuing the same successor twice is harmless.
      await tokens.insert({ userId: u.id as UserId, familyId, tokenHash: 'h2', expiresAt: new Date(Date.now() + 60_000) });
      await tokens.insert({ userId: u.id as UserId, familyId, tokenHash: 'h2', expiresAt: new Date(Date.now() + 60_000) });
      await tokens.revokeFamily(familyId);
      expect((await tokens.consume('h1', 10_000)).kind).toBe('invalid');
      await tokens.insert({ userId: u.id as UserId, familyId, tokenHash: 'h-expired', expiresAt: new Date(Date.now() - 1000) });
      expect((await tokens.consume('h-expired', 10_000)).kind).toBe('invalid');
      expect((await tokens.consume('never-issued', 10_000)).kind).toBe('invalid');
      expect(await tokens.deleteExpired()).toBeGreaterThanOrEqual(1);
    });

    it('keeps stream state, key lookups and keyset pages consistent', async () => {
      const u = await newUser('streamer');
      const mk = (title: string, hash: string) =>
        streams.create({ userId: u.id as UserId, title, description: '', streamKeyHash: hash, streamKeyCiphertext: 'c' });
      const a = await mk('a', 'ha');
      const b = await mk('b', 'hb');
      const c = await mk('c', 'hc');
      await expect(mk('dup', 'ha')).rejects.toThrow();
      expect((await streams.findByKeyHash('hb'))?.id).toBe(b.id);
      await streams.setKey(b.id as StreamId, 'hb2', 'c2');
      expect(await streams.findByKeyHash('hb')).toBeUndefined();

      const t0 = new Date('2026-05-01T10:00:00Z');
      await streams.markLive(a.id as StreamId, t0);
      await streams.markLive(b.id as StreamId, new Date(t0.getTime() + 1000));
      await streams.markLive(c.id as StreamId, new Date(t0.getTime() + 1000));
      await streams.markLive(a.id as StreamId, new Date(t0.getTime() + 5000)); // already live: keeps t0
      expect((await streams.findById(a.id as StreamId))?.startTime?.toISOString()).toBe(t0.toISOString());

      const all = await streams.listLive(10);
      expect(all.map((s) => s.title)).toEqual([b.id > c.id ? 'b' : 'c', b.id > c.id ? 'c' : 'b', 'a']);
      expect(all[0]?.ownerUsername).toBe('streamer');
      const first = await streams.listLive(1);
      const rest = await streams.listLive(10, { startTime: first[0]!.startTime!, id: first[0]!.id });
      expect([...first, ...rest].map((s) => s.id)).toEqual(all.map((s) => s.id));

      await streams.markOffline(a.id as StreamId, new Date(t0.getTime() + 9000));
      const offline = await streams.findById(a.id as StreamId);
      expect(offline).toMatchObject({ status: 'offline' });
      expect(offline?.endTime?.toISOString()).toBe(new Date(t0.getTime() + 9000).toISOString());
      await streams.markLive(a.id as StreamId, new Date(t0.getTime() + 20_000));
      expect((await streams.findById(a.id as StreamId))?.endTime).toBeNull();

      await streams.addViews(a.id as StreamId, 3);
      await streams.addViews(a.id as StreamId, 2);
      expect((await streams.findById(a.id as StreamId))?.viewCount).toBe(5);
      // Newest first; streams created in the same millisecond come by id, as keyset pages need.
      const byAge = [a, b, c].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id > x.id ? 1 : -1));
      expect((await streams.listByUser(u.id as UserId)).map((s) => s.title)).toEqual(byAge.map((s) => s.title));
      expect(await streams.delete(c.id as StreamId)).toBe(true);
      expect(await streams.delete(c.id as StreamId)).toBe(false);
    });

    it('answers ping', async () => {
      await expect(database.ping()).resolves.toBeUndefined();
    });
  });
}
