/**
 * HTTP API contract shared by the server (validation) and the client (types).
 * Request schemas are strict: unknown fields are refused, not ignored, so a typo in a
 * client shows up as VALIDATION_FAILED instead of a silently dropped setting.
 */
import { z } from 'zod';
import type { StreamId, UserId } from './ids.ts';
import { multiLine, singleLine } from './text.ts';

export const USERNAME = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(32, 'must be at most 32 characters')
  .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and underscores');
export const EMAIL = singleLine().max(254, 'must be at most 254 characters').email('must be an email address');
// Length is checked again by the password policy, with a clearer message; this bound only
// stops megabyte "passwords" from reaching the (deliberately slow) hash.
export const PASSWORD = z.string().min(1, 'is required').max(256, 'must be at most 256 characters');

export const RegisterBody = z.strictObject({ username: USERNAME, email: EMAIL, password: PASSWORD });
export const LoginBody = z.strictObject({
  login: singleLine().min(1, 'is required').max(254, 'must be at most 254 characters'),
  password: PASSWORD,
});
export const RefreshBody = z.strictObject({ refreshToken: singleLine().min(1).max(512) });
export const LogoutBody = RefreshBody;
export const UpdateMeBody = z.strictObject({
  displayName: singleLine().trim().min(1).max(64).optional(),
  bio: multiLine().max(1000).optional(),
  email: EMAIL.optional(),
});

export const STREAM_TITLE = singleLine().trim().min(1, 'is required').max(140, 'must be at most 140 characters');
export const STREAM_DESCRIPTION = multiLine().max(5000, 'must be at most 5000 characters');
export const CreateStreamBody = z.strictObject({ title: STREAM_TITLE, description: STREAM_DESCRIPTION.optional() });
export const UpdateStreamBody = z.strictObject({
  title: STREAM_TITLE.optional(),
  description: STREAM_DESCRIPTION.optional(),
});
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: singleLine().max(200).optional(),
});

export type RegisterBody = z.infer<typeof RegisterBody>;
export type LoginBody = z.infer<typeof LoginBody>;
export type UpdateMeBody = z.infer<typeof UpdateMeBody>;
export type CreateStreamBody = z.infer<typeof CreateStreamBody>;
export type UpdateStreamBody = z.infer<typeof UpdateStreamBody>;

/** The account as its owner sees it. */
export interface Me {
  id: UserId;
  username: string;
  email: string;
  displayName: string;
  bio: string;
  createdAt: string;
  lastLoginAt: string | null;
}

/** What anyone may see of an account. */
export interface PublicProfile {
  id: UserId;
  username: string;
  displayName: string;
  bio: string;
  createdAt: string;
}

export interface AuthResult {
  user: Me;
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
}

/**
 * live: being published · reconnecting: the publisher's connection failed and it has a grace
 * period (RTC_RECONNECT_GRACE_SECONDS) to come back; viewers may join and wait ·
 * offline: not published (a publisher that stops cleanly ends the broadcast at once).
 */
export type StreamStatus = 'offline' | 'live' | 'reconnecting';

/** A stream status in which viewers are let in (WHEP answers, players wait for media). */
export function isOnAir(status: StreamStatus | null | undefined): boolean {
  return status === 'live' || status === 'reconnecting';
}

/**
 * Server-sent events about a stream (`GET /streams/:id/events`; a WHEP session's event
 * stream carries `active`, `inactive` and `viewercount`).
 */
export type StreamEvent =
  | { type: 'live' }
  | { type: 'reconnecting' }
  | { type: 'offline' }
  | { type: 'active' }
  | { type: 'inactive' }
  | { type: 'viewercount'; viewercount: number }
  | { type: 'error'; message: string };

export const STREAM_EVENT_TYPES = ['live', 'reconnecting', 'offline', 'active', 'inactive', 'viewercount', 'error'] as const satisfies ReadonlyArray<StreamEvent['type']>;

/** A stream as anyone may see it. Never carries the stream key. */
export interface StreamView {
  id: StreamId;
  userId: UserId;
  title: string;
  description: string;
  status: StreamStatus;
  startTime: string | null;
  endTime: string | null;
  viewCount: number;
  /** WHIP endpoint an encoder publishes to, with the stream key as Bearer token. */
  ingestUrl: string;
  createdAt: string;
  owner?: { username: string; displayName: string };
}

export interface CreatedStream {
  stream: StreamView;
  streamKey: string;
}

export interface StreamKeyView {
  streamKey: string;
  ingestUrl: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A finished recording of a stream (GET /streams/:id/vods). */
export interface VodView {
  id: string;
  streamId: StreamId;
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number;
  /** HLS master playlist of the recording (a VOD: EXT-X-ENDLIST). */
  playlistUrl: string;
}

/** How the Watch page should play a stream (GET /streams/:id/playback). */
export interface PlaybackView {
  /** `hls` once the stream has more WebRTC viewers than the node's limit (HLS_PREFER_ABOVE_VIEWERS). */
  preferred: 'webrtc' | 'hls';
  webrtcViewers: number;
  /** `full` while no media worker of this node can take another WebRTC viewer (WHEP answers WEBRTC_FULL). */
  webrtc: 'available' | 'full';
  /** The live LL-HLS master playlist (with the DVR window) while the stream is recorded. */
  hls: { url: string } | null;
}
