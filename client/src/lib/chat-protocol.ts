/**
 * The client's one door to the chat protocol's runtime constants (protocol/chat-constants.ts,
 * zod-free),
 * plus where the chat WebSocket lives. Everything else imports chat types with `import type`.
 */
import {
  CHAT_PROTOCOL, MAX_BANNED_WORD_LENGTH, MAX_BANNED_WORDS, MAX_MESSAGE_LENGTH, MAX_SLOW_MODE_SECONDS, REACTIONS, WELCOME_HISTORY, type Reaction,
} from '../../../protocol/chat-constants.ts';

export { CHAT_PROTOCOL, MAX_BANNED_WORD_LENGTH, MAX_BANNED_WORDS, MAX_MESSAGE_LENGTH, MAX_SLOW_MODE_SECONDS, REACTIONS, WELCOME_HISTORY };
export type { Reaction };

/** `ws(s)://<host>/streams/<id>/chat` for a page served from `origin` (`http(s)://<host>`). */
export function chatSocketUrl(origin: string, streamId: string): string {
  const url = new URL(`/streams/${encodeURIComponent(streamId)}/chat`, origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** Subprotocols to offer: the chat's own, and the access token as `bearer.<token>` when logged in. */
export function chatProtocols(token: string | null): string[] {
  return token ? [CHAT_PROTOCOL, `bearer.${token}`] : [CHAT_PROTOCOL];
}

export function isReaction(emoji: string): emoji is Reaction {
  return (REACTIONS as readonly string[]).includes(emoji);
}

/** Length as the server counts it (code points), so emoji count once. */
export function messageLength(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}
