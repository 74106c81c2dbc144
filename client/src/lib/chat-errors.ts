/**
 * Chat refusals in words for people. The server's messages are written for developers
 * (`send a fresh one with {"type":"auth"}`); these say what happened and what to do.
 */
import type { ChatErrorCode } from '../../../protocol/signalling.ts';
import { MAX_MESSAGE_LENGTH } from './chat-protocol.ts';

/** "45 s", "10 min", "9 min 5 s", "2 h 3 min", "3 days". */
export function formatDuration(ms: number): string {
  const total = Math.max(1, Math.ceil(ms / 1000));
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  if (minutes < 60) return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** Codes that mean "the client sent something the server could not read": our bug, not the user's. */
const PROTOCOL_ERRORS = new Set<ChatErrorCode>(['MALFORMED_FRAME', 'BINARY_NOT_SUPPORTED', 'UNKNOWN_TYPE', 'INVALID_MESSAGE']);

/**
 * The words for a refusal. `retryAfterMs`, when the server sent it, becomes a countdown
 * (pass the time left, so a re-render shows it going down).
 */
export function chatErrorText(code: ChatErrorCode | 'DISCONNECTED', retryAfterMs?: number | null): string {
  const wait = retryAfterMs != null && retryAfterMs > 0 ? formatDuration(retryAfterMs) : null;
  if (PROTOCOL_ERRORS.has(code as ChatErrorCode)) return 'The chat could not read that. Reload the page and try again.';
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'Log in to chat.';
    case 'TOKEN_INVALID':
      return 'Your login is no longer valid. Log in again to chat.';
    case 'TOKEN_EXPIRED':
      return 'Your login expired. Log in again to chat.';
    case 'MESSAGE_EMPTY':
      return 'Type a message first.';
    case 'MESSAGE_TOO_LONG':
      return `Messages can be at most ${MAX_MESSAGE_LENGTH} characters.`;
    case 'RATE_LIMITED':
      return wait ? `Slow down — you can send again in ${wait}.` : 'Slow down — you are sending too fast.';
    case 'SLOW_MODE':
      return wait ? `Slow mode is on — you can send again in ${wait}.` : 'Slow mode is on — wait a little between messages.';
    case 'SUBSCRIBERS_ONLY':
      return 'Only subscribers can chat right now.';
    case 'FOLLOWERS_ONLY':
      return 'Only followers can chat right now. Follow the channel to join in.';
    case 'BANNED':
      return 'You are banned from this chat.';
    case 'TIMED_OUT':
      return wait ? `You are timed out — you can chat again in ${wait}.` : 'You are timed out of this chat for now.';
    case 'BANNED_WORD':
      return 'Your message contains a word that is not allowed in this chat.';
    case 'DUPLICATE_MESSAGE':
      return 'You just sent that — say something new.';
    case 'NOT_A_REACTION':
      return 'That reaction is not available.';
    case 'NOT_A_MODERATOR':
      return 'Only the streamer and moderators can do that.';
    case 'MESSAGE_NOT_FOUND':
      return 'That message is already gone.';
    case 'CANNOT_MODERATE_USER':
      return 'You cannot time out or ban this person.';
    case 'CHAT_UNAVAILABLE':
      return 'The chat is having trouble right now; try again in a moment.';
    case 'DISCONNECTED':
      return 'The connection to the chat was lost; try again once it is back.';
    default:
      return 'The chat refused that.';
  }
}
