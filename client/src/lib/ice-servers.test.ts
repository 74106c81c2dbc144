import { describe, expect, it } from 'vitest';
import { IceServerCache, credentialsExpireAt } from './ice-servers.ts';

const URL_ = 'http://127.0.0.1:8080/whep/s';

function endpoint(links: string[][]) {
  const asked: string[] = [];
  const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
    asked.push(init?.method ?? 'GET');
    const link = links.shift() ?? [];
    return new Response(null, { status: 204, headers: link.length ? { Link: link.join(', ') } : {} });
  };
  return { fetch, asked };
}

const turn = (expiry: number, label: string) => `<turn:t.example:3478>; rel="ice-server"; username="${expiry}:${label}"; credential="c${label}"`;

describe('IceServerCache', () => {
  it('asks OPTIONS once, and again shortly before the minted credentials expire', async () => {
    let now = 1_000_000_000_000;
    const expiry = now / 1000 + 3600;
    const e = endpoint([[turn(expiry, 'a')], [turn(expiry + 3600, 'b')]]);
    const cache = new IceServerCache(e.fetch, URL_, () => now);
    expect((await cache.get())[0]).toEqual({ urls: 'turn:t.example:3478', username: `${expiry}:a`, credential: 'ca' });
    now += 50 * 60_000;
    expect((await cache.get())[0]!.username).toBe(`${expiry}:a`);
    expect(e.asked).toEqual(['OPTIONS']);
    now += 6 * 60_000; // within 5 minutes of the expiry
    expect((await cache.get())[0]!.username).toBe(`${expiry + 3600}:b`);
    expect(e.asked).toEqual(['OPTIONS', 'OPTIONS']);
  });

  it("takes an answer's servers as the newest, also when there are none", async () => {
    const e = endpoint([[turn(2_000_000_000, 'a')]]);
    const cache = new IceServerCache(e.fetch, URL_, () => 1_000_000_000_000);
    cache.learn([]);
    expect(await cache.get()).toEqual([]);
    expect(e.asked).toEqual([]);
  });

  it('goes without servers for a minute after OPTIONS fails', async () => {
    let now = 1_000_000_000_000;
    let calls = 0;
    const cache = new IceServerCache(async () => (calls++, new Response('', { status: 500 })), URL_, () => now);
    expect(await cache.get()).toEqual([]);
    expect(await cache.get()).toEqual([]);
    expect(calls).toBe(1);
    now += 61_000;
    await cache.get();
    expect(calls).toBe(2);
  });
});

describe('credentialsExpireAt', () => {
  it('is the earliest TURN REST expiry, Infinity for servers without one', () => {
    expect(credentialsExpireAt([{ urls: 'stun:s' }, { urls: 'turn:a', username: 'fixed', credential: 'p' }])).toBe(Infinity);
    expect(credentialsExpireAt([{ urls: 'turn:a', username: '2000000000:x' }, { urls: 'turn:b', username: '1900000000:y' }])).toBe(1_900_000_000_000);
  });
});
