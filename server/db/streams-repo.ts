import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from './index.ts';
import { streams, users } from './schema.ts';
import type { StreamId, UserId } from '../../protocol/ids.ts';

export type StreamRow = typeof streams.$inferSelect;

const ON_AIR: Array<StreamRow['status']> = ['live', 'reconnecting'];
export type StreamWithOwner = StreamRow & { ownerUsername: string; ownerDisplayName: string };

export interface NewStream {
  userId: UserId;
  title: string;
  description: string;
  streamKeyHash: string;
  streamKeyCiphertext: string;
}

/** Position in the live list: the last row of the previous page. */
export interface LiveCursor {
  startTime: Date;
  id: string;
}

const withOwner = {
  stream: streams,
  ownerUsername: users.username,
  ownerDisplayName: users.displayName,
};

function flatten(r: { stream: StreamRow; ownerUsername: string; ownerDisplayName: string }): StreamWithOwner {
  return { ...r.stream, ownerUsername: r.ownerUsername, ownerDisplayName: r.ownerDisplayName };
}

export class StreamsRepo {
  constructor(private readonly db: Db) {}

  async create(input: NewStream): Promise<StreamRow> {
    const [row] = await this.db.insert(streams).values(input).returning();
    return row!;
  }

  async findById(id: StreamId): Promise<StreamWithOwner | undefined> {
    const [row] = await this.db.select(withOwner).from(streams).innerJoin(users, eq(users.id, streams.userId)).where(eq(streams.id, id)).limit(1);
    return row && flatten(row);
  }

  async findByKeyHash(hash: string): Promise<StreamRow | undefined> {
    const [row] = await this.db.select().from(streams).where(eq(streams.streamKeyHash, hash)).limit(1);
    return row;
  }

  async listByUser(userId: UserId): Promise<StreamRow[]> {
    return this.db.select().from(streams).where(eq(streams.userId, userId)).orderBy(desc(streams.createdAt), desc(streams.id));
  }

  /** Streams on air (live, or reconnecting), most recently started first, keyset-paginated. */
  async listLive(limit: number, after?: LiveCursor): Promise<StreamWithOwner[]> {
    const live = inArray(streams.status, ON_AIR);
    const where = after
      ? and(live, or(lt(streams.startTime, after.startTime), and(eq(streams.startTime, after.startTime), lt(streams.id, after.id))))
      : live;
    const rows = await this.db
      .select(withOwner)
      .from(streams)
      .innerJoin(users, eq(users.id, streams.userId))
      .where(where)
      .orderBy(desc(streams.startTime), desc(streams.id))
      .limit(limit);
    return rows.map(flatten);
  }

  async update(id: StreamId, patch: { title?: string; description?: string }): Promise<void> {
    await this.db.update(streams).set({ ...patch, updatedAt: new Date() }).where(eq(streams.id, id));
  }

  async setKey(id: StreamId, streamKeyHash: string, streamKeyCiphertext: string): Promise<void> {
    await this.db.update(streams).set({ streamKeyHash, streamKeyCiphertext, updatedAt: new Date() }).where(eq(streams.id, id));
  }

  /** Marks live; a stream already on air (live or reconnecting) keeps its start time. */
  async markLive(id: StreamId, at = new Date()): Promise<void> {
    const onAir = sql`${streams.status} in ('live', 'reconnecting')`;
    await this.db
      .update(streams)
      .set({
        status: 'live',
        startTime: sql`case when ${onAir} then ${streams.startTime} else ${at}::timestamptz end`,
        endTime: sql`case when ${onAir} then ${streams.endTime} else null end`,
        updatedAt: at,
      })
      .where(eq(streams.id, id));
  }

  /** A live stream's publisher connection failed: it waits for it to come back. */
  async markReconnecting(id: StreamId, at = new Date()): Promise<void> {
    await this.db.update(streams).set({ status: 'reconnecting', updatedAt: at }).where(and(eq(streams.id, id), eq(streams.status, 'live')));
  }

  /** Marks offline; a stream already offline keeps its end time. True when it was on air. */
  async markOffline(id: StreamId, at = new Date()): Promise<boolean> {
    const rows = await this.db
      .update(streams)
      .set({ status: 'offline', endTime: at, updatedAt: at })
      .where(and(eq(streams.id, id), inArray(streams.status, ON_AIR)))
      .returning({ id: streams.id });
    return rows.length > 0;
  }

  async addViews(id: StreamId, n: number): Promise<void> {
    await this.db.update(streams).set({ viewCount: sql`${streams.viewCount} + ${n}` }).where(eq(streams.id, id));
  }

  async delete(id: StreamId): Promise<boolean> {
    const rows = await this.db.delete(streams).where(eq(streams.id, id)).returning({ id: streams.id });
    return rows.length > 0;
  }
}
