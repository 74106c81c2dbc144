/**
 * The words of the notices the chat puts between messages: moderation, mode changes,
 * moderators and stream events. Pure functions, so the model stays about state.
 */
import type { ChatSettings, ChatUser, ServerMessage } from '../../../protocol/signalling.ts';
import { formatDuration } from '../lib/chat-errors.ts';

export function chatName(user: ChatUser): string {
  return user.displayName || user.username;
}

/** "Bob was timed out for 10 min by Ada (spam)." — `mine` when it is about the reader. */
export function moderationNotice(e: Extract<ServerMessage, { type: 'moderation' }>, mine: boolean, now: number): string {
  const who = mine ? 'You were' : `${chatName(e.user)} was`;
  const reason = e.reason ? ` (${e.reason})` : '';
  const until = e.until ? Date.parse(e.until) : null;
  if (e.action === 'ban') return `${who} banned by ${chatName(e.by)}${reason}.`;
  if (e.action === 'timeout') return `${who} timed out${until ? ` for ${formatDuration(until - now)}` : ''} by ${chatName(e.by)}${reason}.`;
  return `${who} unbanned by ${chatName(e.by)}.`;
}

/** What changed for the people in the chat (banned words are the moderators' business). */
export function settingsNotices(before: ChatSettings, next: ChatSettings): string[] {
  const out: string[] = [];
  if (before.slowModeSeconds !== next.slowModeSeconds) {
    out.push(next.slowModeSeconds > 0 ? `Slow mode is on: one message every ${formatDuration(next.slowModeSeconds * 1000)}.` : 'Slow mode is off.');
  }
  if (before.followersOnly !== next.followersOnly) out.push(next.followersOnly ? 'The chat is now for followers only.' : 'Everyone can chat again (followers-only is off).');
  if (before.subscribersOnly !== next.subscribersOnly) out.push(next.subscribersOnly ? 'The chat is now for subscribers only.' : 'Everyone can chat again (subscribers-only is off).');
  return out;
}

export function moderatorNotice(changed: ChatUser, moderator: boolean, self: boolean): string {
  if (self) return moderator ? 'You are now a moderator of this chat.' : 'You are no longer a moderator of this chat.';
  return `${chatName(changed)} ${moderator ? 'is now a moderator' : 'is no longer a moderator'}.`;
}

export function systemNotice(e: Extract<ServerMessage, { type: 'system' }>): string {
  switch (e.event) {
    case 'live':
      return 'The stream is live.';
    case 'reconnecting':
      return 'The broadcaster lost their connection; waiting for them to come back.';
    case 'offline':
      return 'The stream has ended.';
    case 'gift':
      return `${chatName(e.from)} sent a gift of ${e.amount} ${e.currency}${e.message ? `: ${e.message}` : '.'}`;
    case 'subscription':
      return `${chatName(e.user)} subscribed!`;
  }
}
