import { signal } from '@preact/signals';
import { describe, expect, it } from 'vitest';
import type { ChatSettings, ServerMessage } from '../../../protocol/signalling.ts';
import { ApiError } from '../lib/api-error.ts';
import type { ChatBanView, ModerationLogEntry } from '../../../protocol/signalling.ts';
import { BOB, createFakeTimers, SETTINGS, settle, STREAMER } from './chat-testing.ts';
import { createChatAdmin, describeLogEntry, parseSettingsForm, type ChatAdminApi } from './chat-admin.ts';
import type { ActionResult } from './create-chat.ts';

function setup() {
  const calls: string[] = [];
  const listeners = new Set<(e: ServerMessage) => void>();
  const settings = signal<ChatSettings | null>(null);
  const unbans: string[] = [];
  let patchError: Error | null = null;
  const ban: ChatBanView = { userId: BOB.id, username: 'bob', bannedBy: STREAMER.id, reason: 'spam', createdAt: '2025-06-01T12:00:00Z', expiresAt: null };
  const api: ChatAdminApi = {
    async updateChatSettings(_id, body) {
      calls.push(`PATCH ${JSON.stringify(body)}`);
      if (patchError) throw patchError;
      return { settings: { ...SETTINGS, ...body } as ChatSettings };
    },
    async chatModerators() {
      calls.push('GET moderators');
      return { items: [BOB] };
    },
    async setChatModerator(_id, userId, on) {
      calls.push(`${on ? 'PUT' : 'DELETE'} moderator ${userId}`);
    },
    async chatBans() {
      calls.push('GET bans');
      return { items: [ban] };
    },
    async moderationLog(_id, query) {
      calls.push(`GET log limit=${query?.limit}`);
      return { items: [], nextBefore: null };
    },
  };
  const timers = createFakeTimers();
  const admin = createChatAdmin({
    api,
    streamId: 'stream-1',
    timers,
    chat: {
      settings,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async unban(user): Promise<ActionResult> {
        unbans.push(user.id);
        return { ok: true };
      },
    },
  });
  const emit = (e: ServerMessage) => listeners.forEach((l) => l(e));
  return { admin, calls, settings, timers, emit, unbans, ban, failPatch: (e: Error) => (patchError = e) };
}

describe('chat admin', () => {
  it('fills the form from the live settings until it is edited, and saves it as a PATCH', async () => {
    const t = setup();
    expect(t.admin.form.value).toBeNull();
    t.settings.value = { ...SETTINGS, slowModeSeconds: 10, bannedWords: ['foo'] };
    expect(t.admin.form.value).toEqual({ slowModeSeconds: '10', subscribersOnly: false, followersOnly: false, bannedWords: 'foo' });

    t.admin.edit({ followersOnly: true, bannedWords: 'Foo\nbar, baz\n\n' });
    t.settings.value = { ...SETTINGS, slowModeSeconds: 99 };
    expect(t.admin.form.value?.slowModeSeconds).toBe('10'); // the edit is not overwritten
    expect(await t.admin.save()).toBe(true);
    expect(t.calls).toEqual(['PATCH {"slowModeSeconds":10,"subscribersOnly":false,"followersOnly":true,"bannedWords":["foo","bar","baz"]}']);
    expect(t.admin.dirty.value).toBe(false);
    expect(t.admin.saved.value).toBe(true);
  });

  it('refuses an impossible slow mode before asking the server, and shows a server refusal', async () => {
    const t = setup();
    t.settings.value = SETTINGS;
    t.admin.edit({ slowModeSeconds: '2.5' });
    expect(t.admin.formError.value).toMatch(/whole number of seconds/);
    expect(await t.admin.save()).toBe(false);
    expect(t.calls).toEqual([]);

    t.admin.edit({ slowModeSeconds: '5' });
    t.failPatch(new ApiError('NOT_STREAM_OWNER', 'Only the owner of this stream may do this.', { status: 403 }));
    expect(await t.admin.save()).toBe(false);
    expect(t.admin.saveError.value).toBe('Only the owner of this stream may do this.');
  });

  it('loads moderators, bans and the last 50 actions, and reloads them after chat events', async () => {
    const t = setup();
    t.admin.load();
    await settle();
    expect(t.calls.sort()).toEqual(['GET bans', 'GET log limit=50', 'GET moderators']);
    expect(t.admin.moderators.data.value).toEqual([BOB]);

    t.calls.length = 0;
    t.emit({ type: 'moderation', action: 'ban', user: BOB, by: STREAMER, until: null, reason: '' });
    t.emit({ type: 'deleted', messageId: 3, by: STREAMER });
    t.timers.advance(300);
    await settle();
    expect(t.calls.sort()).toEqual(['GET bans', 'GET log limit=50']);

    await t.admin.unban(t.ban);
    expect(t.unbans).toEqual([BOB.id]);
    await t.admin.removeModerator(BOB);
    expect(t.calls).toContain(`DELETE moderator ${BOB.id}`);
  });

  it('describes log entries in words', () => {
    const base: ModerationLogEntry = { id: 1, action: 'timeout', streamId: 's', actor: { id: 'a', username: 'streamer' }, target: { id: 'b', username: 'bob' }, messageId: null, details: { seconds: 600, reason: 'spam' }, createdAt: '' };
    expect(describeLogEntry(base)).toBe('streamer timed out bob for 10 min (spam)');
    expect(describeLogEntry({ ...base, action: 'delete_message', details: {} })).toBe('streamer deleted a message of bob');
    expect(describeLogEntry({ ...base, action: 'settings', target: null, details: { slowModeSeconds: 5 } })).toBe('streamer changed the chat settings (slowModeSeconds)');
  });

  it('parses banned words one per line or comma-separated', () => {
    expect(parseSettingsForm({ slowModeSeconds: '', subscribersOnly: true, followersOnly: false, bannedWords: ' a ,B\na' })).toEqual({
      patch: { slowModeSeconds: 0, subscribersOnly: true, followersOnly: false, bannedWords: ['a', 'b'] },
    });
  });
});
