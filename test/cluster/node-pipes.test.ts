/**
 * Pipes between nodes, with libdatachannel peers: two Glint nodes sharing PostgreSQL and
 * Redis. A publisher on node A; viewers on node B get its video through one pipe from A
 * (DTLS-SRTP between the two nodes' workers), whatever their number; B's viewers start on a
 * keyframe from B's own cache; a second encoder on B gets the same conflict as on A; the pipe
 * closes after B's last viewer left; the encoder, lost on A, coming back through B takes the
 * stream there without it going offline. Real sfu-worker processes on loopback.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import { createStreamer } from '../helpers/http.ts';
import { connect, createPublisherPeer, nalViewer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { uniquePrefix } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

let a: TestServer;
let b: TestServer;
const peers: ClientPeer[] = [];
let sender: { stop(): void } | undefined;

beforeAll(async () => {
  const shared = {
    redis: { keyPrefix: uniquePrefix('pipes') },
    auth: { jwtSecret: randomBytes(32).toString('base64url') },
    streams: { keyEncryptionKey: randomBytes(32).toString('base64') },
    cluster: { secret: randomBytes(32).toString('base64url'), heartbeatSeconds: 0.5, nodeTtlSeconds: 2 },
    // A publisher that stops sending is lost after 2 s (its stream is then reconnecting).
    rtc: { publisherIdleTimeoutSeconds: 2, reconnectGraceSeconds: 30 },
  };
  a = await startTestServer({ db: 'postgres', redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: 'node-a' } } });
  b = await startTestServer({ databaseUrl: a.databaseUrl, redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: 'node-b' } } });
});

afterAll(async () => {
  sender?.stop();
  peers.forEach((p) => p.close());
  await b?.stop();
  await a?.stop();
});

/** A viewer on `server` that records the NAL type of every video packet it gets. */
const viewer = (server: TestServer, streamId: string) => nalViewer(server.url, streamId, peers);

async function statsOf(server: TestServer) {
  const w = server.app.workers.get(0)!;
  const before = w.stats?.sampledAt ?? 0;
  return until('fresh worker figures', () => (w.stats && w.stats.sampledAt > before ? w.stats : undefined), 5_000, 50);
}

let streamer: Awaited<ReturnType<typeof createStreamer>>;

it('serves viewers on another node through one pipe from the origin node', async () => {
  streamer = await createStreamer(a.url, 'pipes_streamer', 'across nodes');
  const pub = await createPublisherPeer({ audio: false });
  peers.push(pub);
  const res = await fetch(`${a.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamer.streamKey}` }, body: pub.offer });
  expect(res.status, await res.clone().text()).toBe(201);
  await connect(pub, await res.text());
  // A keyframe every 50 frames (0.5 s); the publisher ignores keyframe requests.
  sender = sendSynthetic(pub.video!, { keyframeEvery: 50 });
  const streamId = streamer.streamId as StreamId;
  await until('the stream in the directory', () => b.app.cluster.originOf(streamId));

  const first = await viewer(b, streamer.streamId);
  const second = await viewer(b, streamer.streamId);
  for (const v of [first, second]) {
    await until('video through the pipe', () => (v.nals.length > 20 ? true : undefined), 10_000);
    // Each viewer's first packet is a keyframe from node B's own cache.
    expect(v.nals[0]).toBe(5);
  }
  // One copy to node B, whatever its viewers: one pipe out of A, one in at B.
  expect((await statsOf(a)).pipesOut).toBe(1);
  expect((await statsOf(a)).viewers).toBe(0);
  expect((await statsOf(b)).pipesIn).toBe(1);
  expect((await statsOf(b)).viewers).toBe(2);
  expect(a.app.media.sessionCounts()).toMatchObject({ whip: 1, whep: 0, pipe: 1 });

  // A second encoder on the other node gets the conflict a second encoder on A gets.
  const other = await createPublisherPeer({ audio: false });
  peers.push(other);
  const conflict = await fetch(`${b.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamer.streamKey}` }, body: other.offer });
  expect(conflict.status).toBe(409);
  expect((await conflict.json()).error.code).toBe('STREAM_ALREADY_PUBLISHING');

  // When B's viewers leave, the pipe closes (after a short linger for reloads).
  for (const v of [first, second]) expect((await fetch(`${b.url}${v.location}`, { method: 'DELETE' })).status).toBe(200);
  await until('the pipe closed on the origin', async () => ((await statsOf(a)).pipesOut === 0 ? true : undefined), 15_000, 200);
  expect(a.app.media.sessionCounts().pipe).toBe(0);
});

it('moves a stream to the node its lost encoder comes back through, without it going offline', async () => {
  const streamId = streamer.streamId as StreamId;
  const watcher = await viewer(b, streamer.streamId);
  await until('video through the pipe', () => (watcher.nals.length > 20 ? true : undefined), 10_000);
  const events: string[] = [];
  const off = b.app.media.events.subscribe(streamId, (e) => events.push(e.type));
  const status = async () => (await (await fetch(`${b.url}/streams/${streamId}`)).json()).stream.status as string;
  try {
    // The encoder's network goes away: A waits for it (reconnecting).
    sender!.stop();
    await until('the stream to be reconnecting', async () => ((await status()) === 'reconnecting' ? true : undefined), 10_000, 100);
    await until('the directory to say so', async () => ((await b.app.cluster.originOf(streamId))?.status === 'reconnecting' ? true : undefined), 5_000, 100);
    // It comes back through B: B takes the stream, A lets it go.
    const back = await createPublisherPeer({ audio: false });
    peers.push(back);
    const res = await fetch(`${b.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamer.streamKey}` }, body: back.offer });
    expect(res.status, await res.clone().text()).toBe(201);
    await connect(back, await res.text());
    sender = sendSynthetic(back.video!, { keyframeEvery: 50 });
    await until('the stream live again', async () => ((await status()) === 'live' ? true : undefined), 10_000, 100);
    // B's viewer kept its session and gets the video from B's own router now.
    const before = watcher.nals.length;
    await until('video again on the same session', () => (watcher.nals.length > before + 20 ? true : undefined), 10_000);
    expect((await b.app.cluster.originOf(streamId))?.node).toBe('node-b');
    expect(a.app.media.routerOf(streamId)).toBeUndefined();
    expect(b.app.media.routerOf(streamId)).toBeDefined();
    expect(events).not.toContain('offline');
    expect((await statsOf(b)).pipesIn).toBe(0);
  } finally {
    off();
  }
});
