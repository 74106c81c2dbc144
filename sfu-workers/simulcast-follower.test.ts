/**
 * Followers (the recorder's plain RTP, pipes) of a simulcast producer take the top layer
 * being sent: when the publisher pauses the top layer, they go on with the next one, on
 * the same SSRC with continuous sequence numbers, instead of stalling.
 */
import { afterEach, expect, it } from 'vitest';
import type { RouterId, StreamId } from '../protocol/ids.ts';
import type { ProducerInfo, WorkerSettings } from '../protocol/sfu.ts';
import { MediaRouter, type RouterEvents } from './media-router.ts';
import { rtpPayloadOffset } from './rtp.ts';

const settings = { connectTimeoutSeconds: 5, publisherIdleTimeoutSeconds: 10, maxPublishBitrate: 2_000_000 } as WorkerSettings;
const events: RouterEvents = { transportConnected: () => {}, transportClosed: () => {}, mediaFlowing: () => {} };
const video: ProducerInfo = { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, layers: 3 };

/** One-packet H.264 frames of `layer` (its number at payload byte 20), an IDR every 10th. */
function frame(layer: number, n: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = 0x80 | 96;
  b.writeUInt16BE((layer * 10_000 + n) & 0xffff, 2);
  b.writeUInt32BE(layer * 1_000_000 + n * 3000, 4);
  b.writeUInt32BE(0x100 + layer, 8);
  b[12] = n % 10 === 0 ? 0x65 : 0x41;
  b[13] = 0x88;
  b[20] = layer;
  return b;
}

const open: MediaRouter[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

it('moves a follower to the next layer when the top one stops, and back when it returns', async () => {
  const router = new MediaRouter('r' as RouterId, 's' as StreamId, settings, events);
  open.push(router);
  const source = { asked: [] as number[], sendKeyframeRequest: (l: number) => (source.asked.push(l), true), reject: () => {} };
  const producer = router.produce([video], source).get('video')!;
  const got: Array<{ layer: number; seq: number; ssrc: number }> = [];
  router.follow('video', { sink: { sendMessageBinary: (b: Buffer) => (b[1]! < 192 || b[1]! > 223 ? got.push({ layer: b[rtpPayloadOffset(b) + 8]!, seq: b.readUInt16BE(2), ssrc: b.readUInt32BE(8) }) : 0, true) }, payloadType: 100, open: true, packetsSent: 0, broken: false });

  let n = 0;
  const sending = [true, true, true];
  const timer = setInterval(() => {
    n++;
    for (let l = 0; l < 3; l++) if (sending[l]) producer.layers[l]!.forward(frame(l, n));
  }, 20);
  const lastLayer = () => got[got.length - 1]?.layer;
  const waitFor = async (layer: number) => {
    for (let i = 0; i < 200 && lastLayer() !== layer; i++) await new Promise((r) => setTimeout(r, 20));
    expect(lastLayer()).toBe(layer);
  };
  try {
    await waitFor(2);
    sending[2] = false;
    await waitFor(1);
    sending[2] = true;
    await waitFor(2);
  } finally {
    clearInterval(timer);
  }
  expect(new Set(got.map((g) => g.ssrc))).toEqual(new Set([producer.track.ssrc]));
  for (let i = 1; i < got.length; i++) expect((got[i]!.seq - got[i - 1]!.seq) & 0xffff).toBe(1);
  expect(source.asked).toContain(1); // a keyframe of the layer it moved to was asked for
});
