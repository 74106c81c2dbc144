/**
 * Every kind of answer leaves a keep-alive connection usable, and its framing headers follow
 * RFC 9110: no Content-Length on 204, HEAD announces what GET would send. A strict client
 * (Node's http with one socket) sends everything below over a single connection.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let agent: http.Agent;
let streamId: string;
const sockets = new Set<unknown>();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers: options.headers, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('socket', (s) => sockets.add(s));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  server = await startTestServer();
  streamId = (await createStreamer(server.url, 'keeper', 'keep-alive')).streamId;
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});

afterAll(async () => {
  agent?.destroy();
  await server?.stop();
});

describe('keep-alive connections', () => {
  it('survive 200, 201, 204, 304, HEAD and 4xx answers, with RFC 9110 framing', async () => {
    const kinds: Array<[string, () => Promise<void>]> = [
      ['GET 200', async () => {
        const r = await request('GET', '/healthz');
        expect(r.status).toBe(200);
        expect(Number(r.headers['content-length'])).toBe(r.body.length);
      }],
      ['OPTIONS 204 (WHIP discovery)', async () => {
        const r = await request('OPTIONS', '/whip');
        expect(r.status).toBe(204);
        expect(r.headers['content-length']).toBeUndefined();
        expect(r.body.length).toBe(0);
      }],
      ['OPTIONS 204 (CORS preflight)', async () => {
        const r = await request('OPTIONS', '/streams', { headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
        expect(r.status).toBe(204);
        expect(r.headers['content-length']).toBeUndefined();
      }],
      ['POST 201', async () => {
        const body = JSON.stringify({ username: `ka${Math.random().toString(36).slice(2, 10)}`, email: `ka${Math.random().toString(36).slice(2, 10)}@example.com`, password: 'orange river stone' });
        const r = await request('POST', '/auth/register', { headers: { 'content-type': 'application/json' }, body });
        expect(r.status).toBe(201);
        expect(Number(r.headers['content-length'])).toBe(r.body.length);
      }],
      ['POST 204 (logout)', async () => {
        const r = await request('POST', '/auth/logout', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: 'glint_rt_unknown' }) });
        expect(r.status).toBe(204);
        expect(r.headers['content-length']).toBeUndefined();
      }],
      ['HEAD of a page', async () => {
        const get = await request('GET', '/');
        const head = await request('HEAD', '/');
        expect(head.status).toBe(200);
        expect(head.body.length).toBe(0);
        expect(head.headers['content-length']).toBe(String(get.body.length));
        expect(head.headers['content-type']).toBe(get.headers['content-type']);
      }],
      ['HEAD of an API route', async () => {
        const get = await request('GET', `/streams/${streamId}/vods`);
        const head = await request('HEAD', `/streams/${streamId}/vods`);
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(get.body.length));
      }],
      ['HEAD /whep (player probe)', async () => {
        const r = await request('HEAD', `/whep/${streamId}`);
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toBe('application/sdp');
      }],
      ['GET 304', async () => {
        const first = await request('GET', '/');
        const etag = first.headers.etag;
        expect(etag).toBeTruthy();
        const r = await request('GET', '/', { headers: { 'if-none-match': etag! } });
        expect(r.status).toBe(304);
        expect(r.body.length).toBe(0);
      }],
      ['404', async () => {
        const r = await request('GET', '/streams/00000000-0000-4000-8000-000000000000');
        expect(r.status).toBe(404);
        expect(JSON.parse(r.body.toString()).error.code).toBe('STREAM_NOT_FOUND');
      }],
      ['HEAD 404', async () => {
        const r = await request('HEAD', '/streams/00000000-0000-4000-8000-000000000000');
        expect(r.status).toBe(404);
        expect(r.body.length).toBe(0);
      }],
      ['401', async () => {
        const r = await request('GET', '/users/me');
        expect(r.status).toBe(401);
      }],
    ];
    // Every kind after every other kind, twice round, on the one socket.
    for (let round = 0; round < 2; round++) {
      for (const [name, check] of kinds) {
        await check().catch((err) => {
          throw new Error(`${name} (round ${round + 1}): ${(err as Error).message}`);
        });
      }
    }
    expect(sockets.size).toBe(1);
  });
});
