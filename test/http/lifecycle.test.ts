/**
 * Health, readiness, metrics and graceful drain of a real server instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { until } from '../helpers/wait.ts';
import { connect } from 'node:net';
import { once } from 'node:events';

describe('server lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers health and readiness, and reports HTTP metrics by route and status', async () => {
    const call = api(server.url);
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    await call('POST', '/auth/login', { json: { login: 'ghost', password: 'nope nope nope' } });
    const metrics = await call('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/glint_http_requests_total\{method="POST",route="\/auth\/login",status="401"\} 1/);
    expect(metrics.text).toMatch(/glint_http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/readyz"\} 1/);
    expect(metrics.text).toContain('glint_process_cpu_user_seconds_total');
  });

  it('sets request ids, security headers and CORS on every answer', async () => {
    const res = await fetch(`${server.url}/streams/live`, { headers: { origin: 'https://elsewhere.example', 'x-request-id': 'my-trace-1' } });
    expect(res.headers.get('x-request-id')).toBe('my-trace-1');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    const generated = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const preflight = await fetch(`${server.url}/streams`, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('serves the web client for non-API paths and JSON 404s for API paths', async () => {
    const page = await fetch(`${server.url}/me/streams`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toMatch(/<html|<!doctype/i);
    const api404 = await fetch(`${server.url}/streams/a/b/c`);
    expect(api404.status).toBe(404);
    expect((await api404.json()).error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('shows PUBLIC_URL in WHIP URLs when it is configured, whatever address was used', async () => {
    const own = await startTestServer({ config: { http: { publicUrl: 'https://live.example.com/' } } });
    try {
      const call = api(own.url);
      const reg = await call('POST', '/auth/register', { json: { username: 'public', email: 'public@example.com', password: 'lighthouse keeper 3' } });
      const created = await call('POST', '/streams', { token: reg.body.accessToken, json: { title: 'x' } });
      expect(created.body.stream.ingestUrl).toBe('https://live.example.com/whip');
      const key = await call('GET', `/streams/${created.body.stream.id}/key`, { token: reg.body.accessToken });
      expect(key.body.ingestUrl).toBe('https://live.example.com/whip');
    } finally {
      await own.stop();
    }
  });

  it('finishes requests in flight when draining, then refuses new connections', async () => {
    const own = await startTestServer();
    const call = api(own.url);
    const inflight = Array.from({ length: 4 }, (_, i) =>
      call('POST', '/auth/register', { json: { username: `drain${i}`, email: `drain${i}@example.com`, password: 'orange juice daily' } }),
    );
    // In flight = arrived at the server (a fixed pause is not enough on a loaded machine).
    await until('the 4 registrations to be in flight', () => (own.app.http.inflightRequests >= 4 ? true : undefined), 10_000, 5);
    const stopped = own.stop();
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    await stopped;
    await expect(fetch(`${own.url}/healthz`)).rejects.toThrow();
  });

  it('answers 503 to a request that arrives after the drain on a connection opened before it', async () => {
    const own = await startTestServer();
    const socket = connect(Number(new URL(own.url).port), '127.0.0.1');
    await once(socket, 'connect');
    await own.app.drain();
    const reply = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve(text));
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const text = await reply;
    await own.stop();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/retry-after: 1/i);
    expect(text).toContain('"code":"SERVICE_UNAVAILABLE"');
  });
});
