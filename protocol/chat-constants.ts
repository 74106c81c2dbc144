/**
 * Chat constants the browser needs at run time, in a module without zod so the client
 * bundle does not pull the schemas in (protocol/signalling.ts re-exports them).
 */

/** The reactions people can float over the video. */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '🔥', '👏', '🎉', '😢'] as const;
export type Reaction = (typeof REACTIONS)[number];

export const MAX_MESSAGE_LENGTH = 500;

/** Messages a joining client gets in its welcome; older ones are paged over HTTP. */
export const WELCOME_HISTORY = 50;

/** Limits of a channel's settings (the server's ChatSettingsPatch, the client's form). */
export const MAX_SLOW_MODE_SECONDS = 3600;
export const MAX_BANNED_WORD_LENGTH = 64;
export const MAX_BANNED_WORDS = 500;

/** Subprotocol a client must offer; a second one `bearer.<access token>` authenticates. */
export const CHAT_PROTOCOL = 'glint-chat.v1';
