/**
 * Chat messages are kept: across a server restart (embedded PGlite on disk), and while
 * PostgreSQL is briefly slow or failing (messages are delivered at once and written once
 * the database is back).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { ChatClient } from '../helpers/chat-client.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function setup(server: TestServer, name: string) {
  const call = api(server.url);
  const reg = await call('POST', '/auth/register', { json: { username: name, email: `${name}@example.com`, password: 'keep every word said' } });
  const s = await call('POST', '/streams', { token: reg.body.accessToken, json: { title: name } });
  return { call, token: reg.body.accessToken as string, streamId: s.body.stream.id as string };
}

it('keeps messages across a restart on embedded PGlite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'glint-chat-restart-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestServer({ dataDir });
  const { token, streamId } = await setup(first, 'restart_owner');
  const c = await ChatClient.connect(first.url, streamId, token);
  for (let i = 0; i < 3; i++) {
    c.send({ type: 'send', text: `before restart ${i}`, nonce: `n${i}` });
    await c.next('ack', (m) => m.nonce === `n${i}`);
  }
  c.close();
  await first.stop();

  const second = await startTestServer({ dataDir });
  cleanup.push(() => second.stop());
  const again = await ChatClient.connect(second.url, streamId);
  again.close();
  expect(again.welcome.history.map((m) => m.text)).toEqual(['before restart 0', 'before restart 1', 'before restart 2']);
  const page = await api(second.url)('GET', `/streams/${streamId}/chat/messages`);
  expect(page.body.items.map((m: { text: string }) => m.text)).toEqual(['before restart 0', 'before restart 1', 'before restart 2']);
}, 60_000);

it('delivers while PostgreSQL is slow or failing, and writes everything once it is back', async () => {
  const server = await startTestServer({ db: 'postgres', config: { chat: { burst: 50 } } });
  cleanup.push(() => server.stop());
  const { token, streamId } = await setup(server, 'slow_owner');
  const sender = await ChatClient.connect(server.url, streamId, token);
  const reader = await ChatClient.connect(server.url, streamId);
  cleanup.push(() => {
    sender.close();
    reader.close();
  });
  const admin = new pg.Client({ connectionString: server.databaseUrl });
  await admin.connect();
  cleanup.push(() => admin.end());
  const count = async () => Number((await admin.query('select count(*)::int as n from chat_messages where stream_id = $1', [streamId])).rows[0].n);

  // Slow: the table is locked, inserts wait; messages are still delivered at once.
  await admin.query('begin');
  await admin.query('lock table chat_messages in access exclusive mode');
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) sender.send({ type: 'send', text: `slow ${i}` });
  for (let i = 0; i < 10; i++) expect((await reader.next('message')).message.text).toBe(`slow ${i}`);
  expect(Date.now() - t0).toBeLessThan(2000);
  await new Promise((r) => setTimeout(r, 500));
  await admin.query('commit');

  // Failing: the table is gone for a moment; writes fail and are retried.
  await admin.query('alter table chat_messages rename to chat_messages_away');
  for (let i = 0; i < 10; i++) sender.send({ type: 'send', text: `failing ${i}` });
  for (let i = 0; i < 10; i++) expect((await reader.next('message')).message.text).toBe(`failing ${i}`);
  await new Promise((r) => setTimeout(r, 800));
  const during = await (await fetch(`${server.url}/metrics`)).text();
  expect(Number(/glint_chat_write_failures_total (\d+)/.exec(during)?.[1])).toBeGreaterThan(0);
  expect(Number(/glint_chat_write_queue_length (\d+)/.exec(during)?.[1])).toBe(10);
  await admin.query('alter table chat_messages_away rename to chat_messages');

  const end = Date.now() + 15_000;
  while ((await count()) < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  expect(await count()).toBe(20);
  const texts = (await admin.query('select message_text from chat_messages where stream_id = $1 order by id', [streamId])).rows.map((r) => r.message_text);
  expect(texts).toEqual([...Array.from({ length: 10 }, (_, i) => `slow ${i}`), ...Array.from({ length: 10 }, (_, i) => `failing ${i}`)]);
  const after = await (await fetch(`${server.url}/metrics`)).text();
  expect(after).toMatch(/glint_chat_messages_shed_total 0/);
}, 60_000);

it('sheds the oldest unwritten messages beyond the queue bound, with a metric and a log line', async () => {
  const server = await startTestServer({ db: 'postgres', config: { chat: { burst: 500, writeQueueMax: 100, duplicateWindowSeconds: 0 } } });
  cleanup.push(() => server.stop());
  const { token, streamId } = await setup(server, 'shed_owner');
  const sender = await ChatClient.connect(server.url, streamId, token);
  cleanup.push(() => sender.close());
  const admin = new pg.Client({ connectionString: server.databaseUrl });
  await admin.connect();
  cleanup.push(() => admin.end());
  await admin.query('alter table chat_messages rename to chat_messages_away');
  // In batches under the per-socket frame limit (60 frames/s, 32 waiting).
  for (let i = 0; i < 130; i += 26) {
    for (let j = i; j < Math.min(130, i + 26); j++) sender.send({ type: 'send', text: `m${j}`, nonce: `n${j}` });
    for (let j = i; j < Math.min(130, i + 26); j++) await sender.next('ack', (m) => m.nonce === `n${j}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  expect(Number(/glint_chat_messages_shed_total (\d+)/.exec(metrics)?.[1])).toBe(30);
  expect(server.logs()).toContain('chat write queue full: oldest unwritten messages shed');
  await admin.query('alter table chat_messages_away rename to chat_messages');
  const end = Date.now() + 15_000;
  const count = async () => Number((await admin.query('select count(*)::int as n from chat_messages where stream_id = $1', [streamId])).rows[0].n);
  while ((await count()) < 100 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  const texts = (await admin.query('select message_text from chat_messages where stream_id = $1 order by id', [streamId])).rows.map((r) => r.message_text);
  expect(texts).toEqual(Array.from({ length: 100 }, (_, i) => `m${i + 30}`));
}, 60_000);
