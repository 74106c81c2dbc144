/**
 * One broadcast on every worker of a node: with RTC_WORKERS=2 and room for 3 peers per
 * worker, a publisher and 5 viewers spread over both workers. Viewers on the second worker
 * are fed by one pipe from the origin worker (not one copy per viewer), every viewer gets the
 * video, a viewer there starts on a keyframe from the far router's own GOP cache, and the
 * pipe closes when its last viewer leaves. Real sfu-worker processes, libdatachannel peers.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import type { LiveStream } from '../../server/media/live-stream.ts';
import { createStreamer } from '../helpers/http.ts';
import { connect, createPublisherPeer, nalViewer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
const peers: ClientPeer[] = [];
let sender: { stop(): void } | undefined;

beforeAll(async () => {
  server = await startTestServer({ config: { rtc: { workers: 2, maxPeersPerWorker: 3 } } });
});

afterAll(async () => {
  sender?.stop();
  peers.forEach((p) => p.close());
  await server?.stop();
});

/** A viewer that records the NAL type of every video packet it gets, and the worker it is on. */
async function viewer(streamId: string) {
  const v = await nalViewer(server.url, streamId, peers);
  const session = server.app.media.session(v.location.split('/').pop()!, 'whep');
  return { ...v, worker: session.transport.router.worker.index };
}

/**
 * A libdatachannel publisher on `streamKey` sending synthetic H.264 with a keyframe every 50
 * frames (0.5 s at one frame per 10 ms); it ignores keyframe requests.
 */
async function publish(streamKey: string): Promise<{ stop(): void }> {
  const pub = await createPublisherPeer({ audio: false });
  peers.push(pub);
  const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` }, body: pub.offer });
  expect(res.status, await res.clone().text()).toBe(201);
  await connect(pub, await res.text());
  return sendSynthetic(pub.video!, { keyframeEvery: 50 });
}

/** The figures a worker pushes every second, fresh ones. */
async function statsOf(index: number) {
  const w = server.app.workers.get(index)!;
  const before = w.stats?.sampledAt ?? 0;
  await until(`fresh stats of worker ${index}`, () => ((w.stats?.sampledAt ?? 0) > before ? true : undefined), 5_000);
  return w.stats!;
}

it('spreads one stream over both workers through one pipe; every viewer gets video, starting on a keyframe', async () => {
  const s = await createStreamer(server.url, 'spreader', 'two cores');
  sender = await publish(s.streamKey);
  await until('the stream to be active', () => (server.app.media.isActive(s.streamId as StreamId) ? true : undefined));
  const origin = server.app.media.routerOf(s.streamId as StreamId)!.router.worker.index;

  const viewers = [];
  for (let i = 0; i < 5; i++) viewers.push(await viewer(s.streamId));
  const placed = viewers.map((v) => v.worker);
  expect(new Set(placed)).toEqual(new Set([0, 1]));
  // The publisher and 2 viewers fill the origin; 3 viewers are on the other worker.
  expect(placed.filter((w) => w === origin)).toHaveLength(2);

  for (const v of viewers) await until('video at every viewer', () => (v.nals.length > 30 ? true : undefined), 10_000);
  // Each starts on a keyframe: the far router primed it from its own cache, like the origin.
  for (const v of viewers) expect(v.nals[0]).toBe(5);

  const originStats = await statsOf(origin);
  const otherStats = await statsOf(1 - origin);
  expect(originStats.pipesOut).toBe(1);
  expect(originStats.viewers).toBe(2);
  expect(otherStats.viewers).toBe(3);
  expect(otherStats.pipesOut).toBe(0);
  expect(server.app.media.viewerCount(s.streamId as StreamId)).toBe(5);

  // The viewers on the other worker leave: its pipe and router close; the origin's stay.
  for (const v of viewers.filter((x) => x.worker !== origin)) {
    expect((await fetch(server.url + v.location, { method: 'DELETE' })).status).toBe(200);
  }
  await until('the pipe to close', async () => ((await statsOf(origin)).pipesOut === 0 ? true : undefined), 5_000);
  expect((await statsOf(1 - origin)).routers).toBe(0);
  const still = viewers.find((v) => v.worker === origin)!;
  const n = still.nals.length;
  await until('video to keep flowing on the origin', () => (still.nals.length > n + 20 ? true : undefined));
  sender?.stop();
  await server.app.media.endStream(s.streamId as StreamId);
}, 60_000);

it("keeps viewers on the other worker when the origin's worker dies, and feeds them again once the publisher is back", async () => {
  const s = await createStreamer(server.url, 'survivor', 'origin lost');
  const first = await publish(s.streamKey);
  await until('the stream to be active', () => (server.app.media.isActive(s.streamId as StreamId) ? true : undefined));
  const origin = server.app.media.routerOf(s.streamId as StreamId)!.router.worker;
  const viewers: Array<Awaited<ReturnType<typeof viewer>>> = [];
  while (!viewers.some((v) => v.worker !== origin.index)) viewers.push(await viewer(s.streamId));
  const far = viewers.find((v) => v.worker !== origin.index)!;
  await until('video on the far worker', () => (far.nals.length > 20 ? true : undefined), 10_000);

  origin.child.kill('SIGKILL');
  first.stop();
  await until('the stream to be reconnecting', async () => ((await (await fetch(`${server.url}/streams/${s.streamId}`)).json()).stream.status === 'reconnecting' ? true : undefined), 10_000);
  // The far viewer's session is still there (its worker lives), waiting for media.
  expect(server.app.media.hasSession(far.location.split('/').pop()! as never)).toBe(true);
  await until('the dead worker to be replaced', () => (server.app.workers.get(origin.index)!.ready && !server.app.workers.get(origin.index)!.closed ? true : undefined), 20_000);

  const second = await publish(s.streamKey);
  try {
    const n = far.nals.length;
    await until('video on the far worker again', () => (far.nals.length > n + 30 ? true : undefined), 15_000);
  } finally {
    second.stop();
    await server.app.media.endStream(s.streamId as StreamId);
  }
}, 60_000);

it("keeps a worker's pipe open while a viewer is joining it, and closes it once nobody is left there", async () => {
  const s = await createStreamer(server.url, 'churner', 'churn');
  const churn = await publish(s.streamKey);
  try {
    await until('the stream to be active', () => (server.app.media.isActive(s.streamId as StreamId) ? true : undefined));
    const origin = server.app.media.routerOf(s.streamId as StreamId)!.router.worker.index;
    // One viewer on the other worker (through its pipe) and one more on the origin, so the
    // other worker is the least loaded one: where the next viewer goes.
    let far = await viewer(s.streamId);
    while (far.worker === origin) far = await viewer(s.streamId);
    while ((await viewer(s.streamId)).worker !== origin);
    // A viewer is being placed there (between choosing its router and its session existing)
    // when the last viewer on that worker leaves.
    const live = (server.app.media as unknown as { streams: Map<string, LiveStream> }).streams.get(s.streamId)!;
    const joining = await live.routerForViewer();
    expect(joining.router.worker.index).toBe(far.worker);
    expect((await fetch(server.url + far.location, { method: 'DELETE' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(joining.router.closed).toBe(false);
    expect((await statsOf(origin)).pipesOut).toBe(1);
    // The join gave up: now nobody is there, and the pipe closes.
    joining.release();
    await until('the pipe to close', async () => ((await statsOf(origin)).pipesOut === 0 ? true : undefined), 5_000);
    expect(joining.router.closed).toBe(true);
  } finally {
    churn.stop();
    await server.app.media.endStream(s.streamId as StreamId);
  }
}, 60_000);
