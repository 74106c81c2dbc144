/**
 * Every client mistake gets a 4xx with a stable code, and nothing the client sends makes
 * the server answer 500 or fall over.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';

let server: TestServer;
let call: ReturnType<typeof api>;
let alice: { token: string; id: string; streamId: string };
let bob: { token: string };

beforeAll(async () => {
  server = await startTestServer({ config: { http: { bodyLimitBytes: 4096 }, auth: { loginMaxFailuresPerAccount: 3 } } });
  call = api(server.url);
  const a = await call('POST', '/auth/register', { json: { username: 'alice', email: 'alice@example.com', password: 'tulips in spring 7' } });
  const s = await call('POST', '/streams', { token: a.body.accessToken, json: { title: "alice's stream" } });
  alice = { token: a.body.accessToken, id: a.body.user.id, streamId: s.body.stream.id };
  const b = await call('POST', '/auth/register', { json: { username: 'bob', email: 'bob@example.com', password: 'mountain river 99' } });
  bob = { token: b.body.accessToken };
});
afterAll(async () => {
  await server?.stop();
});

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.body.error.message).toEqual(expect.any(String));
}

describe('request shape', () => {
  it('refuses malformed JSON with INVALID_JSON', async () => {
    expectError(await call('POST', '/auth/login', { body: '{"login": "x", ', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON');
  });

  it('refuses a body over the limit with BODY_TOO_LARGE, with and without Content-Length', async () => {
    const big = JSON.stringify({ login: 'x'.repeat(10_000), password: 'y' });
    expectError(await call('POST', '/auth/login', { body: big, headers: { 'content-type': 'application/json' } }), 413, 'BODY_TOO_LARGE');
    // Chunked upload: the limit is enforced while reading.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/auth/login`, { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('BODY_TOO_LARGE');
    // The server keeps answering afterwards.
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('lists missing, unknown and wrongly typed fields in VALIDATION_FAILED details', async () => {
    const missing = await call('POST', '/auth/register', { json: { username: 'carol' } });
    expectError(missing, 400, 'VALIDATION_FAILED');
    expect(missing.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['email', 'password']);

    const extra = await call('POST', '/auth/register', { json: { username: 'carol', email: 'c@example.com', password: 'x'.repeat(12), admin: true } });
    expectError(extra, 400, 'VALIDATION_FAILED');
    expect(extra.body.error.details).toContainEqual({ path: 'admin', message: 'is not a known field' });

    const typed = await call('POST', '/streams', { token: alice.token, json: { title: 42 } });
    expectError(typed, 400, 'VALIDATION_FAILED');
    expect(typed.body.error.details[0].path).toBe('title');

    expectError(await call('POST', '/streams', { token: alice.token, json: [] }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/streams', { token: alice.token, json: null }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/streams', { token: alice.token }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/auth/register', { json: { username: 'no spaces!', email: 'not-an-email', password: 'x'.repeat(12) } }), 400, 'VALIDATION_FAILED');
  });

  it('refuses a body that is not JSON with UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(await call('POST', '/auth/login', { body: 'login=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers unknown API routes with ROUTE_NOT_FOUND and wrong methods with METHOD_NOT_ALLOWED', async () => {
    expectError(await call('GET', '/streams/x/nothing-here'), 404, 'ROUTE_NOT_FOUND');
    expectError(await call('POST', '/auth/nope', { json: {} }), 404, 'ROUTE_NOT_FOUND');
    expectError(await call('GET', '/api/v9/things'), 404, 'ROUTE_NOT_FOUND');
    const wrong = await call('PUT', '/auth/login', { json: {} });
    expectError(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('refuses malformed query parameters with INVALID_QUERY', async () => {
    for (const q of ['limit=abc', 'limit=0', 'limit=1000', 'colour=blue', 'cursor=not-a-cursor', `cursor=${'x'.repeat(300)}`]) {
      expectError(await call('GET', `/streams/live?${q}`), 400, 'INVALID_QUERY');
    }
  });
});

describe('control characters', () => {
  it('refuses NUL and other control characters in text fields with 400 naming the field, and logs no query values', async () => {
    const before = server.logs().length;
    const cases: Array<[string, string, unknown, string]> = [
      ['PATCH', '/users/me', { bio: 'about me\u0000' }, 'bio'],
      ['PATCH', '/users/me', { displayName: 'Al\u0007ice' }, 'displayName'],
      ['POST', '/streams', { title: 'my \u0000 stream' }, 'title'],
      ['PATCH', `/streams/${alice.streamId}`, { description: 'line\u0000' }, 'description'],
      ['PATCH', `/streams/${alice.streamId}/chat/settings`, { bannedWords: ['fine', 'ba\u0000d'] }, 'bannedWords.1'],
      ['POST', '/auth/login', { login: 'ali\u0000ce', password: 'whatever words' }, 'login'],
      ['POST', '/auth/register', { username: 'nul', email: 'n\u0000@example.com', password: 'fresh new words 1' }, 'email'],
    ];
    for (const [method, path, json, field] of cases) {
      const res = await call(method, path, { token: alice.token, json });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.map((d: { path: string }) => d.path), `${method} ${path}`).toContain(field);
    }
    // Line breaks and tabs stay allowed where text has several lines.
    const multi = await call('PATCH', '/users/me', { token: alice.token, json: { bio: 'first line\nsecond\tline' } });
    expect(multi.status).toBe(200);
    const logged = server.logs().slice(before);
    expect(logged).not.toMatch(/"level":50/);
    expect(logged).not.toContain('params:');
  });
});

describe('accounts', () => {
  it('refuses weak passwords with WEAK_PASSWORD and says why', async () => {
    for (const password of ['short', '1234567890', 'aaaaaaaaaaaa', 'daveisthebest', 'xx-dave@home-xx']) {
      const res = await call('POST', '/auth/register', { json: { username: 'dave', email: 'dave@home.org', password } });
      expectError(res, 400, 'WEAK_PASSWORD');
      expect(res.body.error.details[0].path).toBe('password');
    }
  });

  it('answers 409 for a taken username (any case) or email', async () => {
    expectError(await call('POST', '/auth/register', { json: { username: 'ALICE', email: 'other@example.com', password: 'fresh new words 1' } }), 409, 'USERNAME_TAKEN');
    expectError(await call('POST', '/auth/register', { json: { username: 'alice2', email: 'Alice@Example.com', password: 'fresh new words 1' } }), 409, 'EMAIL_TAKEN');
    expectError(await call('PATCH', '/users/me', { token: bob.token, json: { email: 'alice@example.com' } }), 409, 'EMAIL_TAKEN');
  });

  it('gives the same 401 for a wrong password and an unknown login', async () => {
    const wrong = await call('POST', '/auth/login', { json: { login: 'bob', password: 'not his password' } });
    const unknown = await call('POST', '/auth/login', { json: { login: 'nobody-here', password: 'not his password' } });
    expectError(wrong, 401, 'INVALID_CREDENTIALS');
    expectError(unknown, 401, 'INVALID_CREDENTIALS');
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('rate-limits failed logins per account, with Retry-After (test/http/login-limits.test.ts has the rest)', async () => {
    await call('POST', '/auth/register', { json: { username: 'erin', email: 'erin@example.com', password: 'correct erin words' } });
    for (let i = 0; i < 3; i++) expectError(await call('POST', '/auth/login', { json: { login: 'erin', password: 'guess ' + i } }), 401, 'INVALID_CREDENTIALS');
    const limited = await call('POST', '/auth/login', { json: { login: 'erin', password: 'correct erin words' } });
    expectError(limited, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('tokens', () => {
  const secret = () => JSON.parse(readFileSync(join(server.dataDir, 'secrets.json'), 'utf8')).jwtSecret as string;

  it('refuses a missing, malformed, tampered or foreign token', async () => {
    expectError(await call('GET', '/users/me'), 401, 'UNAUTHENTICATED');
    expectError(await call('GET', '/users/me', { headers: { authorization: 'Basic abc' } }), 401, 'TOKEN_INVALID');
    expectError(await call('GET', '/users/me', { token: 'not.a.jwt' }), 401, 'TOKEN_INVALID');
    const [h, p, s] = alice.token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, sub: '00000000-0000-0000-0000-000000000000' })).toString('base64url');
    expectError(await call('GET', '/users/me', { token: `${h}.${forged}.${s}` }), 401, 'TOKEN_INVALID');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expectError(await call('GET', '/users/me', { token: `${none}.${p}.` }), 401, 'TOKEN_INVALID');
    const otherKey = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('x'.repeat(48)));
    expectError(await call('GET', '/users/me', { token: otherKey }), 401, 'TOKEN_INVALID');
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const expired = await new SignJWT({ typ: 'access', name: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.id)
      .setIssuer('glint')
      .setAudience('glint-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(secret()));
    expectError(await call('GET', '/users/me', { token: expired }), 401, 'TOKEN_EXPIRED');
  });

  it('refuses a correctly signed token that has no expiry', async () => {
    const forever = await new SignJWT({ typ: 'access', name: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.id)
      .setIssuer('glint')
      .setAudience('glint-api')
      .setIssuedAt()
      .sign(new TextEncoder().encode(secret()));
    expectError(await call('GET', '/users/me', { token: forever }), 401, 'TOKEN_INVALID');
  });

  it('refuses unknown and garbage refresh tokens', async () => {
    expectError(await call('POST', '/auth/refresh', { json: { refreshToken: 'glint_rt_nope' } }), 401, 'REFRESH_TOKEN_INVALID');
    expectError(await call('POST', '/auth/refresh', { json: { refreshToken: alice.token } }), 401, 'REFRESH_TOKEN_INVALID');
  });
});

describe('streams', () => {
  it("keeps someone else's stream out of reach with NOT_STREAM_OWNER", async () => {
    const id = alice.streamId;
    expectError(await call('PATCH', `/streams/${id}`, { token: bob.token, json: { title: 'mine now' } }), 403, 'NOT_STREAM_OWNER');
    expectError(await call('DELETE', `/streams/${id}`, { token: bob.token }), 403, 'NOT_STREAM_OWNER');
    expectError(await call('GET', `/streams/${id}/key`, { token: bob.token }), 403, 'NOT_STREAM_OWNER');
    expectError(await call('POST', `/streams/${id}/key/rotate`, { token: bob.token }), 403, 'NOT_STREAM_OWNER');
    expectError(await call('POST', `/streams/${id}/start`, { token: bob.token }), 403, 'NOT_STREAM_OWNER');
    expectError(await call('POST', `/streams/${id}/stop`, { token: bob.token }), 403, 'NOT_STREAM_OWNER');
    expect((await call('GET', `/streams/${id}`)).body.stream.title).toBe("alice's stream");
  });

  it('answers 404 for unknown and malformed ids', async () => {
    expectError(await call('GET', '/streams/8a3c1f0e-0000-4000-8000-000000000000'), 404, 'STREAM_NOT_FOUND');
    expectError(await call('GET', "/streams/1'%20or%201=1"), 404, 'STREAM_NOT_FOUND');
    expectError(await call('GET', '/streams/%E0%A4%A'), 404, 'ROUTE_NOT_FOUND');
    expectError(await call('GET', '/users/not-a-uuid/profile'), 404, 'USER_NOT_FOUND');
    expectError(await call('PATCH', '/streams/8a3c1f0e-0000-4000-8000-000000000000', { token: bob.token, json: { title: 'x' } }), 404, 'STREAM_NOT_FOUND');
  });
});

describe('robustness', () => {
  it('never answers 500 to hundreds of random requests and stays healthy', async () => {
    const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD'];
    const paths = ['/auth/register', '/auth/login', '/auth/refresh', '/auth/logout', '/users/me', '/users/me/streams', `/users/${alice.id}/profile`,
      '/streams', '/streams/live', `/streams/${alice.streamId}`, `/streams/${alice.streamId}/key`, `/streams/${alice.streamId}/key/rotate`,
      `/streams/${alice.streamId}/start`, '/streams/%00', '/streams/..%2f..%2fetc%2fpasswd', '/healthz', '/metrics'];
    const bodies = ['', '{}', '[]', 'null', '"s"', '{"title":{"$gt":""}}', '{"username":"a","email":"b","password":"c"}', '\u0000\u0001', '{'.repeat(500),
      JSON.stringify({ title: 'x'.repeat(200) }), JSON.stringify({ login: ['a'], password: 1 }), '\uD800'];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const method = methods[rnd(methods.length)]!;
      const body = method === 'GET' || method === 'HEAD' ? undefined : bodies[rnd(bodies.length)];
      const token = rnd(3) === 0 ? (rnd(2) ? alice.token : 'garbage') : undefined;
      const res = await call(method, paths[rnd(paths.length)]! + (rnd(4) === 0 ? '?limit=' + rnd(500) : ''), {
        body, token, headers: body !== undefined ? { 'content-type': rnd(5) === 0 ? 'text/plain' : 'application/json' } : {},
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${method} -> ${res.status}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
    }
    expect(statuses.size).toBeGreaterThan(4);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it('survives raw garbage on the socket', async () => {
    const port = Number(new URL(server.url).port);
    for (const junk of ['\x16\x03\x01\x02\x00\x01\x00', 'GET / HTTP/9.9\r\n\r\n', 'POST /auth/login HTTP/1.1\r\nContent-Length: -5\r\n\r\n', 'x'.repeat(20_000) + '\r\n\r\n']) {
      await new Promise<void>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => sock.end(junk));
        sock.on('data', () => {});
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
        setTimeout(() => { sock.destroy(); resolve(); }, 2000);
      });
    }
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
