/**
 * The relational schema (drizzle-orm, PostgreSQL dialect; PGlite runs the same SQL).
 * Entities follow the product blueprint; indexes are the ones it lists plus the ones our
 * queries need. Change this file, then `npm run db:generate` for a new migration.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    username: text('username').notNull(),
    /** Stored lower-cased; unique. */
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    displayName: text('display_name').notNull().default(''),
    bio: text('bio').notNull().default(''),
    createdAt: createdAt(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('users_username_key').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_key').on(t.email),
  ],
);

/** One row per issued refresh token; a family is one login session across rotations. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Set when the token was exchanged for a new one. Presenting it again is reuse. */
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('refresh_tokens_token_hash_key').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
    // The periodic sweep deletes by expiry.
    index('refresh_tokens_expires_idx').on(t.expiresAt),
  ],
);

export const streams = pgTable(
  'streams',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    /** live: media is being published · reconnecting: the publisher's connection failed, it has a grace period to come back · offline. */
    status: text('status', { enum: ['offline', 'live', 'reconnecting'] }).notNull().default('offline'),
    startTime: timestamp('start_time', { withTimezone: true, mode: 'date' }),
    endTime: timestamp('end_time', { withTimezone: true, mode: 'date' }),
    viewCount: bigint('view_count', { mode: 'number' }).notNull().default(0),
    /** SHA-256 of the stream key, for lookup on WHIP ingest. */
    streamKeyHash: text('stream_key_hash').notNull(),
    /** AES-256-GCM ciphertext of the stream key (iv | tag | data, base64). */
    streamKeyCiphertext: text('stream_key_ciphertext').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('streams_user_id_idx').on(t.userId),
    index('streams_status_idx').on(t.status),
    index('streams_start_time_idx').on(t.startTime),
    uniqueIndex('streams_stream_key_hash_key').on(t.streamKeyHash),
    check('streams_status_check', sql`${t.status} in ('offline', 'live', 'reconnecting')`),
  ],
);

/** One recording (DVR while live, VOD afterwards) of one broadcast of a stream. */
export const recordings = pgTable(
  'recordings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['recording', 'complete', 'failed'] }).notNull().default('recording'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    /** Seconds of media recorded. */
    durationSeconds: doublePrecision('duration_seconds').notNull().default(0),
    /** Folder of the recording's playlists and media, relative to the media folder. */
    path: text('path').notNull(),
    /** The node whose media folder holds the files (null: recorded before clusters). Other nodes pass its HLS requests there. */
    nodeId: text('node_id'),
  },
  (t) => [index('recordings_stream_started_idx').on(t.streamId, t.startedAt)],
);

/** HLS segments of a stream, for DVR and VOD; read in timestamp order per stream. */
export const streamSegments = pgTable(
  'stream_segments',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    recordingId: uuid('recording_id').references(() => recordings.id, { onDelete: 'cascade' }),
    /** Media sequence number of the segment in its playlist. */
    sequence: integer('sequence').notNull().default(0),
    segmentUrl: text('segment_url').notNull(),
    /** Seconds. */
    duration: doublePrecision('duration').notNull(),
    byteSize: integer('byte_size').notNull().default(0),
    /** The segment follows a gap (encoder or recorder restart): EXT-X-DISCONTINUITY. */
    discontinuity: boolean('discontinuity').notNull().default(false),
    timestamp: timestamp('timestamp', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('stream_segments_stream_timestamp_idx').on(t.streamId, t.timestamp),
    index('stream_segments_recording_sequence_idx').on(t.recordingId, t.sequence),
  ],
);

export const chatMessages = pgTable(
  'chat_messages',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    messageText: text('message_text').notNull(),
    timestamp: timestamp('timestamp', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Set when a moderator removed the message: it is no longer shown or sent. */
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
    deletedBy: uuid('deleted_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('chat_messages_stream_id_idx').on(t.streamId, t.id),
    index('chat_messages_timestamp_idx').on(t.timestamp),
  ],
);

/** Chat rules of a channel (a streamer's streams share them). */
export const chatSettings = pgTable('chat_settings', {
  streamerId: uuid('streamer_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  slowModeSeconds: integer('slow_mode_seconds').notNull().default(0),
  subscribersOnly: boolean('subscribers_only').notNull().default(false),
  followersOnly: boolean('followers_only').notNull().default(false),
  bannedWords: jsonb('banned_words').$type<string[]>().notNull().default([]),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** Users a streamer appointed to moderate the chat of their channel. */
export const channelModerators = pgTable(
  'channel_moderators',
  {
    streamerId: uuid('streamer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    moderatorId: uuid('moderator_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.streamerId, t.moderatorId] })],
);

/** Bans (no `expires_at`) and timeouts (with one) from a channel's chat. */
export const chatBans = pgTable(
  'chat_bans',
  {
    streamerId: uuid('streamer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    bannedBy: uuid('banned_by').references(() => users.id, { onDelete: 'set null' }),
    reason: text('reason').notNull().default(''),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.streamerId, t.userId] })],
);

/** Every moderation action: who did what to whom, when. */
export const moderationActions = pgTable(
  'moderation_actions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    streamerId: uuid('streamer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    streamId: uuid('stream_id').references(() => streams.id, { onDelete: 'set null' }),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    action: text('action').notNull(),
    targetUserId: uuid('target_user_id').references(() => users.id, { onDelete: 'set null' }),
    messageId: bigint('message_id', { mode: 'number' }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('moderation_actions_streamer_created_idx').on(t.streamerId, t.createdAt)],
);

/** Who follows whom (followers-only chat). */
export const follows = pgTable(
  'follows',
  {
    followerId: uuid('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    streamerId: uuid('streamer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.followerId, t.streamerId] }), index('follows_streamer_idx').on(t.streamerId)],
);

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subscriberId: uuid('subscriber_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    streamerId: uuid('streamer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status').notNull(),
    startDate: timestamp('start_date', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endDate: timestamp('end_date', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('subscriptions_subscriber_id_idx').on(t.subscriberId),
    index('subscriptions_streamer_id_idx').on(t.streamerId),
    index('subscriptions_status_idx').on(t.status),
  ],
);

export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** Minor units (cents). */
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    transactionId: text('transaction_id').notNull(),
    status: text('status').notNull(),
    paymentGatewayRef: text('payment_gateway_ref'),
    createdAt: createdAt(),
  },
  (t) => [
    index('payments_user_id_idx').on(t.userId),
    uniqueIndex('payments_transaction_id_key').on(t.transactionId),
  ],
);
