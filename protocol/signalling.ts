/**
 * The chat WebSocket (`GET /streams/:id/chat`): what browsers send (validated with zod on
 * the server) and what the server sends back. Client frames are one JSON object. Server
 * frames are one ServerMessage object, or — on a busy stream, where events are batched —
 * a JSON array of them, in order.
 */
import { z } from 'zod';

import { singleLine } from './text.ts';
import { CHAT_PROTOCOL, MAX_BANNED_WORD_LENGTH, MAX_BANNED_WORDS, MAX_MESSAGE_LENGTH, MAX_SLOW_MODE_SECONDS, REACTIONS, type Reaction } from './chat-constants.ts';

export { CHAT_PROTOCOL, MAX_MESSAGE_LENGTH, REACTIONS, type Reaction };

const text = z.string().max(10 * MAX_MESSAGE_LENGTH);
const userId = z.string().uuid();

export const ClientMessage = z.discriminatedUnion('type', [
  /** Authenticate (or refresh an expired token) without reconnecting. */
  z.strictObject({ type: z.literal('auth'), token: singleLine().min(1).max(4096) }),
  z.strictObject({ type: z.literal('send'), text, nonce: z.string().max(64).optional() }),
  z.strictObject({ type: z.literal('react'), emoji: z.string().max(16) }),
  z.strictObject({ type: z.literal('delete'), messageId: z.number().int().positive(), nonce: z.string().max(64).optional() }),
  z.strictObject({ type: z.literal('timeout'), userId, seconds: z.number().int().min(1).max(14 * 24 * 3600), reason: singleLine().max(200).optional(), nonce: z.string().max(64).optional() }),
  z.strictObject({ type: z.literal('ban'), userId, reason: singleLine().max(200).optional(), nonce: z.string().max(64).optional() }),
  z.strictObject({ type: z.literal('unban'), userId, nonce: z.string().max(64).optional() }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
/** The `type`s a client may send, from the schema above (the socket names them in UNKNOWN_TYPE). */
export const CLIENT_MESSAGE_TYPES: ReadonlyArray<ClientMessage['type']> = ClientMessage.options.map((o) => o.shape.type.value);

export type ChatRole = 'viewer' | 'moderator' | 'streamer';

export interface ChatUser {
  id: string;
  username: string;
  displayName: string;
}

export interface ChatMessage {
  id: number;
  user: ChatUser | null;
  role: ChatRole;
  subscriber: boolean;
  text: string;
  at: string;
}

export interface ChatSettings {
  slowModeSeconds: number;
  subscribersOnly: boolean;
  followersOnly: boolean;
  bannedWords: string[];
}

export const ChatSettingsPatch = z.strictObject({
  slowModeSeconds: z.number().int().min(0).max(MAX_SLOW_MODE_SECONDS).optional(),
  subscribersOnly: z.boolean().optional(),
  followersOnly: z.boolean().optional(),
  bannedWords: z.array(singleLine().trim().min(1).max(MAX_BANNED_WORD_LENGTH)).max(MAX_BANNED_WORDS).optional(),
});
export type ChatSettingsPatch = z.infer<typeof ChatSettingsPatch>;

/** Why a frame was refused; the socket stays open (except for FRAME_TOO_LARGE, closed by the server). */
export type ChatErrorCode =
  | 'UNAUTHENTICATED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'MALFORMED_FRAME'
  | 'BINARY_NOT_SUPPORTED'
  | 'UNKNOWN_TYPE'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_EMPTY'
  | 'MESSAGE_TOO_LONG'
  | 'RATE_LIMITED'
  | 'SLOW_MODE'
  | 'SUBSCRIBERS_ONLY'
  | 'FOLLOWERS_ONLY'
  | 'BANNED'
  | 'TIMED_OUT'
  | 'BANNED_WORD'
  | 'DUPLICATE_MESSAGE'
  | 'NOT_A_REACTION'
  | 'NOT_A_MODERATOR'
  | 'MESSAGE_NOT_FOUND'
  | 'CANNOT_MODERATE_USER'
  | 'CHAT_UNAVAILABLE';

/** One entry of `GET /streams/:id/chat/bans`: an active ban or time-out. */
export interface ChatBanView {
  userId: string;
  username: string;
  bannedBy: string | null;
  reason: string;
  createdAt: string;
  /** null for a ban, the end of a timeout otherwise. */
  expiresAt: string | null;
}

/** One row of `GET /streams/:id/chat/moderation-log`: who did what, when. */
export interface ModerationLogEntry {
  id: number;
  /** delete_message, timeout, ban, unban, settings, add_moderator, remove_moderator */
  action: string;
  streamId: string | null;
  actor: { id: string; username: string } | null;
  target: { id: string; username: string } | null;
  messageId: number | null;
  details: Record<string, unknown>;
  createdAt: string;
}

/** The socket's own user is banned, or timed out `until` (ISO time), in this chat. */
export interface ChatRestriction {
  code: 'BANNED' | 'TIMED_OUT';
  until: string | null;
}

export type ServerMessage =
  | { type: 'welcome'; user: ChatUser | null; role: ChatRole | null; restriction: ChatRestriction | null; settings: ChatSettings; history: ChatMessage[]; viewers: ViewerCounts }
  | { type: 'authenticated'; user: ChatUser; role: ChatRole; restriction: ChatRestriction | null }
  | { type: 'message'; message: ChatMessage }
  | { type: 'ack'; nonce?: string; id?: number }
  | { type: 'reaction'; emoji: Reaction; user: ChatUser }
  | { type: 'deleted'; messageId: number; by: ChatUser }
  | { type: 'moderation'; action: 'timeout' | 'ban' | 'unban'; user: ChatUser; by: ChatUser; until: string | null; reason: string }
  | { type: 'settings'; settings: ChatSettings }
  /** The channel's moderators changed (`changed` gained or lost the role). */
  | { type: 'moderators'; userIds: string[]; changed: ChatUser }
  | { type: 'system'; event: 'live' | 'reconnecting' | 'offline' }
  | { type: 'system'; event: 'gift'; from: ChatUser; amount: number; currency: string; message: string }
  | { type: 'system'; event: 'subscription'; user: ChatUser }
  | { type: 'viewers'; viewers: ViewerCounts }
  | { type: 'error'; code: ChatErrorCode; message: string; nonce?: string; retryAfterMs?: number };

export interface ViewerCounts {
  /** WebRTC (WHEP) viewers, all nodes. */
  webrtc: number;
  /** Open chat sockets, all nodes. */
  chat: number;
}
