import { afterEach, describe, expect, it } from 'vitest';
import type { RouterId, StreamId, TransportId } from '../protocol/ids.ts';
import type { ProducerInfo, WorkerSettings } from '../protocol/sfu.ts';
import type { Consumer } from './media-track.ts';
import { MediaRouter, type RouterEvents } from './media-router.ts';
import { PipeTransport } from './pipe-transport.ts';
import { rtpPayloadOffset, rtpSeq, rtpSsrc } from './rtp.ts';

const settings = { connectTimeoutSeconds: 5, publisherIdleTimeoutSeconds: 10, maxPublishBitrate: 2_000_000 } as WorkerSettings;
const events: RouterEvents = { transportConnected: () => {}, transportClosed: () => {}, mediaFlowing: () => {} };
const video: ProducerInfo = { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000 };

/** H.264 RTP: an IDR slice (type 5) or a non-IDR slice (type 1), one packet per frame. */
function h264(seq: number, frame: number, key: boolean): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = 0x80 | 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(frame * 3000, 4);
  b.writeUInt32BE(0x1234, 8);
  b[12] = key ? 0x65 : 0x41;
  b[13] = 0x88;
  return b;
}

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

async function pipedRouters() {
  const origin = new MediaRouter('r-a' as RouterId, 's' as StreamId, settings, events);
  const edge = new MediaRouter('r-b' as RouterId, 's' as StreamId, settings, events);
  open.push(origin, edge);
  // The origin's publisher: a source that counts the keyframe requests it gets.
  const source = { keyframeRequests: 0, sendKeyframeRequest: () => (source.keyframeRequests++, true), reject: () => {} };
  const producer = origin.produce([video], source).get('video')!;
  const a = await PipeTransport.create(origin, 'p-a' as TransportId, '127.0.0.1');
  const b = await PipeTransport.create(edge, 'p-b' as TransportId, '127.0.0.1');
  origin.addTransport(a);
  edge.addTransport(b);
  await a.connect('127.0.0.1', b.port);
  await b.connect('127.0.0.1', a.port);
  b.produce([video]);
  return { origin, edge, source, producer, a, b };
}

function viewerOn(router: MediaRouter): Consumer & { got: Buffer[] } {
  const got: Buffer[] = [];
  const c = { got, sink: { sendMessageBinary: (buf: Buffer) => (got.push(Buffer.from(buf)), true) }, payloadType: 102, open: true, packetsSent: 0, broken: false };
  router.producer('video')!.track.add(c);
  return c;
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('PipeTransport', () => {
  it("carries the origin's media to another router, which re-sends it in its own space", async () => {
    const { edge, producer, a } = await pipedRouters();
    a.consume('video', 96);
    const viewer = viewerOn(edge);
    for (let i = 0; i < 20; i++) producer.track.forward(h264(100 + i, i, i === 0));
    await until(() => viewer.got.length === 20);
    const edgeSsrc = edge.producer('video')!.track.ssrc;
    expect(new Set(viewer.got.map(rtpSsrc))).toEqual(new Set([edgeSsrc]));
    expect(viewer.got.map((b) => b[1]! & 0x7f).every((pt) => pt === 102)).toBe(true);
    const seqs = viewer.got.map(rtpSeq);
    expect(seqs.every((s, i) => i === 0 || s === ((seqs[i - 1]! + 1) & 0xffff))).toBe(true);
  });

  it('replays the cached group of pictures into a new pipe, so the far router can prime its first viewer', async () => {
    const { edge, producer, a } = await pipedRouters();
    // The origin has been live for a while: a keyframe and 9 frames after it are cached.
    for (let i = 0; i < 10; i++) producer.track.forward(h264(500 + i, i, i === 0));
    a.consume('video', 96);
    await until(() => edge.producer('video')!.track.packetsIn === 10);
    const viewer = viewerOn(edge);
    expect(edge.producer('video')!.track.prime(viewer, 3_000)).toBe(true);
    expect(viewer.got).toHaveLength(10);
    expect(viewer.got[0]![rtpPayloadOffset(viewer.got[0]!)]! & 0x1f).toBe(5); // starts at the keyframe
  });

  it("takes the far router's keyframe requests upstream to the origin's source", async () => {
    const { edge, producer, source, a } = await pipedRouters();
    a.consume('video', 96); // nothing cached: the pipe asks for a keyframe itself
    await until(() => source.keyframeRequests === 1);
    producer.track.forward(h264(1, 0, false));
    await until(() => edge.producer('video')!.track.packetsIn === 1);
    await new Promise((r) => setTimeout(r, 550)); // past the origin's throttle
    edge.requestKeyframe(); // a viewer of the far router sent a PLI
    await until(() => source.keyframeRequests === 2);
  });

  it('stops feeding the far router when it closes', async () => {
    const { edge, producer, a } = await pipedRouters();
    a.consume('video', 96);
    producer.track.forward(h264(1, 0, true));
    await until(() => edge.producer('video')!.track.packetsIn === 1);
    a.close();
    producer.track.forward(h264(2, 1, false));
    await new Promise((r) => setTimeout(r, 100));
    expect(edge.producer('video')!.track.packetsIn).toBe(1);
    expect(producer.track.consumers).toHaveLength(0);
  });
});
