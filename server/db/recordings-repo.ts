import { and, asc, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from './index.ts';
import { recordings, streamSegments } from './schema.ts';
import type { StreamId } from '../../protocol/ids.ts';

export type RecordingRow = typeof recordings.$inferSelect;
export type SegmentRow = typeof streamSegments.$inferSelect;

export interface NewSegment {
  streamId: StreamId;
  recordingId: string;
  sequence: number;
  segmentUrl: string;
  duration: number;
  byteSize: number;
  discontinuity: boolean;
  timestamp: Date;
}

/** Recordings (DVR while live, VOD afterwards) and the index of their HLS segments. */
export class RecordingsRepo {
  constructor(private readonly db: Db) {}

  /** A new recording made on node `nodeId` (its media folder holds the files). */
  async create(streamId: StreamId, path: (id: string) => string, { nodeId = null, startedAt = new Date() }: { nodeId?: string | null; startedAt?: Date } = {}): Promise<RecordingRow> {
    const id = crypto.randomUUID();
    const [row] = await this.db.insert(recordings).values({ id, streamId, path: path(id), nodeId, startedAt }).returning();
    return row!;
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id)).limit(1);
    return row;
  }

  /** The stream's recordings, newest first. */
  async listByStream(streamId: StreamId, limit = 50): Promise<RecordingRow[]> {
    return this.db.select().from(recordings).where(eq(recordings.streamId, streamId)).orderBy(desc(recordings.startedAt), desc(recordings.id)).limit(limit);
  }

  async latest(streamId: StreamId): Promise<RecordingRow | undefined> {
    return (await this.listByStream(streamId, 1))[0];
  }

  /** Sets status, end and duration (a recording that finished, or failed). */
  async finish(id: string, status: 'complete' | 'failed', durationSeconds: number, endedAt = new Date()): Promise<void> {
    await this.db.update(recordings).set({ status, durationSeconds, endedAt }).where(eq(recordings.id, id));
  }

  /**
   * Recordings of node `nodeId` (and those made before clusters) still marked `recording`: their
   * recorder did not finish (the server stopped hard). Another node's live ones are its own.
   */
  async unfinished(nodeId: string | null = null): Promise<RecordingRow[]> {
    return this.db.select().from(recordings).where(and(eq(recordings.status, 'recording'), this.heldBy(nodeId)));
  }

  /** Finished recordings of node `nodeId` (and those made before clusters) that ended before `before` (retention). */
  async endedBefore(before: Date, limit = 100, nodeId: string | null = null): Promise<RecordingRow[]> {
    return this.db
      .select()
      .from(recordings)
      .where(and(sql`${recordings.status} <> 'recording'`, lt(recordings.endedAt, before), this.heldBy(nodeId)))
      .orderBy(asc(recordings.endedAt))
      .limit(limit);
  }

  async ids(): Promise<Set<string>> {
    const rows = await this.db.select({ id: recordings.id }).from(recordings);
    return new Set(rows.map((r) => r.id));
  }

  /** Rows whose files are on `nodeId`'s disk, or on a node of before clusters (no id). */
  private heldBy(nodeId: string | null) {
    return nodeId === null ? isNull(recordings.nodeId) : or(eq(recordings.nodeId, nodeId), isNull(recordings.nodeId));
  }

  /** Deletes the recording and (cascade) its segment rows. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db.delete(recordings).where(eq(recordings.id, id)).returning({ id: recordings.id });
    return rows.length > 0;
  }

  async addSegments(rows: NewSegment[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insert(streamSegments).values(rows);
  }

  /** A recording's segments in playlist order. */
  async segments(recordingId: string): Promise<SegmentRow[]> {
    return this.db.select().from(streamSegments).where(eq(streamSegments.recordingId, recordingId)).orderBy(asc(streamSegments.sequence), asc(streamSegments.id));
  }

  /** Seconds, count and newest timestamp of a recording's source-rendition segments. */
  async totals(recordingId: string): Promise<{ duration: number; segments: number; lastTimestamp: Date | null }> {
    const [row] = await this.db
      .select({
        duration: sql<number>`coalesce(sum(${streamSegments.duration}), 0)`,
        segments: sql<number>`count(*)`,
        lastTimestamp: sql<Date | null>`max(${streamSegments.timestamp})`,
      })
      .from(streamSegments)
      .where(and(eq(streamSegments.recordingId, recordingId), sql`${streamSegments.segmentUrl} like '%/source-s%'`));
    const last = row?.lastTimestamp;
    return { duration: Number(row?.duration ?? 0), segments: Number(row?.segments ?? 0), lastTimestamp: last ? new Date(last) : null };
  }
}
