import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../protocol/signalling.ts';
import {
  ADA,
  BOB,
  chatMessage,
  createFakeChatHttp,
  createFakeTimers,
  createFakeTokens,
  createSocketFactory,
  SETTINGS,
  settle,
  STREAMER,
  userIdSignal,
} from './chat-testing.ts';
import { createChat, type ChatDeps } from './create-chat.ts';

const URL = 'ws://glint.test/streams/stream-1/chat';

function setup(opts: { as?: typeof ADA | null; pages?: Parameters<typeof createFakeChatHttp>[0]; deps?: Partial<ChatDeps> } = {}) {
  const as = opts.as === undefined ? ADA : opts.as;
  const sockets = createSocketFactory();
  const timers = createFakeTimers();
  const tokens = createFakeTokens(as !== null);
  const userId = userIdSignal(as?.id ?? null);
  const api = createFakeChatHttp(opts.pages);
  const chat = createChat({
    streamId: 'stream-1',
    streamerId: STREAMER.id,
    url: URL,
    WebSocket: sockets.WebSocket,
    tokens,
    userId,
    api,
    timers,
    random: () => 0.5,
    ...opts.deps,
  });
  return { chat, sockets, timers, tokens, userId, api };
}

/** Started, connected and welcomed as `as` with `role`. */
async function connected(opts: Parameters<typeof setup>[0] & { role?: 'viewer' | 'moderator' | 'streamer'; history?: ChatMessage[] } = {}) {
  const t = setup(opts);
  t.chat.start();
  await settle();
  const user = opts.as === undefined ? ADA : opts.as;
  t.sockets.last.welcome({ user, role: user ? (opts.role ?? 'viewer') : null, history: opts.history ?? [] });
  return t;
}

const texts = (t: { chat: ReturnType<typeof createChat> }) =>
  t.chat.lines.value.map((l) => (l.kind === 'message' ? `${l.message.user?.username}: ${l.message.text}` : `* ${l.text}`));

describe('chat connection', () => {
  it('offers the chat subprotocol with the access token as a bearer, and shows the welcome', async () => {
    const t = setup();
    t.chat.start();
    expect(t.chat.status.value).toBe('connecting');
    await settle();
    expect(t.sockets.last.url).toBe(URL);
    expect(t.sockets.last.protocols).toEqual(['glint-chat.v1', 'bearer.token-1']);

    t.sockets.last.welcome({
      user: ADA,
      role: 'viewer',
      settings: { ...SETTINGS, slowModeSeconds: 5 },
      history: [chatMessage(1, BOB, 'hi'), chatMessage(2, STREAMER, 'welcome all', 'streamer')],
      viewers: { webrtc: 3, chat: 7 },
    });
    expect(t.chat.status.value).toBe('connected');
    expect(t.chat.me.value).toEqual({ user: ADA, role: 'viewer' });
    expect(texts(t)).toEqual(['bob: hi', 'streamer: welcome all']);
    expect(t.chat.settings.value?.slowModeSeconds).toBe(5);
    expect(t.chat.viewers.value).toEqual({ webrtc: 3, chat: 7 });
    expect(t.chat.composer.value).toEqual({ blocked: false, reason: null, action: null });
    // Fewer than 50 messages of history: that is the whole chat.
    expect(t.chat.hasOlder.value).toBe(false);

    t.sockets.last.receive({ type: 'viewers', viewers: { webrtc: 4, chat: 9 } });
    expect(t.chat.viewers.value).toEqual({ webrtc: 4, chat: 9 });
  });

  it('reads anonymously without a token and asks to log in before writing', async () => {
    const t = await connected({ as: null });
    expect(t.sockets.last.protocols).toEqual(['glint-chat.v1']);
    expect(t.chat.composer.value).toEqual({ blocked: true, reason: 'Log in to chat.', action: 'login' });
    expect(await t.chat.send('hello')).toBe(false);
    expect(t.sockets.last.frames('send')).toEqual([]);
  });

  it('reconnects with growing backoff after drops and merges the history the welcome brings', async () => {
    const t = await connected({ history: [chatMessage(1, BOB, 'one'), chatMessage(2, BOB, 'two')] });
    const first = t.sockets.last;
    first.receive({ type: 'message', message: chatMessage(3, BOB, 'three') });

    first.drop();
    expect(t.chat.status.value).toBe('reconnecting');
    expect(t.chat.retryAt.value).toBe(t.timers.now() + 1_000);
    t.timers.advance(999);
    expect(t.sockets.sockets).toHaveLength(1);
    t.timers.advance(1);
    await settle();
    expect(t.sockets.sockets).toHaveLength(2);

    // Dropped again before the welcome: the next wait is longer.
    t.sockets.last.drop();
    expect(t.chat.retryAt.value).toBe(t.timers.now() + 2_000);
    t.timers.advance(2_000);
    await settle();
    expect(t.sockets.sockets).toHaveLength(3);
    // Nothing is re-requested over HTTP: the welcome carries the history.
    t.sockets.last.welcome({ user: ADA, role: 'viewer', history: [chatMessage(2, BOB, 'two'), chatMessage(3, BOB, 'three'), chatMessage(4, BOB, 'four')] });
    expect(t.api.calls).toEqual([]);
    expect(texts(t)).toEqual(['bob: one', 'bob: two', 'bob: three', 'bob: four']);
    expect(t.chat.status.value).toBe('connected');
    expect(t.chat.attempt.value).toBe(0);

    // The next drop starts from the shortest wait again.
    t.sockets.last.drop();
    expect(t.chat.retryAt.value).toBe(t.timers.now() + 1_000);
  });

  it('stops for good on close()', async () => {
    const t = await connected();
    const ws = t.sockets.last;
    t.chat.close();
    expect(ws.closedWith).toBe(1000);
    expect(t.chat.status.value).toBe('closed');
    ws.drop();
    t.timers.advance(60_000);
    await settle();
    expect(t.sockets.sockets).toHaveLength(1);
  });

  it('follows the session: a logout reconnects anonymously, a login authenticates the open socket', async () => {
    const t = await connected();
    t.tokens.current = null;
    t.userId.value = null;
    await settle();
    expect(t.sockets.sockets).toHaveLength(2);
    expect(t.sockets.sockets[0]!.closedWith).toBe(1000);
    expect(t.sockets.last.protocols).toEqual(['glint-chat.v1']);
    t.sockets.last.welcome({ user: null, role: null });

    t.tokens.current = 'token-9';
    t.userId.value = BOB.id;
    await settle();
    expect(t.sockets.last.frames('auth')).toEqual([{ type: 'auth', token: 'token-9' }]);
    t.sockets.last.receive({ type: 'authenticated', user: BOB, role: 'viewer', restriction: null });
    expect(t.chat.me.value.user).toEqual(BOB);
    expect(t.chat.composer.value.blocked).toBe(false);
  });
});

describe('chat messages', () => {
  it('sends with a nonce, shows the message on its ack and does not repeat it when the broadcast follows', async () => {
    const t = await connected();
    t.chat.draft.value = '  hello there ';
    const sent = t.chat.send();
    expect(t.chat.draft.value).toBe('');
    await settle();
    const frame = t.sockets.last.lastFrame()!;
    expect(frame).toEqual({ type: 'send', text: 'hello there', nonce: expect.any(String) });
    expect(t.chat.pending.value).toMatchObject([{ text: 'hello there', state: 'sending' }]);

    t.sockets.last.receive({ type: 'ack', nonce: frame.nonce as string, id: 41 });
    await expect(sent).resolves.toBe(true);
    expect(t.chat.pending.value).toEqual([]);
    expect(texts(t)).toEqual(['ada: hello there']);

    t.sockets.last.receive({ type: 'message', message: chatMessage(41, ADA, 'hello there') });
    expect(texts(t)).toEqual(['ada: hello there']);
  });

  it('applies a batched frame (a JSON array of events) in order', async () => {
    const t = await connected();
    t.sockets.last.receive([
      { type: 'message', message: chatMessage(1, BOB, 'one') },
      { type: 'message', message: chatMessage(2, BOB, 'two') },
      { type: 'deleted', messageId: 1, by: STREAMER },
      { type: 'message', message: chatMessage(3, ADA, 'three') },
      { type: 'viewers', viewers: { webrtc: 1, chat: 4 } },
    ]);
    expect(texts(t)).toEqual(['bob: two', 'ada: three']);
    expect(t.chat.viewers.value).toEqual({ webrtc: 1, chat: 4 });
  });

  it("keeps other people's text exactly as sent (markup stays text)", async () => {
    const t = await connected();
    t.sockets.last.receive({ type: 'message', message: chatMessage(5, BOB, '<img src=x onerror=alert(1)>') });
    const line = t.chat.lines.value[0]!;
    expect(line.kind === 'message' && line.message.text).toBe('<img src=x onerror=alert(1)>');
  });

  it('removes a deleted message for everyone and ignores a late copy of it', async () => {
    const t = await connected({ history: [chatMessage(1, BOB, 'keep'), chatMessage(2, BOB, 'spam')] });
    t.sockets.last.receive({ type: 'deleted', messageId: 2, by: STREAMER });
    expect(texts(t)).toEqual(['bob: keep']);
    t.sockets.last.receive({ type: 'message', message: chatMessage(2, BOB, 'spam') });
    expect(texts(t)).toEqual(['bob: keep']);
  });

  it('counts characters as the server does and refuses an over-long draft locally', async () => {
    const t = await connected();
    t.chat.draft.value = '🔥'.repeat(10);
    expect(t.chat.remaining.value).toBe(490);
    t.chat.draft.value = 'x'.repeat(501);
    expect(t.chat.remaining.value).toBe(-1);
    expect(await t.chat.send()).toBe(false);
    expect(t.chat.notice.value?.text).toBe('Messages can be at most 500 characters.');
    expect(t.sockets.last.frames('send')).toEqual([]);
  });

  it('caps the lines kept in memory and loads older pages on demand', async () => {
    const history = Array.from({ length: 50 }, (_, i) => chatMessage(100 + i, BOB, `h${i}`));
    const t = await connected({
      history,
      deps: { maxLines: 60 },
      pages: { 100: { items: [chatMessage(98, BOB, 'older 1'), chatMessage(99, BOB, 'older 2')], nextBefore: null } },
    });
    // A full welcome may have older messages before it.
    expect(t.chat.hasOlder.value).toBe(true);
    await t.chat.loadOlder();
    expect(t.api.calls).toEqual(['GET /streams/stream-1/chat/messages?before=100']);
    expect(texts(t).slice(0, 3)).toEqual(['bob: older 1', 'bob: older 2', 'bob: h0']);
    expect(t.chat.hasOlder.value).toBe(false);

    // Back at the live end, the cap applies again, and the cursor moves up to what is left.
    t.chat.resumeLive();
    for (let i = 0; i < 20; i++) t.sockets.last.receive({ type: 'message', message: chatMessage(200 + i, BOB, `live ${i}`) });
    expect(t.chat.lines.value).toHaveLength(60);
    expect(texts(t)[0]).toBe('bob: h10');
    expect(t.chat.hasOlder.value).toBe(true);
  });
});

describe('chat refusals', () => {
  it('turns a rate limit into words, blocks the input with a countdown and lifts it afterwards', async () => {
    const t = await connected();
    const results: Promise<boolean>[] = [];
    for (let i = 0; i < 3; i++) results.push(t.chat.send(`message ${i}`));
    await settle();
    const nonces = t.sockets.last.frames('send').map((f) => f.nonce as string);
    expect(nonces).toHaveLength(3);
    t.sockets.last.receive({ type: 'ack', nonce: nonces[0], id: 1 });
    t.sockets.last.receive({ type: 'ack', nonce: nonces[1], id: 2 });
    t.sockets.last.receive({ type: 'error', code: 'RATE_LIMITED', message: 'You are sending messages too fast; wait 3 s.', nonce: nonces[2], retryAfterMs: 2_500 });
    expect(await Promise.all(results)).toEqual([true, true, false]);

    expect(t.chat.pending.value).toMatchObject([{ text: 'message 2', state: 'failed', error: 'Slow down — you can send again in 3 s.' }]);
    expect(t.chat.composer.value).toEqual({ blocked: true, reason: 'Slow down — you can send again in 3 s.', action: null });
    t.timers.advance(1_000);
    expect(t.chat.composer.value.reason).toBe('Slow down — you can send again in 2 s.');
    expect(await t.chat.send('while blocked')).toBe(false);
    t.timers.advance(1_500);
    expect(t.chat.composer.value.blocked).toBe(false);

    // The refused message can go out again.
    const key = t.chat.pending.value[0]!.key;
    t.chat.retry(key);
    await settle();
    const again = t.sockets.last.lastFrame()!;
    expect(again).toMatchObject({ type: 'send', text: 'message 2' });
    t.sockets.last.receive({ type: 'ack', nonce: again.nonce as string, id: 3 });
    await settle();
    expect(t.chat.pending.value).toEqual([]);
  });

  it('shows a timeout with the time left, and an unban lifts it', async () => {
    const t = await connected();
    const until = new Date(t.timers.now() + 600_000).toISOString();
    t.sockets.last.receive({ type: 'moderation', action: 'timeout', user: ADA, by: STREAMER, until, reason: '' });
    expect(t.chat.composer.value.reason).toBe('You are timed out — you can chat again in 10 min.');
    expect(texts(t)).toEqual(['* You were timed out for 10 min by The Streamer.']);
    expect(t.chat.reactionsBlocked.value).toBe(true);
    t.timers.advance(65_000);
    expect(t.chat.composer.value.reason).toBe('You are timed out — you can chat again in 8 min 55 s.');
    t.sockets.last.receive({ type: 'moderation', action: 'unban', user: ADA, by: STREAMER, until: null, reason: '' });
    expect(t.chat.composer.value.blocked).toBe(false);
  });

  it('says so when banned, and does not tell viewers about other people being banned', async () => {
    const t = await connected();
    t.sockets.last.receive({ type: 'moderation', action: 'ban', user: BOB, by: STREAMER, until: null, reason: 'spam' });
    expect(texts(t)).toEqual([]);
    const sent = t.chat.send('hi');
    await settle();
    t.sockets.last.receive({ type: 'error', code: 'BANNED', message: 'You are banned from this chat.', nonce: t.sockets.last.lastFrame()!.nonce as string });
    expect(await sent).toBe(false);
    expect(t.chat.composer.value).toEqual({ blocked: true, reason: 'You are banned from this chat.', action: null });
    // A rate limit does not hide the ban.
    t.sockets.last.receive({ type: 'error', code: 'RATE_LIMITED', message: 'x', retryAfterMs: 1_000 });
    expect(t.chat.composer.value.reason).toBe('You are banned from this chat.');
  });

  it('shows a ban or time-out the server reports on joining, before anything is sent, and lifts it when gone', async () => {
    const t = setup();
    t.chat.start();
    await settle();
    t.sockets.last.welcome({ user: ADA, role: 'viewer', restriction: { code: 'BANNED', until: null } });
    expect(t.chat.composer.value).toEqual({ blocked: true, reason: 'You are banned from this chat.', action: null });
    expect(t.chat.reactionsBlocked.value).toBe(true);
    // Unbanned while away: the next welcome (a reconnect) says so.
    t.sockets.last.drop();
    t.timers.advance(5_000);
    await settle();
    t.sockets.last.welcome({ user: ADA, role: 'viewer', restriction: null });
    expect(t.chat.composer.value.blocked).toBe(false);
    // Logged in as someone timed out for 90 s.
    t.sockets.last.receive({ type: 'authenticated', user: BOB, role: 'viewer', restriction: { code: 'TIMED_OUT', until: new Date(t.timers.now() + 90_000).toISOString() } });
    expect(t.chat.composer.value.reason).toBe('You are timed out — you can chat again in 1 min 30 s.');
    t.timers.advance(90_000);
    expect(t.chat.composer.value.blocked).toBe(false);
  });

  it('offers to follow in a followers-only chat, then re-authenticates so the chat knows', async () => {
    const t = await connected();
    const sent = t.chat.send('hi');
    await settle();
    t.sockets.last.receive({ type: 'error', code: 'FOLLOWERS_ONLY', message: 'x', nonce: t.sockets.last.lastFrame()!.nonce as string });
    await sent;
    expect(t.chat.composer.value).toEqual({ blocked: true, reason: 'Only followers can chat right now. Follow the channel to join in.', action: 'follow' });

    await t.chat.follow();
    expect(t.api.calls).toEqual([`PUT /users/${STREAMER.id}/follow`]);
    expect(t.sockets.last.lastFrame()).toEqual({ type: 'auth', token: 'token-1' });
    t.sockets.last.receive({ type: 'authenticated', user: ADA, role: 'viewer', restriction: null });
    expect(t.chat.composer.value.blocked).toBe(false);
  });

  it('blocks for slow mode after a send, and lifts it when slow mode is turned off', async () => {
    const t = await connected();
    t.sockets.last.receive({ type: 'settings', settings: { ...SETTINGS, slowModeSeconds: 30 } });
    expect(texts(t)).toEqual(['* Slow mode is on: one message every 30 s.']);
    const sent = t.chat.send('hi');
    await settle();
    t.sockets.last.receive({ type: 'ack', nonce: t.sockets.last.lastFrame()!.nonce as string, id: 7 });
    await sent;
    expect(t.chat.composer.value.reason).toBe('Slow mode is on — you can send again in 30 s.');
    t.sockets.last.receive({ type: 'settings', settings: SETTINGS });
    expect(t.chat.composer.value.blocked).toBe(false);
  });

  it('refreshes an expired token through the session and sends the frame once more', async () => {
    const t = await connected();
    const sent = t.chat.send('hello');
    await settle();
    const first = t.sockets.last.lastFrame()!;
    t.sockets.last.receive({ type: 'error', code: 'TOKEN_EXPIRED', message: 'x', nonce: first.nonce as string });
    await settle();
    expect(t.tokens.renewCalls).toEqual(['token-1']);
    expect(t.sockets.last.sent.slice(-2)).toEqual([{ type: 'auth', token: 'token-2' }, first]);
    t.sockets.last.receive({ type: 'ack', nonce: first.nonce as string, id: 9 });
    await expect(sent).resolves.toBe(true);

    // Expired again right after a renewal: reported, not looped on.
    const second = t.chat.send('again');
    await settle();
    const frame = t.sockets.last.lastFrame()!;
    t.sockets.last.receive({ type: 'error', code: 'TOKEN_EXPIRED', message: 'x', nonce: frame.nonce as string });
    await settle();
    t.sockets.last.receive({ type: 'error', code: 'TOKEN_EXPIRED', message: 'x', nonce: frame.nonce as string });
    await expect(second).resolves.toBe(false);
    expect(t.chat.pending.value.at(-1)).toMatchObject({ state: 'failed', error: 'Your login expired. Log in again to chat.' });
  });

  it('sends a newer token first when the session refreshed it meanwhile', async () => {
    const t = await connected();
    t.tokens.current = 'token-7';
    void t.chat.send('hi');
    await settle();
    expect(t.sockets.last.sent.map((f) => f.type)).toEqual(['auth', 'send']);
    expect(t.sockets.last.sent[0]).toEqual({ type: 'auth', token: 'token-7' });
  });

  it('queues what is sent while reconnecting and reports what was lost in flight', async () => {
    const t = await connected();
    const inFlight = t.chat.send('in flight');
    await settle();
    t.sockets.last.drop();
    await expect(inFlight).resolves.toBe(false);
    expect(t.chat.pending.value[0]).toMatchObject({ state: 'failed', error: 'Not sent: the connection to the chat was lost.' });

    void t.chat.send('typed while away');
    expect(t.chat.pending.value[1]).toMatchObject({ state: 'queued' });
    t.timers.advance(1_000);
    await settle();
    t.sockets.last.welcome({ user: ADA, role: 'viewer' });
    await settle();
    expect(t.sockets.last.frames('send')).toEqual([{ type: 'send', text: 'typed while away', nonce: expect.any(String) }]);
  });
});

describe('chat reactions', () => {
  it('floats reactions for two seconds and slows down on a refused burst', async () => {
    const t = await connected();
    expect(await t.chat.react('🔥')).toBe(true);
    expect(t.sockets.last.lastFrame()).toEqual({ type: 'react', emoji: '🔥' });
    expect(await t.chat.react('<b>')).toBe(false);

    t.sockets.last.receive({ type: 'reaction', emoji: '🔥', user: BOB });
    expect(t.chat.reactions.value).toMatchObject([{ emoji: '🔥', by: 'Bob' }]);
    t.timers.advance(1_999);
    expect(t.chat.reactions.value).toHaveLength(1);
    t.timers.advance(1);
    expect(t.chat.reactions.value).toEqual([]);

    t.sockets.last.receive({ type: 'error', code: 'RATE_LIMITED', message: 'Too many reactions; slow down.', retryAfterMs: 250 });
    expect(t.chat.reactionsBlocked.value).toBe(true);
    expect(t.chat.notice.value?.text).toBe('Too many reactions — slow down a little.');
    expect(await t.chat.react('🔥')).toBe(false);
    t.timers.advance(250);
    expect(t.chat.reactionsBlocked.value).toBe(false);
  });
});

describe('chat moderation', () => {
  it('offers moderation by role: a streamer may act on moderators, a moderator only on viewers', async () => {
    const t = await connected({ as: STREAMER, role: 'streamer' });
    const fromBob = chatMessage(1, BOB, 'hi');
    const fromMod = chatMessage(2, ADA, 'hello', 'moderator');
    const own = chatMessage(3, STREAMER, 'welcome', 'streamer');
    expect(t.chat.optionsFor(fromBob)).toEqual({ delete: true, timeout: true, ban: true, makeModerator: true, removeModerator: false });
    expect(t.chat.optionsFor(fromMod)).toEqual({ delete: true, timeout: true, ban: true, makeModerator: false, removeModerator: true });
    expect(t.chat.optionsFor(own)).toEqual({ delete: true, timeout: false, ban: false, makeModerator: false, removeModerator: false });

    const m = await connected({ as: ADA, role: 'moderator' });
    expect(m.chat.optionsFor(fromBob)).toMatchObject({ delete: true, timeout: true, ban: true, makeModerator: false });
    expect(m.chat.optionsFor(chatMessage(4, { ...BOB, id: 'other-mod' }, 'x', 'moderator'))).toMatchObject({ delete: true, timeout: false, ban: false });
    expect(m.chat.optionsFor(own)).toMatchObject({ delete: true, timeout: false, ban: false });

    const v = await connected({ as: BOB });
    expect(v.chat.optionsFor(fromMod)).toEqual({ delete: false, timeout: false, ban: false, makeModerator: false, removeModerator: false });
  });

  it('sends delete, timeout and ban with nonces and reports their answers in words', async () => {
    const t = await connected({ as: STREAMER, role: 'streamer', history: [chatMessage(1, BOB, 'spam')] });
    const del = t.chat.deleteMessage(1);
    await settle();
    const frame = t.sockets.last.lastFrame()!;
    expect(frame).toEqual({ type: 'delete', messageId: 1, nonce: expect.any(String) });
    t.sockets.last.receive({ type: 'ack', nonce: frame.nonce as string });
    await expect(del).resolves.toEqual({ ok: true });
    expect(t.chat.notice.value).toEqual({ text: 'Message deleted.', tone: 'info' });

    const to = t.chat.timeout(BOB, 600);
    await settle();
    expect(t.sockets.last.lastFrame()).toEqual({ type: 'timeout', userId: BOB.id, seconds: 600, nonce: expect.any(String) });
    t.sockets.last.receive({ type: 'error', code: 'CANNOT_MODERATE_USER', message: 'x', nonce: t.sockets.last.lastFrame()!.nonce as string });
    await expect(to).resolves.toEqual({ ok: false, code: 'CANNOT_MODERATE_USER', error: 'You cannot time out or ban this person.' });
    // A moderator's refusal does not block their own input.
    expect(t.chat.composer.value.blocked).toBe(false);

    const b = t.chat.ban(BOB, 'spam');
    await settle();
    expect(t.sockets.last.lastFrame()).toEqual({ type: 'ban', userId: BOB.id, reason: 'spam', nonce: expect.any(String) });
    t.sockets.last.drop();
    await expect(b).resolves.toMatchObject({ ok: false, code: 'DISCONNECTED' });
  });

  it('appoints moderators over HTTP and follows role changes, including its own', async () => {
    const t = await connected({ as: ADA, history: [chatMessage(1, ADA, 'mine'), chatMessage(2, BOB, 'his')] });
    expect(t.chat.optionsFor(chatMessage(2, BOB, 'his')).delete).toBe(false);
    t.sockets.last.receive({ type: 'moderators', userIds: [ADA.id], changed: ADA });
    expect(t.chat.role.value).toBe('moderator');
    expect(t.chat.optionsFor(chatMessage(2, BOB, 'his')).delete).toBe(true);
    const first = t.chat.lines.value[0]!;
    expect(first.kind === 'message' && first.message.role).toBe('moderator');
    expect(texts(t).at(-1)).toBe('* You are now a moderator of this chat.');

    const s = await connected({ as: STREAMER, role: 'streamer' });
    await expect(s.chat.setModerator(BOB, true)).resolves.toEqual({ ok: true });
    expect(s.api.calls).toEqual([`PUT /streams/stream-1/chat/moderators/${BOB.id}`]);
  });
});
