/**
 * Chat persistence: messages (ids reserved ahead from the identity sequence, so a message
 * can be shown and moderated before its row is written), channel settings, moderators,
 * bans and timeouts, the moderation log, follows and active subscriptions.
 */
import { and, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { ChatBanView, ChatSettings, ChatUser, ModerationLogEntry } from '../../protocol/signalling.ts';
import type { Db } from './index.ts';
import { channelModerators, chatBans, chatMessages, chatSettings, follows, moderationActions, subscriptions, users } from './schema.ts';

export interface StoredMessage {
  id: number;
  streamId: string;
  userId: string | null;
  text: string;
  at: Date;
  deletedAt: Date | null;
  deletedBy: string | null;
}

export interface HistoryRow {
  id: number;
  userId: string | null;
  username: string | null;
  displayName: string | null;
  text: string;
  at: Date;
}

export type SettingsRow = ChatSettings;

/** The API's views with the database's dates (the routes turn them into ISO strings). */
export type BanRow = Omit<ChatBanView, 'createdAt' | 'expiresAt'> & { createdAt: Date; expiresAt: Date | null };
export type ActionRow = Omit<ModerationLogEntry, 'createdAt'> & { createdAt: Date };

export const DEFAULT_SETTINGS: SettingsRow = { slowModeSeconds: 0, subscribersOnly: false, followersOnly: false, bannedWords: [] };

function rows<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

export class ChatRepo {
  constructor(private readonly db: Db) {}

  /** Reserves `n` message ids from the identity sequence. */
  async reserveIds(n: number): Promise<number[]> {
    const result = await this.db.execute(sql`select nextval('chat_messages_id_seq')::bigint as id from generate_series(1, ${n})`);
    return rows<{ id: string | number }>(result).map((r) => Number(r.id));
  }

  /** Writes messages whose ids were reserved; a row already written is left as it is. */
  async insertMessages(messages: StoredMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const values = sql.join(
      messages.map((m) => sql`(${m.id}, ${m.streamId}::uuid, ${m.userId}::uuid, ${m.text}, ${m.at.toISOString()}::timestamptz, ${m.deletedAt?.toISOString() ?? null}::timestamptz, ${m.deletedBy}::uuid)`),
      sql`, `,
    );
    await this.db.execute(sql`
      insert into chat_messages (id, stream_id, user_id, message_text, timestamp, deleted_at, deleted_by)
      overriding system value values ${values}
      on conflict (id) do nothing`);
  }

  /** The newest `limit` visible messages of a stream older than `before` (an id), newest last. */
  async history(streamId: string, limit: number, before?: number): Promise<HistoryRow[]> {
    const found = await this.db
      .select({
        id: chatMessages.id,
        userId: chatMessages.userId,
        username: users.username,
        displayName: users.displayName,
        text: chatMessages.messageText,
        at: chatMessages.timestamp,
      })
      .from(chatMessages)
      .leftJoin(users, eq(users.id, chatMessages.userId))
      .where(and(eq(chatMessages.streamId, streamId), isNull(chatMessages.deletedAt), before ? lt(chatMessages.id, before) : undefined))
      .orderBy(desc(chatMessages.id))
      .limit(limit);
    return found.reverse();
  }

  async markDeleted(id: number, by: string, at = new Date()): Promise<boolean> {
    const r = await this.db.update(chatMessages).set({ deletedAt: at, deletedBy: by }).where(eq(chatMessages.id, id)).returning({ id: chatMessages.id });
    return r.length > 0;
  }

  async findMessage(id: number): Promise<{ id: number; streamId: string; userId: string | null; deleted: boolean } | undefined> {
    const [row] = await this.db
      .select({ id: chatMessages.id, streamId: chatMessages.streamId, userId: chatMessages.userId, deletedAt: chatMessages.deletedAt })
      .from(chatMessages)
      .where(eq(chatMessages.id, id))
      .limit(1);
    return row && { id: row.id, streamId: row.streamId, userId: row.userId, deleted: row.deletedAt !== null };
  }

  async settings(streamerId: string): Promise<SettingsRow> {
    const [row] = await this.db.select().from(chatSettings).where(eq(chatSettings.streamerId, streamerId)).limit(1);
    return row ? { slowModeSeconds: row.slowModeSeconds, subscribersOnly: row.subscribersOnly, followersOnly: row.followersOnly, bannedWords: row.bannedWords } : { ...DEFAULT_SETTINGS };
  }

  async saveSettings(streamerId: string, s: SettingsRow): Promise<void> {
    await this.db
      .insert(chatSettings)
      .values({ streamerId, ...s, updatedAt: new Date() })
      .onConflictDoUpdate({ target: chatSettings.streamerId, set: { ...s, updatedAt: new Date() } });
  }

  async moderators(streamerId: string): Promise<ChatUser[]> {
    return this.db
      .select({ id: users.id, username: users.username, displayName: users.displayName })
      .from(channelModerators)
      .innerJoin(users, eq(users.id, channelModerators.moderatorId))
      .where(eq(channelModerators.streamerId, streamerId))
      .orderBy(users.username);
  }

  async addModerator(streamerId: string, moderatorId: string): Promise<void> {
    await this.db.insert(channelModerators).values({ streamerId, moderatorId }).onConflictDoNothing();
  }

  async removeModerator(streamerId: string, moderatorId: string): Promise<boolean> {
    const r = await this.db
      .delete(channelModerators)
      .where(and(eq(channelModerators.streamerId, streamerId), eq(channelModerators.moderatorId, moderatorId)))
      .returning({ id: channelModerators.moderatorId });
    return r.length > 0;
  }

  /** Bans and timeouts still in force. */
  async activeBans(streamerId: string, now = new Date()): Promise<BanRow[]> {
    return this.db
      .select({ userId: chatBans.userId, username: users.username, bannedBy: chatBans.bannedBy, reason: chatBans.reason, createdAt: chatBans.createdAt, expiresAt: chatBans.expiresAt })
      .from(chatBans)
      .innerJoin(users, eq(users.id, chatBans.userId))
      .where(and(eq(chatBans.streamerId, streamerId), or(isNull(chatBans.expiresAt), gt(chatBans.expiresAt, now))))
      .orderBy(desc(chatBans.createdAt));
  }

  async ban(streamerId: string, userId: string, bannedBy: string, reason: string, expiresAt: Date | null): Promise<void> {
    await this.db
      .insert(chatBans)
      .values({ streamerId, userId, bannedBy, reason, expiresAt })
      .onConflictDoUpdate({ target: [chatBans.streamerId, chatBans.userId], set: { bannedBy, reason, expiresAt, createdAt: new Date() } });
  }

  async unban(streamerId: string, userId: string): Promise<boolean> {
    const r = await this.db.delete(chatBans).where(and(eq(chatBans.streamerId, streamerId), eq(chatBans.userId, userId))).returning({ id: chatBans.userId });
    return r.length > 0;
  }

  async recordAction(a: { streamerId: string; streamId: string | null; actorId: string; action: string; targetUserId?: string | null; messageId?: number | null; details?: Record<string, unknown> }): Promise<void> {
    await this.db.insert(moderationActions).values({
      streamerId: a.streamerId, streamId: a.streamId, actorId: a.actorId, action: a.action,
      targetUserId: a.targetUserId ?? null, messageId: a.messageId ?? null, details: a.details ?? {},
    });
  }

  async actions(streamerId: string, limit: number, before?: number): Promise<ActionRow[]> {
    const actor = sql<string | null>`(select username from users where id = ${moderationActions.actorId})`;
    const target = sql<string | null>`(select username from users where id = ${moderationActions.targetUserId})`;
    const found = await this.db
      .select({
        id: moderationActions.id, action: moderationActions.action, streamId: moderationActions.streamId,
        actorId: moderationActions.actorId, actorName: actor, targetId: moderationActions.targetUserId, targetName: target,
        messageId: moderationActions.messageId, details: moderationActions.details, createdAt: moderationActions.createdAt,
      })
      .from(moderationActions)
      .where(and(eq(moderationActions.streamerId, streamerId), before ? lt(moderationActions.id, before) : undefined))
      .orderBy(desc(moderationActions.id))
      .limit(limit);
    return found.map((r) => ({
      id: r.id, action: r.action, streamId: r.streamId,
      actor: r.actorId && r.actorName ? { id: r.actorId, username: r.actorName } : null,
      target: r.targetId && r.targetName ? { id: r.targetId, username: r.targetName } : null,
      messageId: r.messageId, details: r.details, createdAt: r.createdAt,
    }));
  }

  async user(id: string): Promise<ChatUser | undefined> {
    const [row] = await this.db.select({ id: users.id, username: users.username, displayName: users.displayName }).from(users).where(eq(users.id, id)).limit(1);
    return row;
  }

  async follow(followerId: string, streamerId: string): Promise<void> {
    await this.db.insert(follows).values({ followerId, streamerId }).onConflictDoNothing();
  }

  async unfollow(followerId: string, streamerId: string): Promise<void> {
    await this.db.delete(follows).where(and(eq(follows.followerId, followerId), eq(follows.streamerId, streamerId)));
  }

  async isFollower(followerId: string, streamerId: string): Promise<boolean> {
    const [row] = await this.db.select({ id: follows.followerId }).from(follows).where(and(eq(follows.followerId, followerId), eq(follows.streamerId, streamerId))).limit(1);
    return !!row;
  }

  async followerCount(streamerId: string): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(follows).where(eq(follows.streamerId, streamerId));
    return Number(row?.n ?? 0);
  }

  async isSubscriber(subscriberId: string, streamerId: string, now = new Date()): Promise<boolean> {
    const [row] = await this.db
      .select({ id: subscriptions.id })
      .from(subscriptions)
      .where(and(
        eq(subscriptions.subscriberId, subscriberId), eq(subscriptions.streamerId, streamerId), inArray(subscriptions.status, ['active', 'trialing']),
        or(isNull(subscriptions.endDate), gt(subscriptions.endDate, now)),
      ))
      .limit(1);
    return !!row;
  }
}
