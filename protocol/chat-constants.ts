/**
 * Chat constants the browser needs at run time, in a module without zod so the client
 * bundle does not pull the schemas in (protocol/signalling.ts re-exports them).
 */

/** The reactions people can float over the video. */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '🔥', '👏', '🎉', '😢'] as const;
export type Reaction = (typeof REACTIONS)[number];

export const MAX_MESSAGE_LENGTH = 500;

/** Subprotocol a client must offer; a second one `bearer.<access token>` authenticates. */
export const CHAT_PROTOCOL = 'glint-chat.v1';
