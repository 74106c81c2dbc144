/**
 * Simulcast as the Studio sends it — three video sections of one stream, lowest resolution
 * first — against a real server and sfu-worker, with libdatachannel peers: the publisher
 * sends synthetic H.264 whose keyframes carry real SPS (320x180, 640x360, 1280x720) and
 * whose packets name their layer. A viewer gets the top layer by default, the smallest one
 * once it says its player is 320 px wide, the layer it pins, and a lower one when the
 * publisher stops sending the layer it watches; across every switch its sequence numbers
 * stay continuous, on one SSRC, with timestamps that only go forward. Offers of other
 * shapes get 422 with a reason that says what to do.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import { rtpPayloadOffset } from '../../sfu-workers/rtp.ts';
import { createStreamer } from '../helpers/http.ts';
import { SyntheticH264, connect, sendSynthetic, createPublisherPeer, createViewerPeer, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const SPS = [
  '6742c00bd901419f9f011000000300100000030140f142a480', // 320x180
  '67640016acd940a02ff97011000003000100000300140f162d96', // 640x360
  '6742c01fd9005005bb011000000300100000030140f1832480', // 1280x720
];
/** Byte of each synthetic packet that names its layer (after the send time at 16..23), as the publisher sends it. */
const LAYER_BYTE = 24;

let server: TestServer;
const peers: ClientPeer[] = [];
let timer: NodeJS.Timeout | undefined;
/** Layers the publisher is sending (the test turns one off). */
const sending = [true, true, true];

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  clearInterval(timer);
  peers.forEach((p) => p.close());
  await server?.stop();
});

async function publishLayers(streamKey: string): Promise<void> {
  const pub = await createPublisherPeer({ layers: 3 });
  peers.push(pub);
  const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` }, body: pub.offer });
  expect(res.status, await res.clone().text()).toBe(201);
  await connect(pub, await res.text());
  const gens = [0, 1, 2].map((i) => new SyntheticH264(0x11111111 + i, 1200, 25));
  timer = setInterval(() => {
    gens.forEach((g, i) => {
      if (!sending[i]) return;
      try {
        if (g.keyframeNext) pub.layers![i]!.sendMessageBinary(g.parameterSets(SPS[i]!));
        const b = g.next(performance.now(), true);
        b[LAYER_BYTE] = i;
        pub.layers![i]!.sendMessageBinary(b);
      } catch {
        // not open yet
      }
    });
  }, 20);
}

interface Received {
  seq: number;
  ts: number;
  ssrc: number;
  layer: number;
}

async function layeredViewer(streamId: string): Promise<{ got: Received[]; session: string }> {
  const peer = await createViewerPeer();
  peers.push(peer);
  const got: Received[] = [];
  peer.video!.onMessage((buf) => {
    if (buf.length < 12 || buf[1]! >= 192 && buf[1]! <= 223) return; // RTCP
    // What the publisher put at LAYER_BYTE is that far into the payload here (the SFU adds a header extension).
    const payload = rtpPayloadOffset(buf);
    const nal = buf[payload]! & 0x1f;
    got.push({ seq: buf.readUInt16BE(2), ts: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8), layer: nal === 24 ? -1 : buf[payload + LAYER_BYTE - 12]! });
  });
  const res = await fetch(`${server.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: peer.offer });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  await connect(peer, text);
  return { got, session: res.headers.get('location')!.split('/').pop()! };
}

const lastLayer = (got: Received[]) => [...got].reverse().find((r) => r.layer >= 0)?.layer;

async function prefer(session: string, body: unknown) {
  const res = await fetch(`${server.url}/whep/sessions/${session}/layers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

it('switches a viewer between layers on keyframes, with continuous sequence numbers on one SSRC', async () => {
  const s = await createStreamer(server.url, 'layered', 'three layers');
  await publishLayers(s.streamKey);
  await until('the stream to be active', () => (server.app.media.isActive(s.streamId as StreamId) ? true : undefined));
  const v = await layeredViewer(s.streamId);

  await until('the top layer', () => (lastLayer(v.got) === 2 ? true : undefined), 10_000);
  const small = await prefer(v.session, { maxWidth: 320 });
  expect(small.status).toBe(200);
  expect(small.body.layers.layers.map((l: { width: number; height: number }) => `${l.width}x${l.height}`)).toEqual(['320x180', '640x360', '1280x720']);
  expect(small.body.layers.target).toBe(0);
  await until('the smallest layer for a 320 px player', () => (lastLayer(v.got) === 0 ? true : undefined), 5_000);

  expect((await prefer(v.session, { maxWidth: 320, layer: 1 })).body.layers.target).toBe(1);
  await until('the pinned layer', () => (lastLayer(v.got) === 1 ? true : undefined), 5_000);

  expect((await prefer(v.session, { maxWidth: null, layer: null })).body.layers.target).toBe(2);
  await until('back on the top layer', () => (lastLayer(v.got) === 2 ? true : undefined), 5_000);

  // The publisher stops its top layer (the Studio does under congestion): the viewer moves down.
  sending[2] = false;
  const stoppedAt = Date.now();
  await until('a lower layer once the top one stopped', () => (lastLayer(v.got) === 1 ? true : undefined), 5_000);
  const movedDownMs = Date.now() - stoppedAt;
  sending[2] = true;
  await until('the top layer once it is back', () => (lastLayer(v.got) === 2 ? true : undefined), 8_000);

  // What the viewer saw: one SSRC, every sequence number once and in order, time only forward.
  expect(new Set(v.got.map((r) => r.ssrc)).size).toBe(1);
  let gaps = 0;
  let backwards = 0;
  for (let i = 1; i < v.got.length; i++) {
    if (((v.got[i]!.seq - v.got[i - 1]!.seq) & 0xffff) !== 1) gaps++;
    const dt = (v.got[i]!.ts - v.got[i - 1]!.ts) >>> 0;
    if (dt > 0x7fffffff) backwards++;
  }
  const layersSeen = v.got.map((r) => r.layer).filter((l, i, a) => l >= 0 && l !== a.slice(0, i).filter((x) => x >= 0).pop());
  console.log(`simulcast: ${v.got.length} packets, layers in order ${layersSeen.join(' -> ')}, moved down ${movedDownMs} ms after the top layer stopped, gaps ${gaps}, backwards ${backwards}`);
  expect(layersSeen).toEqual([2, 0, 1, 2, 1, 2]);
  expect(gaps).toBe(0);
  expect(backwards).toBe(0);

  // /metrics counts them per stream (from the figures the worker pushes every second).
  const line = new RegExp(`^glint_webrtc_layer_switches\\{stream="${s.streamId}"\\} (\\d+)$`, 'm');
  await until('the switches in /metrics', async () => (Number(line.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]) === 5 ? true : undefined), 5_000);
}, 60_000);

it('answers layer preferences of a single-layer stream with null, and refuses bad ones', async () => {
  const s = await createStreamer(server.url, 'onelayer', 'one layer');
  const pub = await createPublisherPeer({ audio: false });
  peers.push(pub);
  const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` }, body: pub.offer });
  expect(res.status).toBe(201);
  await connect(pub, await res.text());
  const sender = sendSynthetic(pub.video!);
  await until('the stream to be active', () => (server.app.media.isActive(s.streamId as StreamId) ? true : undefined));
  const v = await layeredViewer(s.streamId);
  sender.stop();
  expect(await prefer(v.session, { maxWidth: 320 })).toEqual({ status: 200, body: { layers: null } });
  expect((await prefer(v.session, { maxWidth: -3 })).status).toBe(400);
  expect((await prefer(v.session, { layer: 7 })).status).toBe(400);
  expect((await prefer('no-such-session', { maxWidth: 320 })).status).toBe(404);
});

it('refuses other shapes of several video sections with 422 and a reason', async () => {
  const s = await createStreamer(server.url, 'shapes', 'shapes');
  const post = async (offer: string) => {
    const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` }, body: offer });
    return { status: res.status, text: await res.text() };
  };
  const four = await createPublisherPeer({ layers: 4, name: 'four' });
  const apart = await createPublisherPeer({ layers: 2, msids: ['camera', 'screen'], name: 'apart' });
  peers.push(four, apart);
  const a = await post(four.offer);
  expect(a.status).toBe(422);
  expect(a.text).toMatch(/up to 3 video sections/);
  const b = await post(apart.offer);
  expect(b.status).toBe(422);
  expect(b.text).toMatch(/same a=msid stream/);
});
