import { createHmac } from 'node:crypto';
import { expect, it } from 'vitest';
import { IceServers, turnCredentials } from './ice-servers.ts';
import { iceServerLinks } from './session-http.ts';

it('mints TURN REST credentials coturn checks: "<expiry>:<label>" and base64(HMAC-SHA1(secret, username))', () => {
  const c = turnCredentials('0123456789abcdef', 600, 1_700_000_000_500, 'x');
  expect(c.username).toBe('1700000600:x');
  expect(c.credential).toBe(createHmac('sha1', '0123456789abcdef').update('1700000600:x').digest('base64'));
});

it('gives each client the fixed servers, then every TURN URL with one fresh set of credentials', () => {
  const servers = new IceServers([{ urls: 'stun:stun.example.com:3478' }], { urls: ['turn:t.example.com:3478?transport=udp', 'turns:t.example.com:443?transport=tcp'], secret: '0123456789abcdef', ttlSeconds: 3600 }, () => 1_700_000_000_000);
  const a = servers.forClient();
  const b = servers.forClient();
  expect(a[0]).toEqual({ urls: 'stun:stun.example.com:3478' });
  expect(a.slice(1).map((s) => s.urls)).toEqual(['turn:t.example.com:3478?transport=udp', 'turns:t.example.com:443?transport=tcp']);
  expect(a[1]!.username).toMatch(/^1700003600:glint-[0-9a-f]{12}$/);
  expect(a[2]!.username).toBe(a[1]!.username);
  expect(b[1]!.username).not.toBe(a[1]!.username);
  expect(iceServerLinks(a.slice(1, 2))).toEqual([
    `<turn:t.example.com:3478?transport=udp>; rel="ice-server"; username="${a[1]!.username}"; credential="${a[1]!.credential}"; credential-type="password"`,
  ]);
});

it('offers no TURN without URLs', () => {
  expect(new IceServers([], { urls: [], secret: '0123456789abcdef', ttlSeconds: 3600 }).forClient()).toEqual([]);
});
