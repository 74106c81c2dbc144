/**
 * The chat WebSocket against a real server: what is accepted and delivered, every kind of
 * refusal with its own error event (the socket stays open, nothing is stored), the channel
 * rules, and moderation recorded in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { ChatClient } from '../helpers/chat-client.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
let call: ReturnType<typeof api>;
const clients: ChatClient[] = [];
let n = 0;

async function user(name: string) {
  const reg = await call('POST', '/auth/register', { json: { username: name, email: `${name}@example.com`, password: 'chatting all day long' } });
  return { id: reg.body.user.id as string, token: reg.body.accessToken as string, name };
}

async function streamOf(owner: { token: string }) {
  const s = await call('POST', '/streams', { token: owner.token, json: { title: `chat ${++n}` } });
  return s.body.stream.id as string;
}

async function connect(streamId: string, token?: string) {
  const c = await ChatClient.connect(server.url, streamId, token);
  clients.push(c);
  return c;
}

/** Rows of the stream once every accepted message is written (writes are batched). */
async function storedCount(streamId: string): Promise<number> {
  await until('the chat write queue to drain', async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    return /^glint_chat_write_queue_length 0$/m.test(metrics) ? true : undefined;
  }, 10_000, 50);
  const r = await server.app.db.db.execute(sql`select count(*)::int as n from chat_messages where stream_id = ${streamId}`);
  return Number((r as unknown as { rows: Array<{ n: number }> }).rows[0]!.n);
}

async function settle(ms = 150) {
  await new Promise((r) => setTimeout(r, ms));
}

beforeAll(async () => {
  server = await startTestServer({ config: { chat: { burst: 3, messagesPerSecond: 1 } } });
  call = api(server.url);
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  await server?.stop();
});

describe('chat socket', () => {
  it('delivers messages to everyone in the stream, acks the sender and keeps history for joiners', async () => {
    const owner = await user('chat_owner');
    const viewer = await user('chat_viewer');
    const streamId = await streamOf(owner);
    const a = await connect(streamId, owner.token);
    const b = await connect(streamId, viewer.token);
    const anon = await connect(streamId);
    a.send({ type: 'send', text: '  hello   <b>world</b>  ', nonce: 'x1' });
    const ack = await a.next('ack', (m) => m.nonce === 'x1');
    for (const c of [a, b, anon]) {
      const m = await c.next('message');
      expect(m.message).toMatchObject({ id: ack.id, text: 'hello <b>world</b>', role: 'streamer', user: { username: 'chat_owner' } });
    }
    b.send({ type: 'send', text: 'hi from the viewer' });
    expect((await anon.next('message')).message).toMatchObject({ text: 'hi from the viewer', role: 'viewer' });
    const history = await call('GET', `/streams/${streamId}/chat/messages`);
    expect(history.body.items.map((m: { text: string }) => m.text)).toEqual(['hello <b>world</b>', 'hi from the viewer']);
    const late = await connect(streamId);
    expect(late.welcome.history.map((m) => m.text)).toEqual(['hello <b>world</b>', 'hi from the viewer']);
    b.send({ type: 'react', emoji: '🔥' });
    expect((await a.next('reaction')).emoji).toBe('🔥');
  });

  it('sends the last 50 messages on join and pages older ones', async () => {
    const owner = await user('history_owner');
    const streamId = await streamOf(owner);
    const ids: number[] = [];
    // Written straight into the store: the rate limit is not the subject here.
    for (let i = 0; i < 60; i++) {
      const r = await server.app.db.db.execute(sql`insert into chat_messages (stream_id, user_id, message_text) values (${streamId}, ${owner.id}, ${`m${i}`}) returning id`);
      ids.push(Number((r as unknown as { rows: Array<{ id: number }> }).rows[0]!.id));
    }
    const joined = await ChatClient.connect(server.url, streamId);
    clients.push(joined);
    expect(joined.welcome.history).toHaveLength(50);
    expect(joined.welcome.history.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 10}`));
    expect(joined.welcome.history[0]).toMatchObject({ role: 'streamer', user: { username: 'history_owner' } });
    const page = await call('GET', `/streams/${streamId}/chat/messages?limit=50`);
    expect(page.body.items).toHaveLength(50);
    expect(page.body.items[0].text).toBe('m10');
    expect(page.body.items[49].text).toBe('m59');
    const older = await call('GET', `/streams/${streamId}/chat/messages?before=${page.body.nextBefore}&limit=50`);
    expect(older.body.items.map((m: { text: string }) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(older.body.nextBefore).toBeNull();
    expect((await call('GET', `/streams/${streamId}/chat/messages?before=abc`)).body.error.code).toBe('INVALID_QUERY');
  });

  it('refuses bad frames and forbidden sends, each with its own error, storing nothing', async () => {
    const owner = await user('rules_owner');
    const troll = await user('rules_troll');
    const streamId = await streamOf(owner);
    const anon = await connect(streamId);
    const t = await connect(streamId, troll.token);
    const o = await connect(streamId, owner.token);

    await anon.expectError({ type: 'send', text: 'hello?' }, 'UNAUTHENTICATED');
    await anon.expectError('{"type": "send", ', 'MALFORMED_FRAME');
    anon.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
    await anon.next('error', (e) => e.code === 'BINARY_NOT_SUPPORTED');
    await anon.expectError({ type: 'launch-missiles' }, 'UNKNOWN_TYPE');
    await anon.expectError([1, 2, 3], 'UNKNOWN_TYPE');
    await anon.expectError({ type: 'send', text: 42 }, 'INVALID_MESSAGE');
    await anon.expectError({ type: 'send', text: 'x', extra: true }, 'INVALID_MESSAGE');
    await t.expectError({ type: 'send', text: 'x'.repeat(501) }, 'MESSAGE_TOO_LONG');
    await t.expectError({ type: 'send', text: '   \u0000  ' }, 'MESSAGE_EMPTY');
    await t.expectError({ type: 'react', emoji: '💩' }, 'NOT_A_REACTION');
    await t.expectError({ type: 'delete', messageId: 1 }, 'NOT_A_MODERATOR');
    await t.expectError({ type: 'ban', userId: owner.id }, 'NOT_A_MODERATOR');

    // Flood: a burst of 3, then refusals with a wait; the socket stays open.
    for (let i = 0; i < 6; i++) t.send({ type: 'send', text: `flood ${i}`, nonce: `f${i}` });
    const limited = await t.next('error', (e) => e.code === 'RATE_LIMITED');
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.nonce).toMatch(/^f[3-5]$/);
    await settle(300);
    expect(t.closed).toBe(false);
    expect(await storedCount(streamId)).toBe(3);

    // Banned and timed out users are told so.
    o.send({ type: 'timeout', userId: troll.id, seconds: 60, reason: 'calm down', nonce: 'to' });
    await o.next('ack', (m) => m.nonce === 'to');
    const mod = await t.next('moderation');
    expect(mod).toMatchObject({ action: 'timeout', user: { id: troll.id }, reason: 'calm down' });
    await settle(1100);
    const timedOut = await t.expectError({ type: 'send', text: 'let me talk' }, 'TIMED_OUT');
    expect(timedOut.retryAfterMs).toBeGreaterThan(50_000);
    // Told on joining too, before sending anything (a reload, a second tab).
    const rejoined = await connect(streamId, troll.token);
    expect(rejoined.welcome.restriction?.code).toBe('TIMED_OUT');
    expect(Date.parse(rejoined.welcome.restriction!.until!) - Date.now()).toBeGreaterThan(50_000);
    expect(anon.welcome.restriction).toBeNull();
    rejoined.close();
    o.send({ type: 'ban', userId: troll.id, nonce: 'b' });
    await o.next('ack', (m) => m.nonce === 'b');
    await t.next('moderation', (m) => m.action === 'ban');
    await t.expectError({ type: 'send', text: 'still here' }, 'BANNED');
    await t.expectError({ type: 'react', emoji: '👍' }, 'BANNED');
    expect(await storedCount(streamId)).toBe(3);
    const banned = await connect(streamId, troll.token);
    expect(banned.welcome.restriction).toEqual({ code: 'BANNED', until: null });
    banned.close();
    o.send({ type: 'unban', userId: troll.id, nonce: 'u' });
    await o.next('ack', (m) => m.nonce === 'u');
    await t.next('moderation', (m) => m.action === 'unban');
    await settle(1100);
    t.send({ type: 'send', text: 'sorry', nonce: 's' });
    await t.next('ack', (m) => m.nonce === 's');
    const forgiven = await connect(streamId, troll.token);
    expect(forgiven.welcome.restriction).toBeNull();
    forgiven.close();

    // Oversized frames (above the 16 KiB frame limit) close that socket only, with 1009 as documented.
    const big = await connect(streamId);
    big.ws.send('x'.repeat(17 * 1024));
    await until('the oversized socket to close', () => big.closed || undefined, 5000, 20);
    expect(big.closeCode).toBe(1009);
    expect(anon.closed).toBe(false);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('applies slow mode, followers-only, subscribers-only, banned words and the duplicate filter to viewers only', async () => {
    const owner = await user('mode_owner');
    const fan = await user('mode_fan');
    const streamId = await streamOf(owner);
    const o = await connect(streamId, owner.token);
    const f = await connect(streamId, fan.token);
    const setSettings = async (json: unknown) => {
      const r = await call('PATCH', `/streams/${streamId}/chat/settings`, { token: owner.token, json });
      expect(r.status).toBe(200);
      await f.next('settings');
    };
    expect((await call('PATCH', `/streams/${streamId}/chat/settings`, { token: fan.token, json: { slowModeSeconds: 5 } })).body.error.code).toBe('NOT_STREAM_OWNER');

    await setSettings({ bannedWords: ['Spoiler'] });
    await f.expectError({ type: 'send', text: 'huge SPOILER ahead' }, 'BANNED_WORD');
    f.send({ type: 'send', text: 'same text', nonce: 'd1' });
    await f.next('ack', (m) => m.nonce === 'd1');
    await f.expectError({ type: 'send', text: 'Same   TEXT' }, 'DUPLICATE_MESSAGE');

    await setSettings({ slowModeSeconds: 30 });
    const slow = await f.expectError({ type: 'send', text: 'too soon' }, 'SLOW_MODE');
    expect(slow.retryAfterMs).toBeGreaterThan(20_000);
    o.send({ type: 'send', text: 'the streamer is not slowed', nonce: 'o1' });
    await o.next('ack', (m) => m.nonce === 'o1');
    await setSettings({ slowModeSeconds: 0, followersOnly: true });
    await f.expectError({ type: 'send', text: 'not a follower yet' }, 'FOLLOWERS_ONLY');
    expect((await call('PUT', `/users/${owner.id}/follow`, { token: fan.token })).status).toBe(204);
    // Follows are read when the socket authenticates: reconnect.
    const f2 = await connect(streamId, fan.token);
    f2.send({ type: 'send', text: 'now I follow', nonce: 'fo' });
    await f2.next('ack', (m) => m.nonce === 'fo');
    await setSettings({ followersOnly: false, subscribersOnly: true });
    await f2.expectError({ type: 'send', text: 'not subscribed' }, 'SUBSCRIBERS_ONLY');
    const settings = await call('GET', `/streams/${streamId}/chat/settings`);
    expect(settings.body.settings).toEqual({ slowModeSeconds: 0, subscribersOnly: true, followersOnly: false, bannedWords: ['spoiler'] });
  });

  it('lets moderators delete messages for everyone and records every action', async () => {
    const owner = await user('mod_owner');
    const mod = await user('mod_mod');
    const viewer = await user('mod_viewer');
    const streamId = await streamOf(owner);
    expect((await call('PUT', `/streams/${streamId}/chat/moderators/${mod.id}`, { token: viewer.token })).status).toBe(403);
    expect((await call('PUT', `/streams/${streamId}/chat/moderators/${mod.id}`, { token: owner.token })).status).toBe(204);
    const m = await connect(streamId, mod.token);
    expect(m.received.length).toBe(0);
    const v = await connect(streamId, viewer.token);
    const o = await connect(streamId, owner.token);
    v.send({ type: 'send', text: 'delete me', nonce: 'dm' });
    const { id } = await v.next('ack', (a) => a.nonce === 'dm');
    m.send({ type: 'delete', messageId: id!, nonce: 'del' });
    await m.next('ack', (a) => a.nonce === 'del');
    for (const c of [m, v, o]) expect(await c.next('deleted')).toMatchObject({ messageId: id, by: { username: 'mod_mod' } });
    await m.expectError({ type: 'delete', messageId: id }, 'MESSAGE_NOT_FOUND');
    await m.expectError({ type: 'ban', userId: owner.id }, 'CANNOT_MODERATE_USER');
    const history = await call('GET', `/streams/${streamId}/chat/messages`);
    expect(history.body.items.map((x: { id: number }) => x.id)).not.toContain(id);
    const rejoined = await ChatClient.connect(server.url, streamId);
    clients.push(rejoined);
    expect(rejoined.welcome.history.map((x) => x.id)).not.toContain(id);
    m.send({ type: 'timeout', userId: viewer.id, seconds: 10, nonce: 'tv' });
    await m.next('ack', (a) => a.nonce === 'tv');
    const log = await call('GET', `/streams/${streamId}/chat/moderation-log`, { token: owner.token });
    expect(log.body.items.map((a: { action: string; actor: { username: string } }) => `${a.action}:${a.actor.username}`)).toEqual(['timeout:mod_mod', 'delete_message:mod_mod', 'add_moderator:mod_owner']);
    expect((await call('GET', `/streams/${streamId}/chat/moderation-log`, { token: viewer.token })).body.error.code).toBe('NOT_A_MODERATOR');
    const bans = await call('GET', `/streams/${streamId}/chat/bans`, { token: mod.token });
    expect(bans.body.items.map((b: { username: string }) => b.username)).toEqual(['mod_viewer']);
    expect((await call('DELETE', `/streams/${streamId}/chat/moderators/${mod.id}`, { token: owner.token })).status).toBe(204);
    expect((await m.next('moderators')).userIds).toEqual([]);
    await m.expectError({ type: 'unban', userId: viewer.id }, 'NOT_A_MODERATOR');
  });

  it('accepts a fresh token on an open socket, and reports an expired one', async () => {
    const owner = await user('token_owner');
    const streamId = await streamOf(owner);
    const secret = JSON.parse(readFileSync(join(server.dataDir, 'secrets.json'), 'utf8')).jwtSecret as string;
    const token = (userId: string, expiresIn: number) =>
      new SignJWT({ typ: 'access', name: owner.name })
        .setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuer('glint').setAudience('glint-api')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
        .sign(new TextEncoder().encode(secret));
    // A well-signed token of an account that is gone: still welcomed, as a guest, and told why.
    const orphan = await connect(streamId, await token('00000000-0000-4000-8000-000000000000', 600));
    expect(orphan.welcome.user).toBeNull();
    await orphan.next('error', (e) => e.code === 'TOKEN_INVALID');
    const c = await connect(streamId, await token(owner.id, -10));
    await c.next('error', (e) => e.code === 'TOKEN_EXPIRED');
    await c.expectError({ type: 'send', text: 'hi' }, 'UNAUTHENTICATED');
    await c.expectError({ type: 'auth', token: 'garbage' }, 'TOKEN_INVALID');
    c.send({ type: 'auth', token: owner.token });
    expect(await c.next('authenticated')).toMatchObject({ user: { id: owner.id }, role: 'streamer' });
    c.send({ type: 'send', text: 'back in', nonce: 'bi' });
    await c.next('ack', (a) => a.nonce === 'bi');
  });

  it('refuses the upgrade for an unknown stream and answers plain GETs with 426', async () => {
    await expect(ChatClient.connect(server.url, '00000000-0000-4000-8000-000000000000')).rejects.toThrow(/404/);
    const owner = await user('plain_owner');
    const streamId = await streamOf(owner);
    const res = await call('GET', `/streams/${streamId}/chat`);
    expect(res.status).toBe(426);
    expect(res.body.error.code).toBe('UPGRADE_REQUIRED');
  });
});
