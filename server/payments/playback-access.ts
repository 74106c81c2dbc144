/**
 * Who may watch a subscribers-only stream: its owner and the channel's subscribers with
 * access now (SubscriptionsService.hasAccess). WHEP asks with the viewer's access token:
 * none is 401 UNAUTHENTICATED, a viewer without a subscription 403 SUBSCRIBERS_ONLY. HLS
 * (playlists, parts, segments, VODs) of such a stream is refused with 403 SUBSCRIBERS_ONLY
 * until signed playback tokens exist: nothing of it is served to anyone meanwhile. Ordinary
 * streams pass untouched; HLS looks the setting up at most every CACHE_MS per stream, since
 * LL-HLS clients ask several times a second.
 */
import type { UserId } from '../../protocol/ids.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { AppError, AuthError, ForbiddenError } from '../errors.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { StreamRow } from '../db/streams-repo.ts';
import type { SubscriptionsService } from './subscriptions-service.ts';

const CACHE_MS = 2_000;

export class PlaybackAccess {
  private readonly cache = new Map<string, { subscribersOnly: boolean; at: number }>();

  constructor(private readonly o: { streams: StreamService; auth: AuthService; subscriptions: SubscriptionsService }) {}

  /** WHEP (the stream as MediaService.view looked it up): 401/403 for a subscribers-only one the caller may not watch. */
  async checkWebRtc(stream: StreamRow, authorization: string | undefined): Promise<void> {
    this.cache.set(stream.id, { subscribersOnly: stream.subscribersOnly, at: Date.now() });
    if (!stream.subscribersOnly) return;
    if (!authorization) throw new AuthError('UNAUTHENTICATED', 'This stream is for the channel\'s subscribers: sign in (Authorization: Bearer <access token>).');
    const { userId } = await this.o.auth.authenticate(authorization);
    if (userId === stream.userId) return;
    if (!(await this.o.subscriptions.hasAccess(userId, stream.userId as UserId))) {
      throw new ForbiddenError('SUBSCRIBERS_ONLY', 'This stream is for the channel\'s subscribers: subscribe to watch it.');
    }
  }

  /** HLS: throws 403 SUBSCRIBERS_ONLY for a subscribers-only stream; unknown ids pass (the HLS layer answers 404). */
  async checkHls(streamId: string): Promise<void> {
    const now = Date.now();
    let entry = this.cache.get(streamId);
    if (!entry || now - entry.at > CACHE_MS) {
      let subscribersOnly = false;
      try {
        subscribersOnly = (await this.o.streams.get(streamId)).subscribersOnly;
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 404) throw err;
      }
      entry = { subscribersOnly, at: now };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(streamId, entry);
    }
    if (entry.subscribersOnly) throw new ForbiddenError('SUBSCRIBERS_ONLY', 'This stream is for the channel\'s subscribers; its HLS playback is not open to anyone yet (use WebRTC).');
  }
}
