import { batch, computed, effect, signal } from '@preact/signals';
import type { ChatBanView, ChatSettings, ChatSettingsPatch, ChatUser, ModerationLogEntry, ServerMessage } from '../../../protocol/signalling.ts';
import type { GlintApi } from '../lib/api.ts';
import { describeError } from '../lib/api-error.ts';
import { formatDuration } from '../lib/chat-errors.ts';
import { MAX_BANNED_WORD_LENGTH, MAX_BANNED_WORDS, MAX_SLOW_MODE_SECONDS } from '../lib/chat-protocol.ts';
import { realTimers, type Timers } from '../lib/timers.ts';
import type { Chat } from './create-chat.ts';
import { createResource } from './resource.ts';

export type ChatAdminApi = Pick<GlintApi, 'updateChatSettings' | 'chatModerators' | 'setChatModerator' | 'chatBans' | 'moderationLog'>;

export interface ChatAdminDeps {
  api: ChatAdminApi;
  streamId: string;
  chat: Pick<Chat, 'settings' | 'subscribe' | 'unban'>;
  timers?: Timers;
}

export interface SettingsForm {
  slowModeSeconds: string;
  subscribersOnly: boolean;
  followersOnly: boolean;
  /** One word or phrase per line. */
  bannedWords: string;
}

export const LOG_SIZE = 50;
const RELOAD_AFTER_MS = 300;

function toForm(s: ChatSettings): SettingsForm {
  return { slowModeSeconds: String(s.slowModeSeconds), subscribersOnly: s.subscribersOnly, followersOnly: s.followersOnly, bannedWords: s.bannedWords.join('\n') };
}

/** The settings form as a PATCH body, or the first thing wrong with it. */
export function parseSettingsForm(form: SettingsForm): { patch: ChatSettingsPatch } | { error: string } {
  const slow = form.slowModeSeconds.trim() === '' ? 0 : Number(form.slowModeSeconds);
  if (!Number.isInteger(slow) || slow < 0 || slow > MAX_SLOW_MODE_SECONDS) return { error: `Slow mode is a whole number of seconds from 0 (off) to ${MAX_SLOW_MODE_SECONDS}.` };
  const words = [...new Set(form.bannedWords.split(/[\n,]/).map((w) => w.trim().toLowerCase()).filter(Boolean))];
  const long = words.find((w) => w.length > MAX_BANNED_WORD_LENGTH);
  if (long) return { error: `Banned words can be at most ${MAX_BANNED_WORD_LENGTH} characters (“${long.slice(0, 20)}…”).` };
  if (words.length > MAX_BANNED_WORDS) return { error: `At most ${MAX_BANNED_WORDS} banned words.` };
  return { patch: { slowModeSeconds: slow, subscribersOnly: form.subscribersOnly, followersOnly: form.followersOnly, bannedWords: words } };
}

export type ChatAdmin = ReturnType<typeof createChatAdmin>;

/**
 * The Studio's chat administration: the settings form (owner), the moderators (removed
 * here; appointed from a chatter's message), bans and timeouts in force (with Unban), and
 * the last moderation actions. The lists reload shortly after a chat event changes them.
 */
export function createChatAdmin(deps: ChatAdminDeps) {
  const timers = deps.timers ?? realTimers;
  const { api, streamId, chat } = deps;

  const form = signal<SettingsForm | null>(null);
  const dirty = signal(false);
  const saving = signal(false);
  const saveError = signal<string | null>(null);
  const saved = signal(false);
  const formError = computed(() => {
    const f = form.value;
    if (!f) return null;
    const parsed = parseSettingsForm(f);
    return 'error' in parsed ? parsed.error : null;
  });
  const moderators = createResource(() => api.chatModerators(streamId).then((r) => r.items));
  const bans = createResource(() => api.chatBans(streamId).then((r) => r.items));
  const log = createResource(() => api.moderationLog(streamId, { limit: LOG_SIZE }).then((r) => r.items));
  const actionError = signal<string | null>(null);

  const due = new Set<'moderators' | 'bans' | 'log'>();
  let reloadTimer: unknown = null;

  // The form follows the live settings until someone edits it.
  const stopFollowing = effect(() => {
    const s = chat.settings.value;
    if (s && !dirty.peek()) form.value = toForm(s);
  });

  const unsubscribe = chat.subscribe((e: ServerMessage) => {
    if (e.type === 'moderators') reloadSoon('moderators', 'log');
    else if (e.type === 'moderation') reloadSoon('bans', 'log');
    else if (e.type === 'deleted' || e.type === 'settings') reloadSoon('log');
  });

  function reloadSoon(...what: Array<'moderators' | 'bans' | 'log'>): void {
    for (const w of what) due.add(w);
    if (reloadTimer) return;
    reloadTimer = timers.setTimeout(() => {
      reloadTimer = null;
      const list = [...due];
      due.clear();
      for (const w of list) void { moderators, bans, log }[w].load();
    }, RELOAD_AFTER_MS);
  }

  function load(): void {
    void moderators.load();
    void bans.load();
    void log.load();
  }

  function edit(patch: Partial<SettingsForm>): void {
    const f = form.peek();
    if (!f) return;
    batch(() => {
      form.value = { ...f, ...patch };
      dirty.value = true;
      saved.value = false;
      saveError.value = null;
    });
  }

  async function save(): Promise<boolean> {
    const f = form.peek();
    if (!f || saving.peek()) return false;
    const parsed = parseSettingsForm(f);
    if ('error' in parsed) {
      saveError.value = parsed.error;
      return false;
    }
    saving.value = true;
    saveError.value = null;
    try {
      const { settings } = await api.updateChatSettings(streamId, parsed.patch);
      batch(() => {
        dirty.value = false;
        form.value = toForm(settings);
        saved.value = true;
      });
      return true;
    } catch (err) {
      saveError.value = describeError(err);
      return false;
    } finally {
      saving.value = false;
    }
  }

  function discard(): void {
    const s = chat.settings.peek();
    batch(() => {
      dirty.value = false;
      saveError.value = null;
      if (s) form.value = toForm(s);
    });
  }

  async function removeModerator(user: ChatUser): Promise<void> {
    actionError.value = null;
    try {
      await api.setChatModerator(streamId, user.id, false);
      reloadSoon('moderators', 'log');
    } catch (err) {
      actionError.value = describeError(err);
    }
  }

  async function unban(ban: ChatBanView): Promise<void> {
    actionError.value = null;
    const result = await chat.unban({ id: ban.userId, username: ban.username });
    if (!result.ok) actionError.value = result.error;
  }

  function close(): void {
    stopFollowing();
    unsubscribe();
    if (reloadTimer) timers.clearTimeout(reloadTimer);
    reloadTimer = null;
    moderators.close();
    bans.close();
    log.close();
  }

  return { form, dirty, saving, saveError, saved, formError, moderators, bans, log, actionError, load, edit, save, discard, removeModerator, unban, close };
}

/** "Ada deleted a message of bob", "streamer timed out bob for 600 s (spam)". */
export function describeLogEntry(e: ModerationLogEntry): string {
  const actor = e.actor?.username ?? 'someone';
  const target = e.target?.username ?? 'someone';
  const reason = typeof e.details.reason === 'string' && e.details.reason ? ` (${e.details.reason})` : '';
  switch (e.action) {
    case 'delete_message':
      return `${actor} deleted a message of ${target}`;
    case 'timeout': {
      const seconds = Number(e.details.seconds);
      return `${actor} timed out ${target}${Number.isFinite(seconds) ? ` for ${formatDuration(seconds * 1000)}` : ''}${reason}`;
    }
    case 'ban':
      return `${actor} banned ${target}${reason}`;
    case 'unban':
      return `${actor} unbanned ${target}`;
    case 'add_moderator':
      return `${actor} made ${target} a moderator`;
    case 'remove_moderator':
      return `${actor} removed ${target} as moderator`;
    case 'settings':
      return `${actor} changed the chat settings (${Object.keys(e.details).join(', ') || 'nothing'})`;
    default:
      return `${actor}: ${e.action}`;
  }
}
