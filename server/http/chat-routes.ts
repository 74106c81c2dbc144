/**
 * HTTP side of the chat: history pages, channel settings, moderators, bans, the moderation
 * log, and following channels. The live chat itself is the WebSocket on the same path.
 */
import { z } from 'zod';
import { ChatSettingsPatch, type ChatBanView, type ModerationLogEntry } from '../../protocol/signalling.ts';
import { isUuid } from '../../protocol/ids.ts';
import type { UserId } from '../../protocol/ids.ts';
import { AppError, BadRequestError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { ChatRepo } from '../db/chat-repo.ts';
import type { ChatService } from '../chat/chat-service.ts';
import type { Channels } from '../chat/channels.ts';
import { toChatMessage } from '../chat/channels.ts';
import type { RequestContext, HttpRouter } from './http-router.ts';

const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z.coerce.number().int().positive().optional(),
});

export interface ChatRouteDeps {
  auth: AuthService;
  streams: StreamService;
  repo: ChatRepo;
  chat: ChatService;
  channels: Channels;
}

export function registerChatRoutes(router: HttpRouter, d: ChatRouteDeps): void {
  /** The stream, its channel, and what the caller is in it. */
  const context = async (ctx: RequestContext, need: 'anyone' | 'moderator' | 'owner') => {
    const stream = await d.streams.get(ctx.params.id!);
    if (need === 'anyone') return { stream, user: null };
    const claims = await d.auth.authenticate(ctx.headers.authorization);
    const user = await d.repo.user(claims.userId);
    if (!user) throw new AppError('TOKEN_INVALID', 'The account of this token no longer exists.');
    const role = d.chat.role(await d.channels.get(stream.userId), user.id);
    if (need === 'owner' && role !== 'streamer') throw new ForbiddenError('NOT_STREAM_OWNER', 'Only the owner of this stream may do this.');
    if (need === 'moderator' && role === 'viewer') throw new ForbiddenError('NOT_A_MODERATOR', 'Only the streamer and moderators may see this.');
    return { stream, user };
  };

  router.get('/streams/:id/chat', async (ctx) => {
    await d.streams.get(ctx.params.id!);
    throw new AppError('UPGRADE_REQUIRED', 'This is the chat WebSocket: connect with a WebSocket client (subprotocol glint-chat.v1).', { headers: { Upgrade: 'websocket' } });
  });

  router.get('/streams/:id/chat/messages', async (ctx) => {
    const { stream } = await context(ctx, 'anyone');
    const { limit, before } = ctx.queryAs(PageQuery);
    const channel = await d.channels.get(stream.userId);
    const rows = await d.chat.history(stream.id, limit, before);
    const items = rows.map((r) => ({ ...toChatMessage(r), role: d.chat.role(channel, r.userId ?? undefined) }));
    return { json: { items, nextBefore: rows.length === limit ? rows[0]!.id : null } };
  });

  router.get('/streams/:id/chat/settings', async (ctx) => {
    const { stream } = await context(ctx, 'anyone');
    return { json: { settings: (await d.channels.get(stream.userId)).settings } };
  });
  router.patch('/streams/:id/chat/settings', async (ctx) => {
    const { stream, user } = await context(ctx, 'owner');
    const patch = ctx.json(ChatSettingsPatch);
    return { json: { settings: await d.chat.updateSettings(stream.id, stream.userId, user!, patch) } };
  });

  router.get('/streams/:id/chat/moderators', async (ctx) => {
    const { stream } = await context(ctx, 'moderator');
    return { json: { items: await d.repo.moderators(stream.userId) } };
  });
  const setModerator = (on: boolean) => async (ctx: RequestContext) => {
    const { stream, user } = await context(ctx, 'owner');
    const targetId = ctx.params.userId!;
    const target = isUuid(targetId) ? await d.repo.user(targetId) : undefined;
    if (!target) throw new NotFoundError('USER_NOT_FOUND', 'No user has this id.');
    if (target.id === stream.userId) throw new BadRequestError('VALIDATION_FAILED', 'The streamer moderates their own chat already.', { details: [{ path: 'userId', message: 'is the streamer' }] });
    await d.chat.setModerator(stream.id, stream.userId, user!, target, on);
    return { status: 204 };
  };
  router.add('PUT', '/streams/:id/chat/moderators/:userId', setModerator(true));
  router.delete('/streams/:id/chat/moderators/:userId', setModerator(false));

  router.get('/streams/:id/chat/bans', async (ctx) => {
    const { stream } = await context(ctx, 'moderator');
    const bans = await d.repo.activeBans(stream.userId);
    const items: ChatBanView[] = bans.map((b) => ({ ...b, createdAt: b.createdAt.toISOString(), expiresAt: b.expiresAt?.toISOString() ?? null }));
    return { json: { items } };
  });

  router.get('/streams/:id/chat/moderation-log', async (ctx) => {
    const { stream } = await context(ctx, 'moderator');
    const { limit, before } = ctx.queryAs(PageQuery);
    const rows = await d.repo.actions(stream.userId, limit, before);
    const items: ModerationLogEntry[] = rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }));
    return { json: { items, nextBefore: rows.length === limit ? rows.at(-1)!.id : null } };
  });

  const follow = (on: boolean) => async (ctx: RequestContext) => {
    const { userId } = await d.auth.authenticate(ctx.headers.authorization);
    const target = ctx.params.id!;
    if (!isUuid(target) || !(await d.repo.user(target))) throw new NotFoundError('USER_NOT_FOUND', 'No user has this id.');
    if (target === userId) throw new BadRequestError('VALIDATION_FAILED', 'You cannot follow yourself.', { details: [{ path: 'id', message: 'is you' }] });
    if (on) await d.repo.follow(userId as UserId, target);
    else await d.repo.unfollow(userId as UserId, target);
    return { status: 204 };
  };
  router.add('PUT', '/users/:id/follow', follow(true));
  router.delete('/users/:id/follow', follow(false));
}
