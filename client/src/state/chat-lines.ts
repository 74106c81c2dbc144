/**
 * The chat's list of lines as pure functions over arrays: messages (by id, deduplicated)
 * and notices in the order they arrived, merging the welcome's history after a reconnect,
 * older pages on top, and the cap on how many lines stay in memory.
 */
import type { ChatMessage } from '../../../protocol/signalling.ts';
import { WELCOME_HISTORY } from '../lib/chat-protocol.ts';

export type NoticeTone = 'info' | 'moderation' | 'warning';

export type ChatLine =
  | { kind: 'message'; key: string; message: ChatMessage }
  | { kind: 'notice'; key: string; text: string; tone: NoticeTone };

export interface LineState {
  lines: ChatLine[];
  /** `before` for the next older page; null when the start of the chat is loaded. */
  cursor: number | null;
}


export function messageLine(message: ChatMessage): ChatLine {
  return { kind: 'message', key: `m${message.id}`, message };
}

function hasMessage(lines: readonly ChatLine[], id: number): boolean {
  return lines.some((l) => l.kind === 'message' && l.message.id === id);
}

/**
 * Lines after a `welcome`. A first welcome is the history. After a reconnect the history
 * replaces what it covers; older lines are kept only if the history overlaps them (no gap,
 * so scrolling up stays continuous), else the list starts again from the history.
 */
export function mergeWelcome(state: LineState, history: readonly ChatMessage[]): LineState {
  const fresh = { lines: history.map(messageLine), cursor: history.length >= WELCOME_HISTORY ? history[0]!.id : null };
  if (history.length === 0 || state.lines.length === 0) return fresh;
  const ids = new Set(history.map((m) => m.id));
  const overlaps = state.lines.some((l) => l.kind === 'message' && ids.has(l.message.id));
  if (!overlaps) return fresh;
  const first = history[0]!.id;
  const cut = state.lines.findIndex((l) => l.kind === 'message' && l.message.id >= first);
  const kept = state.lines.slice(0, cut < 0 ? state.lines.length : cut).filter((l) => l.kind === 'message');
  if (kept.length === 0) return fresh;
  return { lines: [...kept, ...fresh.lines], cursor: state.cursor };
}

/** Appends a live message, or replaces the copy already shown (our own, added on its ack). */
export function addMessage(lines: readonly ChatLine[], message: ChatMessage): ChatLine[] {
  const i = lines.findIndex((l) => l.kind === 'message' && l.message.id === message.id);
  if (i < 0) return [...lines, messageLine(message)];
  const next = lines.slice();
  next[i] = messageLine(message);
  return next;
}

export function addNotice(lines: readonly ChatLine[], key: string, text: string, tone: NoticeTone): ChatLine[] {
  return [...lines, { kind: 'notice', key, text, tone }];
}

export function removeMessage(lines: readonly ChatLine[], id: number): ChatLine[] {
  return hasMessage(lines, id) ? lines.filter((l) => !(l.kind === 'message' && l.message.id === id)) : (lines as ChatLine[]);
}

/** Puts an older page (oldest first) on top, skipping what is already there. */
export function prependPage(state: LineState, items: readonly ChatMessage[], nextBefore: number | null): LineState {
  const have = new Set(state.lines.flatMap((l) => (l.kind === 'message' ? [l.message.id] : [])));
  const older = items.filter((m) => !have.has(m.id)).map(messageLine);
  return { lines: [...older, ...state.lines], cursor: nextBefore };
}

/**
 * Keeps the newest `max` lines. When messages fall off the top, the cursor moves to the
 * oldest message left, so scrolling up loads them again.
 */
export function capLines(state: LineState, max: number): LineState {
  if (state.lines.length <= max) return state;
  const dropped = state.lines.slice(0, state.lines.length - max);
  const lines = state.lines.slice(state.lines.length - max);
  if (!dropped.some((l) => l.kind === 'message')) return { lines, cursor: state.cursor };
  const oldest = lines.find((l) => l.kind === 'message');
  if (oldest?.kind === 'message') return { lines, cursor: oldest.message.id };
  // Only notices are left: continue below the newest message that fell off (`before` is exclusive).
  const newestDropped = dropped.findLast((l) => l.kind === 'message');
  return { lines, cursor: newestDropped?.kind === 'message' ? newestDropped.message.id + 1 : state.cursor };
}

/** Updates the role shown on a user's messages after the moderators changed. */
export function setRole(lines: readonly ChatLine[], userId: string, role: ChatMessage['role']): ChatLine[] {
  let changed = false;
  const next = lines.map((l) => {
    if (l.kind !== 'message' || l.message.user?.id !== userId || l.message.role === 'streamer' || l.message.role === role) return l;
    changed = true;
    return { ...l, message: { ...l.message, role } };
  });
  return changed ? next : (lines as ChatLine[]);
}
