import { batch, computed, signal, type ReadonlySignal } from '@preact/signals';
import type { ChatErrorCode, ChatMessage, ChatRestriction, ChatRole, ChatSettings, ChatUser, ServerMessage, ViewerCounts } from '../../../protocol/signalling.ts';
import type { GlintApi } from '../lib/api.ts';
import { describeError } from '../lib/api-error.ts';
import { chatErrorText, formatDuration } from '../lib/chat-errors.ts';
import { isReaction, MAX_MESSAGE_LENGTH, messageLength, type Reaction } from '../lib/chat-protocol.ts';
import type { TokenSource } from '../lib/http.ts';
import { realTimers, type Timers } from '../lib/timers.ts';
import { createChatConnection, type ActionResult, type ChatSocketConstructor, type NonceFrame } from './chat-connection.ts';
import { addMessage, addNotice, capLines, mergeWelcome, prependPage, removeMessage, setRole, type ChatLine, type LineState, type NoticeTone } from './chat-lines.ts';
import { chatName as name, moderationNotice, moderatorNotice, settingsNotices, systemNotice } from './chat-notices.ts';
import { createRestrictions } from './chat-restrictions.ts';

export type { ActionResult, ChatSocketConstructor, ChatSocketLike, ChatStatus } from './chat-connection.ts';

export type ChatHttp = Pick<GlintApi, 'chatMessages' | 'setFollowing' | 'setChatModerator'>;

export interface ChatDeps {
  streamId: string;
  /** The streamer's user id (to follow them for a followers-only chat). */
  streamerId: string;
  /** `ws(s)://host/streams/:id/chat` (lib/chat-protocol.ts). */
  url: string;
  WebSocket: ChatSocketConstructor;
  /** Access tokens of the session: read fresh before each frame that needs a login. */
  tokens: TokenSource;
  /** Who the session says is logged in, so a login or logout reaches an open chat. */
  userId: ReadonlySignal<string | null>;
  api: ChatHttp;
  timers?: Timers;
  random?: () => number;
  /** Lines kept in memory while following the live end (default 300). */
  maxLines?: number;
  /** How long a reaction floats (default 2 s). */
  reactionMs?: number;
}

export interface PendingSend {
  key: string;
  text: string;
  /** queued: waits for the connection · sending: waits for the ack · failed: refused (see `error`). */
  state: 'queued' | 'sending' | 'failed';
  error: string | null;
}

export interface Composer {
  blocked: boolean;
  /** Why the input is off, with the time left when it will come back by itself. */
  reason: string | null;
  action: 'login' | 'follow' | null;
}

export interface FloatingReaction {
  key: string;
  emoji: Reaction;
  by: string;
  /** Horizontal position, 0..1. */
  x: number;
}

const MAX_FLOATING = 40;
const NOTICE_MS = 6_000;
const PRIVILEGED: ReadonlySet<ChatRole | null> = new Set(['moderator', 'streamer']);

export type Chat = ReturnType<typeof createChat>;

/**
 * One stream's live chat (its socket is chat-connection.ts): keeps the lines and applies
 * every event (the `welcome` brings the history back after each reconnect), and sends
 * messages, reactions and moderation with per-nonce state. Refusals become words and,
 * where they block the input (rate limit, slow mode, timeout, ban, followers-only), a
 * restriction with its countdown.
 */
export function createChat(deps: ChatDeps) {
  const timers = deps.timers ?? realTimers;
  const random = deps.random ?? Math.random;
  const maxLines = deps.maxLines ?? 300;
  const reactionMs = deps.reactionMs ?? 2_000;

  const me = signal<{ user: ChatUser | null; role: ChatRole | null }>({ user: null, role: null });
  const role = computed(() => me.value.role);
  const privileged = computed(() => PRIVILEGED.has(me.value.role));
  const state = signal<LineState>({ lines: [], cursor: null });
  const lines = computed(() => state.value.lines);
  const hasOlder = computed(() => state.value.cursor !== null);
  const loadingOlder = signal(false);
  const olderError = signal<string | null>(null);
  const pending = signal<PendingSend[]>([]);
  const draft = signal('');
  const remaining = computed(() => MAX_MESSAGE_LENGTH - messageLength(draft.value));
  const settings = signal<ChatSettings | null>(null);
  const viewers = signal<ViewerCounts | null>(null);
  const reactions = signal<FloatingReaction[]>([]);
  const limits = createRestrictions(timers);
  const { restriction, now, restrict } = limits;
  /** A short-lived line for what has no other place (a refused reaction, a failed moderation). */
  const notice = signal<{ text: string; tone: 'error' | 'info' } | null>(null);

  let noticeTimer: unknown = null;
  let running = false;
  let keys = 0;
  let lineLimit = maxLines;
  const listeners = new Set<(event: ServerMessage) => void>();
  const deleted = new Set<number>();

  const connection = createChatConnection({
    url: deps.url,
    WebSocket: deps.WebSocket,
    tokens: deps.tokens,
    userId: deps.userId,
    identity: () => me.peek().user?.id ?? null,
    onEvent: handle,
    onRefused: refused,
    timers,
    random,
  });
  const { status, call, transmit } = connection;

  const composer = computed<Composer>(() => {
    const user = me.value.user;
    if (!user) {
      if (status.value !== 'connected') return { blocked: true, reason: 'Connecting to the chat…', action: null };
      if (deps.userId.value !== null) return { blocked: true, reason: 'Signing in to the chat…', action: null };
      return { blocked: true, reason: 'Log in to chat.', action: 'login' };
    }
    const r = restriction.value;
    if (!r) return { blocked: false, reason: null, action: null };
    const left = r.until === null ? null : Math.max(0, r.until - now.value);
    const action = r.code === 'FOLLOWERS_ONLY' ? 'follow' : r.code === 'TOKEN_EXPIRED' || r.code === 'TOKEN_INVALID' ? 'login' : null;
    return { blocked: true, reason: chatErrorText(r.code, left), action };
  });
  const reactionsBlocked = computed(() => !me.value.user || limits.reactionsBlocked.value);

  // ---- events -----------------------------------------------------------------------

  function handle(e: ServerMessage): void {
    switch (e.type) {
      case 'welcome':
        batch(() => {
          me.value = { user: e.user, role: e.role };
          applyRestriction(e.restriction);
          settings.value = e.settings;
          viewers.value = e.viewers;
          state.value = mergeWelcome(state.peek(), e.history.filter((m) => !deleted.has(m.id)));
        });
        flushQueued();
        break;
      case 'authenticated':
        batch(() => {
          me.value = { user: e.user, role: e.role };
          // A new identity is checked afresh (follower, subscriber, login) on the next send.
          limits.lift('TOKEN_EXPIRED', 'TOKEN_INVALID', 'FOLLOWERS_ONLY', 'SUBSCRIBERS_ONLY');
          applyRestriction(e.restriction);
        });
        flushQueued();
        break;
      case 'message':
        if (!deleted.has(e.message.id)) setLines(addMessage(state.peek().lines, e.message));
        break;
      case 'reaction':
        float(e.emoji, e.user);
        break;
      case 'deleted':
        remember(e.messageId);
        state.value = { ...state.peek(), lines: removeMessage(state.peek().lines, e.messageId) };
        break;
      case 'moderation':
        onModeration(e);
        break;
      case 'settings':
        onSettings(e.settings);
        break;
      case 'moderators':
        onModerators(e.userIds, e.changed);
        break;
      case 'system':
        note(systemNotice(e), 'info');
        break;
      case 'viewers':
        viewers.value = e.viewers;
        break;
      default:
        break;
    }
    for (const listener of [...listeners]) listener(e);
  }

  /** A refusal without a nonce: a reaction, too many frames, or a login the socket could not renew. */
  function refused(code: ChatErrorCode, retryAfterMs: number | undefined): void {
    if (code === 'RATE_LIMITED') {
      limits.blockReactions(retryAfterMs ?? 1_000);
      return flash('Too many reactions — slow down a little.', 'error');
    }
    if (code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID' || code === 'BANNED' || code === 'TIMED_OUT') restrict(code, retryAfterMs);
    flash(chatErrorText(code, retryAfterMs), 'error');
  }

  /** The server says on every (re)join whether we are banned or timed out here: believe it. */
  function applyRestriction(r: ChatRestriction | null | undefined): void {
    if (!r) return limits.lift('BANNED', 'TIMED_OUT');
    restrict(r.code, r.until === null ? undefined : Date.parse(r.until) - timers.now());
  }

  function onModeration(e: Extract<ServerMessage, { type: 'moderation' }>): void {
    const mine = e.user.id === me.peek().user?.id;
    if (mine) {
      if (e.action === 'ban') restrict('BANNED', undefined);
      else if (e.action === 'timeout' && e.until) restrict('TIMED_OUT', Date.parse(e.until) - timers.now());
      else if (e.action === 'unban') limits.lift('BANNED', 'TIMED_OUT');
    }
    // Moderation is news for the moderators and for the person it is about.
    if (mine || privileged.peek()) note(moderationNotice(e, mine, timers.now()), 'moderation');
  }

  function onSettings(next: ChatSettings): void {
    const before = settings.peek();
    settings.value = next;
    if (next.slowModeSeconds === 0) limits.lift('SLOW_MODE');
    if (!next.followersOnly) limits.lift('FOLLOWERS_ONLY');
    if (!next.subscribersOnly) limits.lift('SUBSCRIBERS_ONLY');
    if (before) for (const text of settingsNotices(before, next)) note(text, 'info');
  }

  function onModerators(userIds: string[], changed: ChatUser): void {
    const isMod = userIds.includes(changed.id);
    const self = me.peek();
    batch(() => {
      state.value = { ...state.peek(), lines: setRole(state.peek().lines, changed.id, isMod ? 'moderator' : 'viewer') };
      if (self.user?.id === changed.id && self.role !== 'streamer') me.value = { user: self.user, role: isMod ? 'moderator' : 'viewer' };
    });
    const aboutMe = self.user?.id === changed.id;
    if (aboutMe || privileged.peek()) note(moderatorNotice(changed, isMod, aboutMe), 'moderation');
  }

  // ---- lines, notices, reactions ------------------------------------------------------

  function setLines(next: ChatLine[]): void {
    state.value = capLines({ lines: next, cursor: state.peek().cursor }, lineLimit);
  }

  function note(text: string, tone: NoticeTone): void {
    setLines(addNotice(state.peek().lines, `n${++keys}`, text, tone));
  }

  function remember(id: number): void {
    deleted.add(id);
    if (deleted.size > 1_000) deleted.delete(deleted.values().next().value!);
  }

  function flash(text: string, tone: 'error' | 'info'): void {
    notice.value = { text, tone };
    if (noticeTimer) timers.clearTimeout(noticeTimer);
    noticeTimer = timers.setTimeout(() => {
      noticeTimer = null;
      notice.value = null;
    }, NOTICE_MS);
  }

  function float(emoji: Reaction, user: ChatUser): void {
    const key = `r${++keys}`;
    const next = [...reactions.peek(), { key, emoji, by: name(user), x: 0.1 + random() * 0.8 }];
    reactions.value = next.length > MAX_FLOATING ? next.slice(next.length - MAX_FLOATING) : next;
    timers.setTimeout(() => {
      reactions.value = reactions.peek().filter((r) => r.key !== key);
    }, reactionMs);
  }

  // ---- sending ------------------------------------------------------------------------

  function updatePending(key: string, patch: Partial<PendingSend> | null): void {
    pending.value = patch === null ? pending.peek().filter((p) => p.key !== key) : pending.peek().map((p) => (p.key === key ? { ...p, ...patch } : p));
  }

  async function dispatch(entry: PendingSend): Promise<boolean> {
    updatePending(entry.key, { state: 'sending', error: null });
    const result = await call({ type: 'send', text: entry.text });
    if (!result.ok) {
      if (result.code !== 'DISCONNECTED') restrict(result.code, result.retryAfterMs);
      updatePending(entry.key, { state: 'failed', error: result.code === 'DISCONNECTED' ? 'Not sent: the connection to the chat was lost.' : result.error });
      return false;
    }
    updatePending(entry.key, null);
    const self = me.peek();
    if (result.id !== undefined && self.user && !deleted.has(result.id) && !state.peek().lines.some((l) => l.kind === 'message' && l.message.id === result.id)) {
      const shown: ChatMessage = { id: result.id, user: self.user, role: self.role ?? 'viewer', subscriber: false, text: entry.text, at: new Date(timers.now()).toISOString() };
      setLines(addMessage(state.peek().lines, shown));
    }
    const slow = settings.peek()?.slowModeSeconds ?? 0;
    if (slow > 0 && !privileged.peek()) restrict('SLOW_MODE', slow * 1000);
    return true;
  }

  function flushQueued(): void {
    for (const p of pending.peek()) if (p.state === 'queued') void dispatch(p);
  }

  /**
   * Sends the draft (or `text`). Resolves true once the server accepted it; a refusal
   * stays in `pending` with its words until retried or dismissed.
   */
  async function send(text?: string): Promise<boolean> {
    const body = (text ?? draft.peek()).trim();
    if (!body || composer.peek().blocked) return false;
    if (messageLength(body) > MAX_MESSAGE_LENGTH) {
      flash(chatErrorText('MESSAGE_TOO_LONG'), 'error');
      return false;
    }
    const entry: PendingSend = { key: `p${++keys}`, text: body, state: 'queued', error: null };
    batch(() => {
      pending.value = [...pending.peek(), entry];
      if (text === undefined) draft.value = '';
    });
    if (!connection.isOpen()) return false; // sent once the connection is back
    return dispatch(entry);
  }

  function retry(key: string): void {
    const entry = pending.peek().find((p) => p.key === key);
    if (!entry || entry.state !== 'failed' || composer.peek().blocked) return;
    if (connection.isOpen()) void dispatch(entry);
    else updatePending(key, { state: 'queued', error: null });
  }

  function dismiss(key: string): void {
    updatePending(key, null);
  }

  async function react(emoji: string): Promise<boolean> {
    if (!isReaction(emoji) || reactionsBlocked.peek()) return false;
    return transmit({ type: 'react', emoji });
  }

  // ---- moderation -----------------------------------------------------------------------

  async function moderate(frame: NonceFrame, done: string): Promise<ActionResult> {
    const result = await call(frame);
    flash(result.ok ? done : result.error, result.ok ? 'info' : 'error');
    return result;
  }

  const deleteMessage = (messageId: number) => moderate({ type: 'delete', messageId }, 'Message deleted.');
  const timeout = (user: ChatUser, seconds: number, reason?: string) =>
    moderate({ type: 'timeout', userId: user.id, seconds, ...(reason ? { reason } : {}) }, `${name(user)} is timed out for ${formatDuration(seconds * 1000)}.`);
  const ban = (user: ChatUser, reason?: string) => moderate({ type: 'ban', userId: user.id, ...(reason ? { reason } : {}) }, `${name(user)} is banned.`);
  const unban = (user: { id: string; username: string }) => moderate({ type: 'unban', userId: user.id }, `${user.username} may chat again.`);

  /** Streamer only (HTTP): the `moderators` event that follows updates every chat. */
  async function setModerator(user: ChatUser, moderator: boolean): Promise<ActionResult> {
    try {
      await deps.api.setChatModerator(deps.streamId, user.id, moderator);
      flash(`${name(user)} ${moderator ? 'is now a moderator' : 'is no longer a moderator'}.`, 'info');
      return { ok: true };
    } catch (err) {
      const error = describeError(err);
      flash(error, 'error');
      return { ok: false, code: 'CHAT_UNAVAILABLE', error };
    }
  }

  /** What the signed-in user may do to a message (the per-message menu). */
  function optionsFor(message: ChatMessage) {
    const myRole = me.value.role;
    const myId = me.value.user?.id;
    const author = message.user;
    const mod = PRIVILEGED.has(myRole);
    const other = !!author && author.id !== myId && message.role !== 'streamer';
    const restrictable = mod && other && (message.role !== 'moderator' || myRole === 'streamer');
    return {
      delete: mod,
      timeout: restrictable,
      ban: restrictable,
      makeModerator: myRole === 'streamer' && other && message.role === 'viewer',
      removeModerator: myRole === 'streamer' && other && message.role === 'moderator',
    };
  }

  /** Follows the streamer, then re-authenticates so the chat knows (followers-only). */
  async function follow(): Promise<boolean> {
    try {
      await deps.api.setFollowing(deps.streamerId, true);
    } catch (err) {
      flash(describeError(err), 'error');
      return false;
    }
    await connection.authenticate();
    return true;
  }

  // ---- history --------------------------------------------------------------------------

  async function loadOlder(): Promise<void> {
    const cursor = state.peek().cursor;
    if (cursor === null || loadingOlder.peek()) return;
    loadingOlder.value = true;
    olderError.value = null;
    try {
      const page = await deps.api.chatMessages(deps.streamId, { before: cursor, limit: 50 });
      if (!running) return;
      const next = prependPage(state.peek(), page.items.filter((m) => !deleted.has(m.id)), page.nextBefore);
      lineLimit = Math.max(lineLimit, next.lines.length);
      state.value = next;
    } catch (err) {
      olderError.value = describeError(err);
    } finally {
      loadingOlder.value = false;
    }
  }

  /** Back at the live end: drop the older pages loaded beyond the cap. */
  function resumeLive(): void {
    if (lineLimit === maxLines) return;
    lineLimit = maxLines;
    state.value = capLines(state.peek(), lineLimit);
  }

  // ---- lifetime -------------------------------------------------------------------------

  function start(): void {
    running = true;
    connection.start();
  }

  function close(): void {
    running = false;
    if (noticeTimer) timers.clearTimeout(noticeTimer);
    noticeTimer = null;
    limits.close();
    connection.close();
    reactions.value = [];
  }

  function subscribe(listener: (event: ServerMessage) => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  return {
    status,
    attempt: connection.attempt,
    retryAt: connection.retryAt,
    me,
    role,
    privileged,
    lines,
    hasOlder,
    loadingOlder,
    olderError,
    pending,
    draft,
    remaining,
    settings,
    viewers,
    reactions,
    reactionsBlocked,
    restriction,
    composer,
    notice,
    now,
    start,
    close,
    send,
    retry,
    dismiss,
    react,
    deleteMessage,
    timeout,
    ban,
    unban,
    setModerator,
    optionsFor,
    follow,
    loadOlder,
    resumeLive,
    subscribe,
  };
}
