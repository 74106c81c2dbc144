/**
 * Offers that never connect cannot crowd real viewers out: unconnected WHEP sessions are
 * capped per client address (429) and per worker (the oldest makes room for the newest),
 * and they expire sooner than a connected session would. The server runs behind a trusted
 * proxy here, so requests can come from many addresses (X-Forwarded-For).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamer } from '../helpers/http.ts';
import { connect, createPublisherPeer, createViewerPeer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
let streamId: string;
/** An offer with no candidates: the server can never reach it, so its session never connects. */
let junkOffer: string;
const peers: ClientPeer[] = [];
let sender: { stop(): void } | undefined;

function view(offer: string, from: string) {
  return fetch(`${server.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp', 'x-forwarded-for': from }, body: offer });
}

/** Sends `n` offers from `from(i)`, 50 at a time; counts the answers by status. */
async function flood(n: number, from: (i: number) => string): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => view(junkOffer, from(i + j)).then(async (r) => (await r.body?.cancel(), r.status))));
    for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
  return statuses;
}

/** A real viewer from `from`: 201, connects, and RTP arrives. */
async function realViewer(from: string): Promise<number> {
  const viewer = await createViewerPeer();
  peers.push(viewer);
  let received = 0;
  viewer.video!.onMessage((buf) => {
    if (buf.length > 12 && (buf[1]! & 0x7f) === 102) received++;
  });
  const res = await view(viewer.offer, from);
  expect(res.status).toBe(201);
  await connect(viewer, await res.text());
  await until('media to reach the real viewer', () => (received > 10 ? true : undefined), 10_000);
  return received;
}

beforeAll(async () => {
  server = await startTestServer({
    config: { http: { trustProxy: true }, rtc: { maxPendingViewersPerIp: 10, maxPendingViewersPerWorker: 40, viewerConnectTimeoutSeconds: 3 } },
  });
  const s = await createStreamer(server.url, 'flooded', 'flood');
  streamId = s.streamId;
  const pub = await createPublisherPeer({ audio: false });
  peers.push(pub);
  const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` }, body: pub.offer });
  await connect(pub, await res.text());
  sender = sendSynthetic(pub.video!, { keyframeEvery: 30 });
  junkOffer = (await createViewerPeer()).offer;
  await until('the stream to be active', () => (server.app.media.isActive(streamId as never) ? true : undefined));
});

afterAll(async () => {
  sender?.stop();
  peers.forEach((p) => p.close());
  await server?.stop();
});

describe('a flood of WHEP offers that never connect', () => {
  it('from one address: 10 are taken, the rest get 429, and a real viewer elsewhere plays at once', async () => {
    const statuses = await flood(1000, () => '198.51.100.66');
    expect(statuses.get(201)).toBe(10);
    expect(statuses.get(429)).toBe(990);
    expect(server.app.media.sessionCounts().whep).toBe(10);
    await realViewer('203.0.113.10');
  });

  it('from many addresses: the worker keeps at most its share unconnected, dropping the oldest, and real viewers still get in', async () => {
    const statuses = await flood(200, (i) => `198.18.${i >> 8}.${i & 255}`);
    expect(statuses.get(201)).toBe(200);
    // The connected viewer of the previous test, plus at most 40 waiting to connect.
    expect(server.app.media.sessionCounts().whep).toBeLessThanOrEqual(41);
    await realViewer('203.0.113.11');
  });

  it('expires unconnected sessions after the viewer connect timeout, connected ones stay', async () => {
    await until('the unconnected sessions to expire', () => (server.app.media.sessionCounts().whep === 2 ? true : undefined), 10_000);
    expect(server.app.media.viewerCount(streamId as never)).toBe(2);
    // Their address may try again.
    expect((await view(junkOffer, '198.51.100.66')).status).toBe(201);
  });
});
