import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { deleteSession, parseIceServerLinks, postOffer, resolveSessionUrl, waitForIceGathering } from './sdp-session.ts';

const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n';

describe('resolveSessionUrl', () => {
  it('resolves a relative Location against the URL that was POSTed to', () => {
    expect(resolveSessionUrl('/whip/sessions/abc', 'https://glint.test/whip')).toBe('https://glint.test/whip/sessions/abc');
    expect(resolveSessionUrl('sessions/abc', 'https://glint.test/whep/42')).toBe('https://glint.test/whep/sessions/abc');
  });

  it('keeps an absolute Location, even on another host', () => {
    expect(resolveSessionUrl('https://edge.glint.test/whep/sessions/x', 'https://glint.test/whep/1')).toBe(
      'https://edge.glint.test/whep/sessions/x',
    );
  });
});

describe('parseIceServerLinks', () => {
  it('reads STUN and TURN servers with their credentials and skips other links', () => {
    const header =
      '<stun:stun.example.net>; rel="ice-server", ' +
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="p;a,s\\"s"; credential-type="password", ' +
      '</whep/sessions/1/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive"';
    expect(parseIceServerLinks(header)).toEqual([
      { urls: 'stun:stun.example.net' },
      { urls: 'turn:turn.example.net?transport=udp', username: 'user', credential: 'p;a,s"s' },
    ]);
  });

  it('gives nothing for no header', () => {
    expect(parseIceServerLinks(null)).toEqual([]);
    expect(parseIceServerLinks('')).toEqual([]);
  });
});

describe('postOffer', () => {
  it('returns the answer, the absolute session URL and the ICE servers of a 201', async () => {
    let seen: RequestInit | undefined;
    const fetch = async (_url: string, init?: RequestInit) => {
      seen = init;
      return new Response('v=0\r\nanswer\r\n', {
        status: 201,
        headers: { Location: '/whip/sessions/s1', ETag: '"x"', Link: '<stun:s.example>; rel="ice-server"' },
      });
    };
    const result = await postOffer(fetch, 'http://127.0.0.1:8080/whip', OFFER, { bearer: 'glint_sk_1' });
    expect(result).toEqual({
      answer: 'v=0\r\nanswer\r\n',
      sessionUrl: 'http://127.0.0.1:8080/whip/sessions/s1',
      etag: '"x"',
      iceServers: [{ urls: 'stun:s.example' }],
    });
    expect(seen?.headers).toMatchObject({ 'Content-Type': 'application/sdp', Authorization: 'Bearer glint_sk_1' });
    expect(seen?.body).toBe(OFFER);
  });

  it('turns an error answer into an ApiError with the code and Retry-After', async () => {
    const fetch = async () =>
      new Response(JSON.stringify({ error: { code: 'STREAM_NOT_LIVE', message: 'not live yet' } }), {
        status: 409,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '5' },
      });
    const err = await postOffer(fetch, 'http://h/whep/1', OFFER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'STREAM_NOT_LIVE', status: 409, retryAfterSeconds: 5, message: 'not live yet' });
  });

  it('refuses a 201 without Location', async () => {
    const fetch = async () => new Response('v=0\r\n', { status: 201 });
    await expect(postOffer(fetch, 'http://h/whip', OFFER)).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('reports an unreachable server as NETWORK_ERROR', async () => {
    const fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(postOffer(fetch, 'http://h/whip', OFFER)).rejects.toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
  });
});

describe('deleteSession', () => {
  it('says whether the server answered, 404 included, and never rejects', async () => {
    const calls: RequestInit[] = [];
    const answered = await deleteSession(
      async (_u, init) => {
        calls.push(init ?? {});
        return new Response('', { status: 404 });
      },
      'http://h/whip/sessions/1',
      { keepalive: true },
    );
    expect(answered).toBe(true);
    expect(calls[0]).toMatchObject({ method: 'DELETE', keepalive: true });

    const unreachable = await deleteSession(async () => {
      throw new TypeError('Failed to fetch');
    }, 'http://h/whip/sessions/1');
    expect(unreachable).toBe(false);
  });
});

describe('waitForIceGathering', () => {
  it('resolves when gathering completes, or after the timeout', async () => {
    const listeners = new Set<() => void>();
    const pc = {
      iceGatheringState: 'gathering' as RTCIceGatheringState,
      addEventListener: (_t: string, l: () => void) => void listeners.add(l),
      removeEventListener: (_t: string, l: () => void) => void listeners.delete(l),
    };
    const done = waitForIceGathering(pc, 10_000);
    pc.iceGatheringState = 'complete';
    for (const l of listeners) l();
    await done;
    expect(listeners.size).toBe(0);

    const started = Date.now();
    pc.iceGatheringState = 'gathering';
    await waitForIceGathering(pc, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});
