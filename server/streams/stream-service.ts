/**
 * Streams: create, read, edit, delete, key reveal/rotation, and the stored live/offline
 * state. That state is written by one caller only: the stream's LiveStream
 * (server/media/live-stream.ts), which also handles an owner's start and stop.
 */
import type { Logger } from '../logger.ts';
import type { CreateStreamBody, Page, StreamKeyView, StreamView, UpdateStreamBody } from '../../protocol/api.ts';
import { isUuid, type StreamId, type UserId } from '../../protocol/ids.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { StreamRow, StreamsRepo, StreamWithOwner, LiveCursor } from '../db/streams-repo.ts';
import type { StreamKeys } from './stream-keys.ts';

export interface StreamServiceOptions {
  streams: StreamsRepo;
  keys: StreamKeys;
  /**
   * The origin encoders reach this server at: PUBLIC_URL when set, else the one the caller
   * used (`origin` argument of the methods below), else http://localhost:<port>.
   */
  publicOrigin: (requestOrigin?: string) => string;
  log: Logger;
}

function encodeCursor(row: StreamRow): string {
  return Buffer.from(`${row.startTime!.toISOString()}|${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): LiveCursor {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const startTime = new Date(time ?? '');
  if (!id || !isUuid(id) || Number.isNaN(startTime.getTime())) {
    throw new BadRequestError('INVALID_QUERY', 'The cursor is not one this server gave out.', {
      details: [{ path: 'cursor', message: 'is not a valid cursor' }],
    });
  }
  return { startTime, id };
}

export class StreamService {
  constructor(private readonly o: StreamServiceOptions) {}

  /** The WHIP endpoint encoders publish to. */
  ingestUrl(origin?: string): string {
    return `${this.o.publicOrigin(origin)}/whip`;
  }

  view(row: StreamRow | StreamWithOwner, origin?: string): StreamView {
    const v: StreamView = {
      id: row.id as StreamId,
      userId: row.userId as UserId,
      title: row.title,
      description: row.description,
      status: row.status,
      startTime: row.startTime?.toISOString() ?? null,
      endTime: row.endTime?.toISOString() ?? null,
      viewCount: row.viewCount,
      ingestUrl: this.ingestUrl(origin),
      createdAt: row.createdAt.toISOString(),
    };
    if ('ownerUsername' in row) v.owner = { username: row.ownerUsername, displayName: row.ownerDisplayName };
    return v;
  }

  async create(userId: UserId, body: CreateStreamBody, origin?: string): Promise<{ stream: StreamView; streamKey: string }> {
    const streamKey = this.o.keys.generate();
    // The ciphertext is bound to its owner (AES-GCM associated data): copied onto another
    // user's row it no longer decrypts.
    const row = await this.o.streams.create({
      userId,
      title: body.title,
      description: body.description ?? '',
      streamKeyHash: this.o.keys.hash(streamKey),
      streamKeyCiphertext: this.o.keys.encrypt(streamKey, `user:${userId}`),
    });
    this.o.log.info({ streamId: row.id, userId }, 'stream created');
    return { stream: this.view(row, origin), streamKey };
  }

  async get(id: string): Promise<StreamWithOwner> {
    const row = isUuid(id) ? await this.o.streams.findById(id as StreamId) : undefined;
    if (!row) throw new NotFoundError('STREAM_NOT_FOUND', 'No stream has this id.');
    return row;
  }

  async getOwned(id: string, userId: UserId): Promise<StreamWithOwner> {
    const row = await this.get(id);
    if (row.userId !== userId) throw new ForbiddenError('NOT_STREAM_OWNER', 'Only the owner of this stream may do this.');
    return row;
  }

  async listLive(limit: number, cursor?: string, origin?: string): Promise<Page<StreamView>> {
    const rows = await this.o.streams.listLive(limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map((r) => this.view(r, origin)), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  async listMine(userId: UserId, origin?: string): Promise<StreamView[]> {
    return (await this.o.streams.listByUser(userId)).map((r) => this.view(r, origin));
  }

  async update(id: string, userId: UserId, patch: UpdateStreamBody, origin?: string): Promise<StreamView> {
    const row = await this.getOwned(id, userId);
    await this.o.streams.update(row.id as StreamId, patch);
    return this.view(await this.get(id), origin);
  }

  async delete(id: string, userId: UserId): Promise<void> {
    const row = await this.getOwned(id, userId);
    await this.o.streams.delete(row.id as StreamId);
    this.o.log.info({ streamId: row.id, userId }, 'stream deleted');
  }

  async revealKey(id: string, userId: UserId, origin?: string): Promise<StreamKeyView> {
    const row = await this.getOwned(id, userId);
    return { streamKey: this.o.keys.decrypt(row.streamKeyCiphertext, `user:${row.userId}`), ingestUrl: this.ingestUrl(origin) };
  }

  async rotateKey(id: string, userId: UserId, origin?: string): Promise<StreamKeyView> {
    const row = await this.getOwned(id, userId);
    const streamKey = this.o.keys.generate();
    await this.o.streams.setKey(row.id as StreamId, this.o.keys.hash(streamKey), this.o.keys.encrypt(streamKey, `user:${row.userId}`));
    this.o.log.info({ streamId: row.id, userId }, 'stream key rotated');
    return { streamKey, ingestUrl: this.ingestUrl(origin) };
  }

  /** The stream a stream key belongs to, or undefined. */
  async findByKey(streamKey: string): Promise<StreamRow | undefined> {
    return this.o.streams.findByKeyHash(this.o.keys.hash(streamKey));
  }

  /** The form a stream key is stored and compared in (`StreamRow.streamKeyHash`). */
  keyHash(streamKey: string): string {
    return this.o.keys.hash(streamKey);
  }

  /** On air (again): a reconnect keeps its start time. */
  async markLive(id: StreamId): Promise<void> {
    await this.o.streams.markLive(id);
  }

  async markReconnecting(id: StreamId): Promise<void> {
    await this.o.streams.markReconnecting(id);
  }

  /** True when it was on air (so exactly one caller in the cluster sees it end). */
  markOffline(id: StreamId): Promise<boolean> {
    return this.o.streams.markOffline(id);
  }

  async addViews(id: StreamId, n: number): Promise<void> {
    await this.o.streams.addViews(id, n);
  }
}
