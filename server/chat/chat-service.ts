/**
 * The chat's decisions, shared by the WebSocket and the HTTP API: who may say what
 * (authentication, bans and timeouts, rate limit, slow mode, subscriber/follower-only,
 * banned words, duplicates), moderation (delete, timeout, ban, unban, moderators,
 * settings) with every action logged, and publishing the resulting events on the bus so
 * every node's sockets get them.
 */
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { ChatRepo, HistoryRow } from '../db/chat-repo.ts';
import type { ChatErrorCode, ChatMessage, ChatRestriction, ChatRole, ChatSettings, ChatSettingsPatch, ChatUser, Reaction, ServerMessage } from '../../protocol/signalling.ts';
import { REACTIONS } from '../../protocol/signalling.ts';
import type { Channels, Channel } from './channels.ts';
import type { ChatStore } from './chat-store.ts';
import { cleanText, DuplicateFilter, findBannedWord, TokenBucket, tooLong } from './rules.ts';

export class ChatError extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ChatRulesConfig {
  /** Messages a user may send at once, then per second. */
  burst: number;
  perSecond: number;
  reactionBurst: number;
  reactionsPerSecond: number;
  duplicateWindowSeconds: number;
}

/** One participant of one stream's chat (a socket, or an API caller). */
export interface Participant {
  streamId: string;
  streamerId: string;
  user: ChatUser | null;
  /** Access token expiry (ms since epoch). */
  tokenExpiresAt: number;
  subscriber: boolean;
  follower: boolean;
  messages: TokenBucket;
  reactions: TokenBucket;
  duplicates: DuplicateFilter;
  lastSentAt: number;
}

export interface ChatServiceOptions {
  repo: ChatRepo;
  store: ChatStore;
  channels: Channels;
  bus: Bus;
  rules: ChatRulesConfig;
  log: Logger;
}

export class ChatService {
  constructor(private readonly o: ChatServiceOptions) {}

  newParticipant(streamId: string, streamerId: string): Participant {
    const r = this.o.rules;
    return {
      streamId, streamerId, user: null, tokenExpiresAt: 0, subscriber: false, follower: false,
      messages: new TokenBucket(r.burst, r.perSecond), reactions: new TokenBucket(r.reactionBurst, r.reactionsPerSecond),
      duplicates: new DuplicateFilter(r.duplicateWindowSeconds * 1000), lastSentAt: -Infinity,
    };
  }

  /** Attaches a verified identity to a participant and loads what it may do in this channel. */
  async identify(p: Participant, user: ChatUser, tokenExpiresAt: number): Promise<ChatRole> {
    const [subscriber, follower] = await Promise.all([this.o.repo.isSubscriber(user.id, p.streamerId), this.o.repo.isFollower(user.id, p.streamerId)]);
    p.user = user;
    p.tokenExpiresAt = tokenExpiresAt;
    p.subscriber = subscriber;
    p.follower = follower;
    return this.role(await this.o.channels.get(p.streamerId), user.id);
  }

  role(channel: Channel, userId: string | undefined): ChatRole {
    if (!userId) return 'viewer';
    if (userId === channel.streamerId) return 'streamer';
    return channel.moderators.has(userId) ? 'moderator' : 'viewer';
  }

  async send(p: Participant, raw: string): Promise<ChatMessage> {
    const user = this.requireUser(p);
    const channel = await this.o.channels.get(p.streamerId);
    const now = Date.now();
    this.checkNotBanned(channel, user.id, now);
    const text = cleanText(raw);
    if (!text) throw new ChatError('MESSAGE_EMPTY', 'The message is empty.');
    if (tooLong(text)) throw new ChatError('MESSAGE_TOO_LONG', 'Messages can be at most 500 characters.');
    const role = this.role(channel, user.id);
    const privileged = role !== 'viewer';
    const s = channel.settings;
    // Mode checks first: a refusal because of the channel's mode costs no rate-limit token.
    if (!privileged) {
      if (s.subscribersOnly && !p.subscriber) throw new ChatError('SUBSCRIBERS_ONLY', 'This chat is in subscribers-only mode.');
      if (s.followersOnly && !p.follower) throw new ChatError('FOLLOWERS_ONLY', 'This chat is in followers-only mode: follow the channel to chat.');
      const slow = s.slowModeSeconds * 1000 - (now - p.lastSentAt);
      if (s.slowModeSeconds > 0 && slow > 0) throw new ChatError('SLOW_MODE', `Slow mode is on: you can send a message every ${s.slowModeSeconds} s.`, slow);
    }
    const wait = p.messages.take(now);
    if (wait > 0) throw new ChatError('RATE_LIMITED', `You are sending messages too fast; wait ${Math.ceil(wait / 1000)} s.`, wait);
    if (!privileged) {
      const word = findBannedWord(text, s.bannedWords);
      if (word) throw new ChatError('BANNED_WORD', 'Your message contains a word that is not allowed in this chat.');
      if (p.duplicates.isDuplicate(text, now)) throw new ChatError('DUPLICATE_MESSAGE', 'You already sent this message.');
    }
    const id = this.o.store.nextId();
    if (id === null) throw new ChatError('CHAT_UNAVAILABLE', 'The chat cannot store messages right now; try again in a moment.');
    const at = new Date(now);
    p.lastSentAt = now;
    this.o.store.add({ id, streamId: p.streamId, userId: user.id, text, at, deletedAt: null, deletedBy: null });
    const message: ChatMessage = { id, user, role, subscriber: p.subscriber, text, at: at.toISOString() };
    await this.publish(p, { type: 'message', message });
    return message;
  }

  /** A page of a stream's history, newest last, including accepted messages not yet written. */
  history(streamId: string, limit: number, before?: number): Promise<HistoryRow[]> {
    return this.o.channels.page(streamId, limit, before);
  }

  async react(p: Participant, emoji: string): Promise<void> {
    const user = this.requireUser(p);
    if (!(REACTIONS as readonly string[]).includes(emoji)) throw new ChatError('NOT_A_REACTION', `Reactions are one of ${REACTIONS.join(' ')}.`);
    const channel = await this.o.channels.get(p.streamerId);
    this.checkNotBanned(channel, user.id, Date.now());
    const wait = p.reactions.take();
    if (wait > 0) throw new ChatError('RATE_LIMITED', 'Too many reactions; slow down.', wait);
    await this.publish(p, { type: 'reaction', emoji: emoji as Reaction, user });
  }

  async deleteMessage(p: Participant, messageId: number): Promise<void> {
    const actor = await this.requireModerator(p);
    const pending = this.o.store.pending(messageId);
    const stored = pending ? { streamId: pending.streamId, userId: pending.userId, deleted: !!pending.deletedAt } : await this.o.repo.findMessage(messageId);
    if (!stored || stored.streamId !== p.streamId || stored.deleted) throw new ChatError('MESSAGE_NOT_FOUND', 'That message does not exist in this chat (or was already deleted).');
    if (!this.o.store.markPendingDeleted(messageId, actor.id)) await this.o.repo.markDeleted(messageId, actor.id);
    await this.o.repo.recordAction({ streamerId: p.streamerId, streamId: p.streamId, actorId: actor.id, action: 'delete_message', targetUserId: stored.userId, messageId });
    await this.publish(p, { type: 'deleted', messageId, by: actor });
  }

  async timeout(p: Participant, targetId: string, seconds: number, reason = ''): Promise<void> {
    await this.restrict(p, targetId, 'timeout', new Date(Date.now() + seconds * 1000), reason, { seconds });
  }

  async ban(p: Participant, targetId: string, reason = ''): Promise<void> {
    await this.restrict(p, targetId, 'ban', null, reason, {});
  }

  async unban(p: Participant, targetId: string): Promise<void> {
    const actor = await this.requireModerator(p);
    const target = await this.lookupUser(targetId);
    await this.o.repo.unban(p.streamerId, targetId);
    await this.o.repo.recordAction({ streamerId: p.streamerId, streamId: p.streamId, actorId: actor.id, action: 'unban', targetUserId: targetId });
    await this.publish(p, { type: 'moderation', action: 'unban', user: target, by: actor, until: null, reason: '' });
  }

  async updateSettings(streamId: string, streamerId: string, actor: ChatUser, patch: ChatSettingsPatch): Promise<ChatSettings> {
    const current = await this.o.repo.settings(streamerId);
    const next: ChatSettings = {
      ...current,
      ...patch,
      ...(patch.bannedWords ? { bannedWords: [...new Set(patch.bannedWords.map((w) => w.toLowerCase()))] } : {}),
    };
    await this.o.repo.saveSettings(streamerId, next);
    await this.o.repo.recordAction({ streamerId, streamId, actorId: actor.id, action: 'settings', details: { ...patch } });
    await this.o.bus.publish('chat.event', streamId, { streamerId, event: { type: 'settings', settings: next } });
    return next;
  }

  /** `target` is looked up by the caller (the HTTP route answers 404 for an unknown user). */
  async setModerator(streamId: string, streamerId: string, actor: ChatUser, target: ChatUser, moderator: boolean): Promise<void> {
    if (moderator) await this.o.repo.addModerator(streamerId, target.id);
    else await this.o.repo.removeModerator(streamerId, target.id);
    await this.o.repo.recordAction({ streamerId, streamId, actorId: actor.id, action: moderator ? 'add_moderator' : 'remove_moderator', targetUserId: target.id });
    const ids = (await this.o.repo.moderators(streamerId)).map((m) => m.id);
    await this.o.bus.publish('chat.event', streamId, { streamerId, event: { type: 'moderators', userIds: ids, changed: target } });
  }

  private async restrict(p: Participant, targetId: string, action: 'timeout' | 'ban', until: Date | null, reason: string, details: Record<string, unknown>): Promise<void> {
    const actor = await this.requireModerator(p);
    const channel = await this.o.channels.get(p.streamerId);
    const actorRole = this.role(channel, actor.id);
    const targetRole = this.role(channel, targetId);
    if (targetId === actor.id || targetRole === 'streamer' || (targetRole === 'moderator' && actorRole !== 'streamer')) {
      throw new ChatError('CANNOT_MODERATE_USER', 'You cannot time out or ban this user.');
    }
    const target = await this.lookupUser(targetId);
    await this.o.repo.ban(p.streamerId, targetId, actor.id, reason, until);
    await this.o.repo.recordAction({ streamerId: p.streamerId, streamId: p.streamId, actorId: actor.id, action, targetUserId: targetId, details: { ...details, reason } });
    await this.publish(p, { type: 'moderation', action, user: target, by: actor, until: until?.toISOString() ?? null, reason });
  }

  private requireUser(p: Participant): ChatUser {
    if (!p.user) throw new ChatError('UNAUTHENTICATED', 'Log in to chat.');
    if (p.tokenExpiresAt <= Date.now()) throw new ChatError('TOKEN_EXPIRED', 'Your login expired: send a fresh access token ({"type":"auth"}).');
    return p.user;
  }

  private async requireModerator(p: Participant): Promise<ChatUser> {
    const user = this.requireUser(p);
    const channel = await this.o.channels.get(p.streamerId);
    if (this.role(channel, user.id) === 'viewer') throw new ChatError('NOT_A_MODERATOR', 'Only the streamer and moderators can do this.');
    return user;
  }

  /** Whether `userId` is banned or timed out in the channel of `p` right now (told on join). */
  async restriction(p: Participant, userId: string | undefined): Promise<ChatRestriction | null> {
    if (!userId) return null;
    const until = (await this.o.channels.get(p.streamerId)).bans.get(userId);
    if (until === undefined || until <= Date.now()) return null;
    return { code: until === Infinity ? 'BANNED' : 'TIMED_OUT', until: until === Infinity ? null : new Date(until).toISOString() };
  }

  private checkNotBanned(channel: Channel, userId: string, now: number): void {
    const until = channel.bans.get(userId);
    if (until === undefined) return;
    if (until === Infinity) throw new ChatError('BANNED', 'You are banned from this chat.');
    if (until > now) throw new ChatError('TIMED_OUT', `You are timed out for ${Math.ceil((until - now) / 1000)} s.`, until - now);
    channel.bans.delete(userId);
  }

  private async lookupUser(id: string): Promise<ChatUser> {
    const u = await this.o.repo.user(id);
    if (!u) throw new ChatError('CANNOT_MODERATE_USER', 'No such user.');
    return u;
  }

  private publish(p: Participant, event: ServerMessage): Promise<void> {
    return this.o.bus.publish('chat.event', p.streamId, { streamerId: p.streamerId, event });
  }
}
