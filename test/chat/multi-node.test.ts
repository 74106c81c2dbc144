/**
 * Two Glint nodes sharing PostgreSQL and Redis: chat sent on one node reaches sockets on
 * both, exactly once per socket and in order per sender; moderation and audience counts
 * are the same everywhere.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { uniquePrefix } from '../helpers/services.ts';
import { api } from '../helpers/http.ts';
import { ChatClient } from '../helpers/chat-client.ts';

let a: TestServer;
let b: TestServer;
const clients: ChatClient[] = [];

beforeAll(async () => {
  const shared = {
    redis: { keyPrefix: uniquePrefix('multi') },
    auth: { jwtSecret: randomBytes(32).toString('base64url') },
    streams: { keyEncryptionKey: randomBytes(32).toString('base64') },
    chat: { burst: 50 },
    cluster: { secret: randomBytes(32).toString('base64url') },
  };
  a = await startTestServer({ db: 'postgres', redis: true, config: shared });
  b = await startTestServer({ databaseUrl: a.databaseUrl, redis: true, config: shared });
  expect(a.app.bus.kind).toBe('redis');
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  await b?.stop();
  await a?.stop();
});

async function connect(server: TestServer, streamId: string, token?: string) {
  const c = await ChatClient.connect(server.url, streamId, token);
  clients.push(c);
  return c;
}

it('delivers every message once to every socket on both nodes, in order per sender', async () => {
  const callA = api(a.url);
  const callB = api(b.url);
  const owner = await callA('POST', '/auth/register', { json: { username: 'node_owner', email: 'node_owner@example.com', password: 'two nodes one chat' } });
  const guest = await callB('POST', '/auth/register', { json: { username: 'node_guest', email: 'node_guest@example.com', password: 'two nodes one chat' } });
  const stream = await callA('POST', '/streams', { token: owner.body.accessToken, json: { title: 'multi-node' } });
  const streamId = stream.body.stream.id;

  const senderA = await connect(a, streamId, owner.body.accessToken);
  const senderB = await connect(b, streamId, guest.body.accessToken);
  const readers = [await connect(a, streamId), await connect(a, streamId), await connect(b, streamId), await connect(b, streamId)];

  for (let i = 0; i < 25; i++) {
    senderA.send({ type: 'send', text: `a${i}` });
    senderB.send({ type: 'send', text: `b${i}` });
  }
  for (const c of [...readers, senderA, senderB]) {
    const got: string[] = [];
    while (got.length < 50) got.push((await c.next('message')).message.text);
    expect(got.filter((t) => t.startsWith('a'))).toEqual(Array.from({ length: 25 }, (_, i) => `a${i}`));
    expect(got.filter((t) => t.startsWith('b'))).toEqual(Array.from({ length: 25 }, (_, i) => `b${i}`));
  }
  // Exactly once: nothing more arrives.
  await new Promise((r) => setTimeout(r, 300));
  for (const c of readers) expect(c.received.filter((m) => m.type === 'message')).toEqual([]);

  // Every node sees all six sockets.
  for (const c of [readers[0]!, readers[3]!]) {
    const v = await c.next('viewers', (m) => m.viewers.chat === 6, 8000);
    expect(v.viewers).toEqual({ chat: 6, webrtc: 0 });
  }

  // Moderation made on one node applies on the other.
  senderA.send({ type: 'ban', userId: guest.body.user.id, nonce: 'ban' });
  await senderA.next('ack', (m) => m.nonce === 'ban');
  await senderB.next('moderation', (m) => m.action === 'ban');
  await senderB.expectError({ type: 'send', text: 'from node B' }, 'BANNED');

  // History is the same on both nodes.
  const historyA = await callA('GET', `/streams/${streamId}/chat/messages?limit=100`);
  const historyB = await callB('GET', `/streams/${streamId}/chat/messages?limit=100`);
  expect(historyA.body.items).toHaveLength(50);
  expect(historyB.body.items.map((m: { id: number }) => m.id)).toEqual(historyA.body.items.map((m: { id: number }) => m.id));
}, 60_000);
