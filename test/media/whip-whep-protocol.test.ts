/**
 * WHIP (RFC 9725) and WHEP conformance over HTTP against a real server and sfu-worker, with
 * libdatachannel peers as encoder and player: every status code and header clients rely on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { connect, createPublisherPeer, createViewerPeer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';

let server: TestServer;
let call: ReturnType<typeof api>;
let token: string;
const peers: ClientPeer[] = [];
const senders: Array<{ stop(): void }> = [];

async function newStream(title: string) {
  const res = await call('POST', '/streams', { token, json: { title } });
  return { id: res.body.stream.id as string, key: res.body.streamKey as string };
}

function sdpPost(path: string, sdp: string, headers: Record<string, string> = {}) {
  return fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: sdp });
}

/** Publishes with a libdatachannel encoder sending synthetic H.264 at ~100 packets/s. */
async function publish(key: string) {
  const pub = await createPublisherPeer({ audio: true });
  peers.push(pub);
  const res = await sdpPost('/whip', pub.offer, { authorization: `Bearer ${key}` });
  expect(res.status).toBe(201);
  await connect(pub, await res.text());
  senders.push(sendSynthetic(pub.video!));
  return { pub, res };
}

async function until(cond: () => Promise<boolean>, ms = 8000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer({
    config: {
      rtc: {
        iceServers: [
          { urls: 'stun:stun.example.net:3478' },
          { urls: 'turn:turn.example.net:3478?transport=udp', username: 'glint', credential: 's3cret' },
        ],
        reconnectGraceSeconds: 1,
      },
    },
  });
  call = api(server.url);
  const reg = await call('POST', '/auth/register', { json: { username: 'whipper', email: 'whip@example.com', password: 'orange river stone' } });
  token = reg.body.accessToken;
});

afterAll(async () => {
  senders.forEach((t) => t.stop());
  peers.forEach((p) => p.close());
  await server?.stop();
});

describe('WHIP', () => {
  it('answers OPTIONS with Accept-Post and CORS', async () => {
    const res = await fetch(`${server.url}/whip`, { method: 'OPTIONS', headers: { origin: 'https://studio.example', 'access-control-request-method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('accept-post')).toBe('application/sdp');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(res.headers.get('link')).toContain('rel="ice-server"'); // RFC 9725 4.6: for clients that ask before their offer
  });

  it('refuses a missing or wrong stream key with 401', async () => {
    const { offer } = await createPublisherPeer();
    const missing = await sdpPost('/whip', offer);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await missing.json()).error.code).toBe('STREAM_KEY_INVALID');
    const wrong = await sdpPost('/whip', offer, { authorization: 'Bearer glint_sk_not-a-real-key' });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('STREAM_KEY_INVALID');
  });

  it('refuses other content types with 415 and malformed or unsupported SDP with a reason', async () => {
    const { key } = await newStream('bad sdp');
    const auth = { authorization: `Bearer ${key}` };
    const json = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
    expect(json.status).toBe(415);
    const garbage = await sdpPost('/whip', 'hello world', auth);
    expect(garbage.status).toBe(400);
    const body = await garbage.json();
    expect(body.error.code).toBe('SDP_MALFORMED');
    expect(body.error.message).toMatch(/v=0/);
    const vp9Only = [
      'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
      'm=video 9 UDP/TLS/RTP/SAVPF 98', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=rtcp-mux',
      'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=fingerprint:sha-256 AA:BB', 'a=setup:actpass',
      'a=rtpmap:98 VP9/90000', 'a=ssrc:1234 cname:x', '',
    ].join('\r\n');
    const unsupported = await sdpPost('/whip', vp9Only, auth);
    expect(unsupported.status).toBe(422);
    const u = await unsupported.json();
    expect(u.error.code).toBe('SDP_UNSUPPORTED');
    expect(u.error.message).toMatch(/H\.264.*VP8.*offered: vp9/);
    const recvonly = await sdpPost('/whip', vp9Only.replace('a=sendonly', 'a=recvonly').replace(/VP9/, 'VP8'), auth);
    expect(recvonly.status).toBe(422);
    expect((await recvonly.json()).error.message).toMatch(/sendonly or sendrecv/);
  });

  it('publishes: 201 with answer, Location, ETag and ICE server links; marks the stream live; 409 for a second encoder', async () => {
    const { id, key } = await newStream('whip live');
    const { res } = await publish(key);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    expect(res.headers.get('location')).toMatch(/^\/whip\/sessions\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('etag')).toMatch(/^"[^"]+"$/);
    const link = res.headers.get('link')!;
    expect(link).toContain('<stun:stun.example.net:3478>; rel="ice-server"');
    expect(link).toContain('<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="glint"; credential="s3cret"; credential-type="password"');

    await until(async () => (await call('GET', `/streams/${id}`)).body.stream.status === 'live');
    const live = await call('GET', '/streams/live');
    expect(live.body.items.map((s: { id: string }) => s.id)).toContain(id);
    await until(async () => server.app.media.isActive(id as never));

    const second = await createPublisherPeer();
    const conflict = await sdpPost('/whip', second.offer, { authorization: `Bearer ${key}` });
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error.code).toBe('STREAM_ALREADY_PUBLISHING');
    second.close();
  });

  it('handles PATCH: trickle 204, ICE restart 422, wrong ETag 412, wrong type 415, and DELETE ends the stream', async () => {
    const { id, key } = await newStream('whip patch');
    const { res } = await publish(key);
    const location = res.headers.get('location')!;
    const etag = res.headers.get('etag')!;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(server.url + location, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', authorization: `Bearer ${key}`, ...headers }, body });
    const trickle = await patch('a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n', { 'if-match': etag });
    expect(trickle.status).toBe(204);
    const restart = await patch('a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n', { 'if-match': '*' });
    expect(restart.status).toBe(422);
    expect((await restart.json()).error.code).toBe('ICE_RESTART_UNSUPPORTED');
    const stale = await patch('a=mid:0\r\na=end-of-candidates\r\n', { 'if-match': '"not-the-etag"' });
    expect(stale.status).toBe(412);
    const badType = await fetch(server.url + location, { method: 'PATCH', headers: { 'content-type': 'application/sdp' }, body: 'x' });
    expect(badType.status).toBe(415);
    const badFrag = await patch('a=candidate:garbage\r\n');
    expect(badFrag.status).toBe(400);
    expect((await fetch(`${server.url}/whip/sessions/AAAAAAAAAAAAAAAAAAAAAA`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates' })).status).toBe(404);

    // The failed restart kept the session: it still ends cleanly, for the holder of the key.
    await until(async () => (await call('GET', `/streams/${id}`)).body.stream.status === 'live');
    const del = await fetch(server.url + location, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(del.status).toBe(200);
    // Gone as asked: a repeated DELETE is 200 too (an unknown session stays 404).
    expect((await fetch(server.url + location, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/whip/sessions/AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } })).status).toBe(404);
    await until(async () => (await call('GET', `/streams/${id}`)).body.stream.status === 'offline');
    const stream = (await call('GET', `/streams/${id}`)).body.stream;
    expect(stream.endTime).not.toBeNull();
  });
});

describe('WHEP', () => {
  it('answers HEAD with application/sdp, and 404 for an unknown stream', async () => {
    const { id } = await newStream('probe');
    const head = await fetch(`${server.url}/whep/${id}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/sdp');
    expect((await fetch(`${server.url}/whep/00000000-0000-4000-8000-000000000000`, { method: 'HEAD' })).status).toBe(404);
    const options = await fetch(`${server.url}/whep/${id}`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('accept-post')).toBe('application/sdp');
  });

  it('answers 409 with Retry-After while the stream is offline', async () => {
    const { id } = await newStream('offline');
    const viewer = await createViewerPeer();
    peers.push(viewer);
    const res = await sdpPost(`/whep/${id}`, viewer.offer);
    expect(res.status).toBe(409);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await res.json()).error.code).toBe('STREAM_NOT_LIVE');
    expect((await sdpPost('/whep/00000000-0000-4000-8000-000000000000', viewer.offer)).status).toBe(404);
  });

  it('plays: 201 with answer, Location, ETag and the SSE link; events report viewers; DELETE ends the session', async () => {
    const { id, key } = await newStream('whep live');
    await publish(key);
    await until(async () => server.app.media.isActive(id as never));
    const viewer = await createViewerPeer();
    peers.push(viewer);
    let received = 0;
    viewer.video!.onMessage((buf) => {
      if (buf.length > 12 && (buf[1]! & 0x7f) === 102) received++;
    });
    const res = await sdpPost(`/whep/${id}`, viewer.offer);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/whep\/sessions\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('etag')).toMatch(/^"[^"]+"$/);
    const link = res.headers.get('link')!;
    expect(link).toContain(`<${location}/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive,viewercount"`);
    expect(link).toContain('rel="ice-server"');
    await connect(viewer, await res.text());
    await until(async () => received > 20);

    const sub = await fetch(`${server.url}${location}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '["active","viewercount"]' });
    expect(sub.status).toBe(201);
    const events = await fetch(server.url + sub.headers.get('location')!);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('event: viewercount')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: active');
    await until(async () => {
      while (!/"viewercount":1/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      return true;
    });
    await reader.cancel();

    // Worker figures are pushed every second: wait for one that counts this viewer's packets.
    let metrics = '';
    await until(async () => {
      metrics = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/glint_sfu_rtp_packets_sent\{worker="0"\} (\d+)/.exec(metrics)?.[1]) > 20;
    });
    expect(metrics).toMatch(/glint_webrtc_sessions\{kind="whep"\} 1/);
    expect(metrics).toMatch(/glint_sfu_workers_ready 1/);

    expect((await fetch(server.url + location, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(server.url + location, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${server.url}/whep/sessions/AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE' })).status).toBe(404);
    expect(server.app.media.viewerCount(id as never)).toBe(0);
    const stream = (await call('GET', `/streams/${id}`)).body.stream;
    expect(stream.viewCount).toBe(1);
  });

  it('answers 503 with Retry-After when the workers are full: WEBRTC_FULL to a viewer, MEDIA_UNAVAILABLE to a publisher', async () => {
    const full = await startTestServer({ config: { rtc: { maxPeersPerWorker: 1 } } });
    try {
      const c = api(full.url);
      const reg = await c('POST', '/auth/register', { json: { username: 'full', email: 'full@example.com', password: 'violet garden path' } });
      const s = await c('POST', '/streams', { token: reg.body.accessToken, json: { title: 'full' } });
      const pub = await createPublisherPeer();
      peers.push(pub);
      const whip = await fetch(`${full.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.body.streamKey}` }, body: pub.offer });
      expect(whip.status).toBe(201);
      await connect(pub, await whip.text());
      await until(async () => (await c('GET', `/streams/${s.body.stream.id}`)).body.stream.status === 'live');
      const viewer = await createViewerPeer();
      peers.push(viewer);
      const res = await fetch(`${full.url}/whep/${s.body.stream.id}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: viewer.offer });
      // A viewer WebRTC cannot take is told when to try again, and where LL-HLS is (not recorded here).
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('15');
      const body = await res.json();
      expect(body.error.code).toBe('WEBRTC_FULL');
      expect(body.error.hls).toBeNull();
      const other = await c('POST', '/streams', { token: reg.body.accessToken, json: { title: 'other' } });
      const pub2 = await createPublisherPeer();
      peers.push(pub2);
      const whip2 = await fetch(`${full.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${other.body.streamKey}` }, body: pub2.offer });
      expect(whip2.status).toBe(503);
      expect(whip2.headers.get('retry-after')).toBe('2');
      expect((await whip2.json()).error.code).toBe('MEDIA_UNAVAILABLE');
    } finally {
      await full.stop();
    }
  });
});
