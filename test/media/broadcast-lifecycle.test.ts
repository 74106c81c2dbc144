/**
 * How a broadcast ends, against a real server and sfu-worker with libdatachannel peers:
 * a failed publisher connection is `reconnecting` (API and events) for the grace period,
 * viewers may join meanwhile and get media on the same session once the publisher is back;
 * rotating the key ends the encoder that uses the old one; WHIP session URLs need the key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createStreamer } from '../helpers/http.ts';
import { connect, createPublisherPeer, createViewerPeer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
let call: ReturnType<typeof api>;
const peers: ClientPeer[] = [];
const senders: Array<{ stop(): void }> = [];

function sdpPost(path: string, sdp: string, headers: Record<string, string> = {}) {
  return fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: sdp });
}

/** A libdatachannel encoder sending synthetic H.264 at ~100 packets/s until `pause()`. */
async function publish(key: string, replaces?: string) {
  const pub = await createPublisherPeer({ audio: true });
  peers.push(pub);
  const res = await sdpPost(`/whip${replaces ? `?replaces=${replaces}` : ''}`, pub.offer, { authorization: `Bearer ${key}` });
  expect(res.status).toBe(201);
  const location = res.headers.get('location')!;
  await connect(pub, await res.text());
  const sender = sendSynthetic(pub.video!, { keyframeEvery: 30 });
  senders.push(sender);
  return { pub, location, id: location.split('/').pop()!, pause: () => (sender.paused = true) };
}

async function status(streamId: string): Promise<string> {
  return (await call('GET', `/streams/${streamId}`)).body.stream.status;
}

/** Collects a stream's server-sent events as text. */
function watchEvents(streamId: string) {
  let text = '';
  const ac = new AbortController();
  const done = fetch(`${server.url}/streams/${streamId}/events`, { signal: ac.signal }).then(async (res) => {
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      text += new TextDecoder().decode(value);
    }
  }).catch(() => {});
  return { text: () => text, close: () => (ac.abort(), done) };
}

beforeAll(async () => {
  server = await startTestServer({ config: { rtc: { reconnectGraceSeconds: 15, publisherIdleTimeoutSeconds: 2 } } });
  call = api(server.url);
});

afterAll(async () => {
  senders.forEach((t) => t.stop());
  peers.forEach((p) => p.close());
  await server?.stop();
});

describe('a failed publisher connection', () => {
  it('makes the stream reconnecting; viewers join meanwhile and get media on that session when the publisher is back', async () => {
    const s = await createStreamer(server.url, 'flaky', 'flaky network');
    const events = watchEvents(s.streamId);
    const first = await publish(s.streamKey);
    await until('live', async () => ((await status(s.streamId)) === 'live' ? true : undefined));

    // The network goes: nothing more arrives from the encoder.
    first.pause();
    await until('reconnecting in the API', async () => ((await status(s.streamId)) === 'reconnecting' ? true : undefined), 10_000);
    expect(events.text()).toMatch(/event: reconnecting/);
    expect((await call('GET', '/streams/live')).body.items.map((i: { id: string; status: string }) => [i.id, i.status])).toContainEqual([s.streamId, 'reconnecting']);
    expect(server.logs()).toContain('"reason":"media-timeout"');

    // A viewer arriving now is let in (not 409) and connects.
    const viewer = await createViewerPeer();
    peers.push(viewer);
    let received = 0;
    viewer.video!.onMessage((buf) => {
      if (buf.length > 12 && (buf[1]! & 0x7f) === 102) received++;
    });
    const res = await sdpPost(`/whep/${s.streamId}`, viewer.offer);
    expect(res.status).toBe(201);
    await connect(viewer, await res.text());
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toBe(0);

    // The encoder is back: the viewer's session gets its media, the stream is live again.
    await publish(s.streamKey, first.id);
    await until('media on the waiting viewer session', () => (received > 20 ? true : undefined), 10_000);
    await until('live again', async () => ((await status(s.streamId)) === 'live' ? true : undefined));
    const afterLive = events.text().slice(events.text().indexOf('event: live'));
    expect(afterLive).toMatch(/event: reconnecting[\s\S]*event: live/);
    expect(afterLive).not.toMatch(/event: offline/);
    await events.close();
  });

  it('goes offline when the publisher does not come back within the grace period', async () => {
    const short = await startTestServer({ config: { rtc: { reconnectGraceSeconds: 1, publisherIdleTimeoutSeconds: 2 } } });
    try {
      const c = api(short.url);
      const s = await createStreamer(short.url, 'gone', 'gone for good');
      const pub = await createPublisherPeer({ audio: false });
      peers.push(pub);
      const res = await fetch(`${short.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` }, body: pub.offer });
      await connect(pub, await res.text());
      // Some media, then silence for good.
      const sending = sendSynthetic(pub.video!);
      await until('live', async () => ((await c('GET', `/streams/${s.streamId}`)).body.stream.status === 'live' ? true : undefined));
      sending.stop();
      await until('reconnecting', async () => ((await c('GET', `/streams/${s.streamId}`)).body.stream.status === 'reconnecting' ? true : undefined), 10_000);
      await until('offline', async () => ((await c('GET', `/streams/${s.streamId}`)).body.stream.status === 'offline' ? true : undefined), 10_000);
      const viewer = await createViewerPeer();
      peers.push(viewer);
      const late = await fetch(`${short.url}/whep/${s.streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: viewer.offer });
      expect(late.status).toBe(409);
    } finally {
      await short.stop();
    }
  });
});

describe("the owner's start and stop", () => {
  it('say `live` and `offline` once each, for a stream marked live by hand and for a publishing one', async () => {
    const s = await createStreamer(server.url, 'switcher', 'by hand');
    const events = watchEvents(s.streamId);
    await until('the event stream', () => (/event: offline/.test(events.text()) ? true : undefined));
    expect((await call('POST', `/streams/${s.streamId}/start`, { token: s.token })).body.stream.status).toBe('live');
    await until('a live event', () => (/event: live/.test(events.text()) ? true : undefined));
    expect((await call('POST', `/streams/${s.streamId}/stop`, { token: s.token })).body.stream.status).toBe('offline');
    await until('an offline event', () => (events.text().match(/event: offline/g)!.length === 2 ? true : undefined));

    // Publishing, then stopped by the owner: one offline, not two.
    await publish(s.streamKey);
    await until('live', async () => ((await status(s.streamId)) === 'live' ? true : undefined));
    expect((await call('POST', `/streams/${s.streamId}/stop`, { token: s.token })).body.stream.status).toBe('offline');
    // Stopping again changes nothing and says nothing.
    expect((await call('POST', `/streams/${s.streamId}/stop`, { token: s.token })).body.stream.status).toBe('offline');
    await new Promise((r) => setTimeout(r, 300));
    await events.close();
    const names = [...events.text().matchAll(/^event: (\w+)$/gm)].map((m) => m[1]).filter((n) => n === 'live' || n === 'offline');
    // The first `offline` is the status the stream had when the event stream opened.
    expect(names).toEqual(['offline', 'live', 'offline', 'live', 'offline']);
  });
});

describe('the stream key', () => {
  it('rotated, stops the encoder using the old one at once and refuses it from then on', async () => {
    const s = await createStreamer(server.url, 'rotator', 'rotation');
    const { location, id } = await publish(s.streamKey);
    await until('live', async () => ((await status(s.streamId)) === 'live' ? true : undefined));
    const rotated = await call('POST', `/streams/${s.streamId}/key/rotate`, { token: s.token });
    expect(rotated.status).toBe(200);
    expect(await status(s.streamId)).toBe('offline');
    expect(server.app.media.liveStreamIds()).not.toContain(s.streamId);
    expect(server.app.media.hasSession(id as never)).toBe(false);
    const again = await createPublisherPeer();
    peers.push(again);
    const refused = await sdpPost('/whip', again.offer, { authorization: `Bearer ${s.streamKey}` });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('STREAM_KEY_INVALID');
    // Its session is gone as asked, for the encoder that still holds the old key.
    expect((await fetch(server.url + location, { method: 'DELETE', headers: { authorization: `Bearer ${s.streamKey}` } })).status).toBe(200);
  });

  it('is needed on WHIP session URLs: without it nobody can end or patch a broadcast', async () => {
    const s = await createStreamer(server.url, 'guarded', 'guarded');
    const other = await createStreamer(server.url, 'stranger', 'someone else');
    const { location } = await publish(s.streamKey);
    await until('live', async () => ((await status(s.streamId)) === 'live' ? true : undefined));
    const del = (authorization?: string) => fetch(server.url + location, { method: 'DELETE', headers: authorization ? { authorization } : {} });
    const noKey = await del();
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toContain('Bearer');
    expect((await noKey.json()).error.code).toBe('STREAM_KEY_INVALID');
    expect((await del(`Bearer ${other.streamKey}`)).status).toBe(401);
    expect((await del('Bearer glint_sk_guess')).status).toBe(401);
    const patch = await fetch(server.url + location, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n' });
    expect(patch.status).toBe(401);
    expect(await status(s.streamId)).toBe('live');
    expect((await del(`Bearer ${s.streamKey}`)).status).toBe(200);
    expect(await status(s.streamId)).toBe('offline');
  });
});
