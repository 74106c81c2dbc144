/**
 * One client address cannot hold an unbounded number of long-lived connections: chat
 * sockets and server-sent event streams are capped per address (per node), and a slot is
 * given back when its connection ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient } from '../helpers/chat-client.ts';
import { createStreamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
let streamId: string;

beforeAll(async () => {
  server = await startTestServer({ config: { chat: { maxSocketsPerIp: 5 }, http: { maxEventStreamsPerIp: 5 } } });
  streamId = (await createStreamer(server.url, 'capped', 'caps')).streamId;
});
afterAll(async () => {
  await server?.stop();
});

function refusedUpgrade(): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/streams/${streamId}/chat`, ['glint-chat.v1']);
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    ws.once('error', () => {});
  });
}

describe('per-address caps', () => {
  it('caps chat sockets per address with 429, and frees a slot when a socket closes', async () => {
    const sockets = await Promise.all(Array.from({ length: 5 }, () => ChatClient.connect(server.url, streamId)));
    const refused = await refusedUpgrade();
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error.code).toBe('RATE_LIMITED');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    sockets[0]!.close();
    await until('a slot to be free', async () => {
      try {
        const again = await ChatClient.connect(server.url, streamId);
        sockets.push(again);
        return true;
      } catch {
        return undefined;
      }
    }, 5_000, 50);
    for (const s of sockets) s.close();
  });

  it('caps event streams per address with 429, and frees a slot when a stream is closed', async () => {
    const open = await Promise.all(Array.from({ length: 5 }, async () => {
      const ac = new AbortController();
      const res = await fetch(`${server.url}/streams/${streamId}/events`, { signal: ac.signal });
      expect(res.status).toBe(200);
      await res.body!.getReader().read(); // the first events arrived: the stream is open
      return ac;
    }));
    const refused = await fetch(`${server.url}/streams/${streamId}/events`);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe('RATE_LIMITED');
    open[0]!.abort();
    await until('a slot to be free', async () => {
      const r = await fetch(`${server.url}/streams/${streamId}/events`, { signal: AbortSignal.timeout(2_000) });
      if (r.status !== 200) return undefined;
      await r.body?.cancel();
      return true;
    }, 5_000, 50);
    for (const ac of open) ac.abort();
  });
});
