/**
 * The recordings repository (recordings + stream_segments), run once on embedded PGlite and
 * once on PostgreSQL: both backends must answer the recorder's queries the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../server/db/index.ts';
import { RecordingsRepo } from '../../server/db/recordings-repo.ts';
import { StreamsRepo } from '../../server/db/streams-repo.ts';
import { UsersRepo } from '../../server/db/users-repo.ts';
import type { StreamId, UserId } from '../../protocol/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/services.ts';

export function describeRecordingsRepo(backend: 'pglite' | 'postgres'): void {
  describe(`recordings repository on ${backend}`, () => {
    let database: Database;
    let pgDb: TestDatabase | undefined;
    let repo: RecordingsRepo;
    let streamId: StreamId;
    let streams: StreamsRepo;

    beforeAll(async () => {
      if (backend === 'postgres') pgDb = await createTestDatabase();
      database = await createDatabase({ url: pgDb?.url ?? '', dataDir: 'memory://' });
      repo = new RecordingsRepo(database.db);
      streams = new StreamsRepo(database.db);
      const user = await new UsersRepo(database.db).create({ username: 'recorder', email: 'rec@example.com', passwordHash: 'scrypt$x' });
      const stream = await streams.create({ userId: user.id as UserId, title: 'recorded', description: '', streamKeyHash: 'h', streamKeyCiphertext: 'c' });
      streamId = stream.id as StreamId;
    });
    afterAll(async () => {
      await database?.close();
      await pgDb?.drop();
    });

    const segment = (recordingId: string, sequence: number, rendition = 'source') => ({
      streamId, recordingId, sequence, segmentUrl: `/hls/${streamId}/${recordingId}/${rendition}-s${sequence}.m4s`,
      duration: 1.25, byteSize: 1000 + sequence, discontinuity: sequence === 2, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)),
    });

    it('creates recordings with their folder, lists them newest first and finishes them', async () => {
      const first = await repo.create(streamId, (id) => `${streamId}/${id}`, { startedAt: new Date(Date.UTC(2026, 0, 1)) });
      const second = await repo.create(streamId, (id) => `${streamId}/${id}`, { startedAt: new Date(Date.UTC(2026, 0, 2)) });
      expect(first.path).toBe(`${streamId}/${first.id}`);
      expect(first.status).toBe('recording');
      expect((await repo.listByStream(streamId)).map((r) => r.id)).toEqual([second.id, first.id]);
      expect((await repo.latest(streamId))?.id).toBe(second.id);
      expect((await repo.unfinished()).map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
      await repo.finish(first.id, 'complete', 12.5, new Date(Date.UTC(2026, 0, 1, 1)));
      const done = await repo.get(first.id);
      expect(done).toMatchObject({ status: 'complete', durationSeconds: 12.5 });
      expect(done?.endedAt?.toISOString()).toBe('2026-01-01T01:00:00.000Z');
      expect((await repo.unfinished()).map((r) => r.id)).toEqual([second.id]);
    });

    it('leaves another node\'s unfinished and expired recordings to that node', async () => {
      const mine = await repo.create(streamId, (id) => `${streamId}/${id}`, { nodeId: 'node-1' });
      const theirs = await repo.create(streamId, (id) => `${streamId}/${id}`, { nodeId: 'node-2' });
      expect(mine.nodeId).toBe('node-1');
      const unfinished = (await repo.unfinished('node-1')).map((r) => r.id);
      expect(unfinished).toContain(mine.id);
      expect(unfinished).not.toContain(theirs.id);
      for (const r of [mine, theirs]) await repo.finish(r.id, 'complete', 1, new Date(Date.now() - 10 * 86400_000));
      const due = (await repo.endedBefore(new Date(Date.now() - 86400_000), 100, 'node-2')).map((r) => r.id);
      expect(due).toContain(theirs.id);
      expect(due).not.toContain(mine.id);
      for (const r of [mine, theirs]) await repo.delete(r.id);
    });

    it('indexes segments in order and totals the source rendition', async () => {
      const rec = await repo.create(streamId, (id) => `${streamId}/${id}`);
      await repo.addSegments([segment(rec.id, 1), segment(rec.id, 0)]);
      await repo.addSegments([segment(rec.id, 2), segment(rec.id, 0, '240p')]);
      const rows = await repo.segments(rec.id);
      expect(rows.map((r) => [r.sequence, r.segmentUrl.split('/').at(-1)])).toEqual([[0, 'source-s0.m4s'], [0, '240p-s0.m4s'], [1, 'source-s1.m4s'], [2, 'source-s2.m4s']]);
      expect(rows.find((r) => r.sequence === 2)?.discontinuity).toBe(true);
      const totals = await repo.totals(rec.id);
      expect(totals.segments).toBe(3);
      expect(totals.duration).toBeCloseTo(3.75, 6);
      expect(totals.lastTimestamp?.toISOString()).toBe('2026-01-01T00:00:02.000Z');
    });

    it('finds finished recordings past retention and deletes them with their segments', async () => {
      const old = await repo.create(streamId, (id) => `${streamId}/${id}`);
      await repo.addSegments([segment(old.id, 0)]);
      await repo.finish(old.id, 'complete', 1, new Date(Date.now() - 10 * 86400_000));
      const fresh = await repo.create(streamId, (id) => `${streamId}/${id}`);
      await repo.finish(fresh.id, 'complete', 1);
      const due = await repo.endedBefore(new Date(Date.now() - 86400_000));
      expect(due.map((r) => r.id)).toContain(old.id);
      expect(due.map((r) => r.id)).not.toContain(fresh.id);
      expect(await repo.delete(old.id)).toBe(true);
      expect(await repo.segments(old.id)).toEqual([]);
      expect((await repo.ids()).has(old.id)).toBe(false);
      expect((await repo.ids()).has(fresh.id)).toBe(true);
    });

    it('goes away with its stream', async () => {
      const user = await new UsersRepo(database.db).create({ username: 'gone', email: 'gone@example.com', passwordHash: 'x' });
      const s = await streams.create({ userId: user.id as UserId, title: 't', description: '', streamKeyHash: 'h2', streamKeyCiphertext: 'c' });
      const rec = await repo.create(s.id as StreamId, (id) => id);
      await repo.addSegments([{ ...segment(rec.id, 0), streamId: s.id as StreamId }]);
      await streams.delete(s.id as StreamId);
      expect(await repo.get(rec.id)).toBeUndefined();
      expect(await repo.segments(rec.id)).toEqual([]);
    });
  });
}
