/**
 * Headers that protect browsers: HSTS only on requests that came over TLS (here: through a
 * trusted proxy that says so), and a CSP whose connect-src names our own origins only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let proxied: TestServer;
let direct: TestServer;

beforeAll(async () => {
  [proxied, direct] = await Promise.all([
    startTestServer({ config: { http: { trustProxy: true, publicUrl: 'https://live.example.com' } } }),
    startTestServer(),
  ]);
});
afterAll(async () => {
  await Promise.all([proxied?.stop(), direct?.stop()]);
});

describe('security headers', () => {
  it('sends HSTS when a trusted proxy says the request came over TLS, and only then', async () => {
    const tls = await fetch(`${proxied.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(tls.headers.get('strict-transport-security')).toMatch(/^max-age=31536000/);
    const plain = await fetch(`${proxied.url}/healthz`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    // Without a trusted proxy the header is the client's word: ignored.
    const forged = await fetch(`${direct.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(forged.headers.get('strict-transport-security')).toBeNull();
  });

  it('lets pages connect to their own origin (HTTP and WebSocket) and PUBLIC_URL, nowhere else', async () => {
    const page = await fetch(`${proxied.url}/`, { headers: { 'x-forwarded-proto': 'https' } });
    const connect = /connect-src ([^;]+)/.exec(page.headers.get('content-security-policy')!)![1]!.split(' ');
    const host = new URL(proxied.url).host;
    // Our origin as the browser used it (https through the proxy) and PUBLIC_URL, each also as a WebSocket origin.
    expect(connect.sort()).toEqual(["'self'", 'https://live.example.com', 'wss://live.example.com', `https://${host}`, `wss://${host}`].sort());

    const local = await fetch(`${direct.url}/`);
    const port = new URL(direct.url).port;
    const localConnect = /connect-src ([^;]+)/.exec(local.headers.get('content-security-policy')!)![1]!.split(' ');
    expect(localConnect.sort()).toEqual(["'self'", `http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`].sort());
  });
});
