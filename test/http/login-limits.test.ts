/**
 * Password guessing and mass sign-ups against real servers behind a (simulated) trusted
 * proxy, so requests can come from several client addresses: X-Forwarded-For as a proxy
 * writes it, the right-most hop being the address the proxy saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { uniquePrefix } from '../helpers/services.ts';

let server: TestServer;
let call: ReturnType<typeof api>;

const from = (ip: string, forged = '') => ({ 'x-forwarded-for': forged ? `${forged}, ${ip}` : ip });
const login = (c: ReturnType<typeof api>, who: string, password: string, ip: string, forged = '') =>
  c('POST', '/auth/login', { json: { login: who, password }, headers: from(ip, forged) });

async function register(c: ReturnType<typeof api>, username: string, ip = '192.0.2.250') {
  const r = await c('POST', '/auth/register', { json: { username, email: `${username}@example.com`, password: "violet harbour lanterns" }, headers: from(ip) });
  expect(r.status).toBe(201);
}

beforeAll(async () => {
  server = await startTestServer({
    config: { http: { trustProxy: true }, auth: { loginMaxFailuresPerAccount: 5, loginMaxFailuresPerIp: 1000, loginAccountBackoffAfter: 1000 } },
  });
  call = api(server.url);
});
afterAll(async () => {
  await server?.stop();
});

describe('login limits', () => {
  it('counts concurrent guesses before hashing: of 40 at once, 5 are checked and 35 refused', async () => {
    await register(call, 'target');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => login(call, 'target', `guess number ${i}`, '198.51.100.1')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    expect(Number(results.find((r) => r.status === 429)!.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('keys the account by the account, whichever way its login is spelt', async () => {
    await register(call, 'spelt');
    for (const who of ['spelt', 'SPELT', 'spelt@example.com', 'Spelt@Example.com', 'sPeLt']) {
      expect((await login(call, who, 'wrong words here', '198.51.100.2')).status).toBe(401);
    }
    expect((await login(call, 'spelt@EXAMPLE.com', 'violet harbour lanterns', '198.51.100.2')).status).toBe(429);
  });

  it('does not let a stranger lock the owner out: the guesser waits, the owner from elsewhere signs in', async () => {
    await register(call, 'owner');
    for (let i = 0; i < 5; i++) expect((await login(call, 'owner', `guess ${i}`, '203.0.113.66')).status).toBe(401);
    expect((await login(call, 'owner', 'violet harbour lanterns', '203.0.113.66')).status).toBe(429);
    expect((await login(call, 'owner', 'violet harbour lanterns', '198.51.100.3')).status).toBe(200);
  });

  it('reads the client from the right-most forwarded hop: a forged left-most one changes nothing', async () => {
    await register(call, 'forgery');
    for (let i = 0; i < 5; i++) expect((await login(call, 'forgery', `guess ${i}`, '203.0.113.77', `10.9.8.${i}`)).status).toBe(401);
    expect((await login(call, 'forgery', 'guess again', '203.0.113.77', '10.9.8.200')).status).toBe(429);
  });

  it('backs the account off after many failures from many addresses, except for addresses it signed in from', async () => {
    const own = await startTestServer({ config: { http: { trustProxy: true }, auth: { loginMaxFailuresPerAccount: 5, loginAccountBackoffAfter: 6 } } });
    try {
      const c = api(own.url);
      await register(c, 'famous');
      expect((await login(c, 'famous', 'violet harbour lanterns', '198.51.100.10')).status).toBe(200); // the owner's home
      for (const ip of ['203.0.113.1', '203.0.113.2']) {
        for (let i = 0; i < 3; i++) expect((await login(c, 'famous', `guess ${i}`, ip)).status).toBe(401);
      }
      // Failure 7 (> 6) from a third address: the account now waits (1 s, doubling).
      expect((await login(c, 'famous', 'guess 7', '203.0.113.3')).status).toBe(401);
      const held = await login(c, 'famous', 'violet harbour lanterns', '203.0.113.4');
      expect(held.status).toBe(429);
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await login(c, 'famous', 'violet harbour lanterns', '198.51.100.10')).status).toBe(200);
    } finally {
      await own.stop();
    }
  });

  it('enforces one limit across nodes sharing Redis', async () => {
    const keyPrefix = uniquePrefix('login');
    const config = { http: { trustProxy: true }, redis: { keyPrefix }, auth: { loginMaxFailuresPerAccount: 5 }, cluster: { secret: 'a cluster secret of at least thirty-two characters' } };
    const a = await startTestServer({ db: 'postgres', redis: true, config });
    const b = await startTestServer({ redis: true, databaseUrl: a.databaseUrl, config });
    try {
      const ca = api(a.url);
      const cb = api(b.url);
      await register(ca, 'clustered');
      const tries = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => login(i % 2 ? cb : ca, 'clustered', `guess ${i}`, '198.51.100.20')));
      expect(tries.map((r) => r.status).filter((s) => s === 401)).toHaveLength(5);
      expect((await login(cb, 'clustered', 'violet harbour lanterns', '198.51.100.20')).status).toBe(429);
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});

describe('sign-up limits', () => {
  it('refuses more new accounts from one address than the limit, with Retry-After', async () => {
    const own = await startTestServer({ config: { http: { trustProxy: true }, auth: { registerMaxPerIp: 3 } } });
    try {
      const c = api(own.url);
      for (let i = 0; i < 3; i++) await register(c, `newbie${i}`, '198.51.100.30');
      const refused = await c('POST', '/auth/register', { json: { username: 'newbie3', email: 'newbie3@example.com', password: 'violet harbour lanterns' }, headers: from('198.51.100.30') });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      await register(c, 'elsewhere', '198.51.100.31');
    } finally {
      await own.stop();
    }
  });
});
