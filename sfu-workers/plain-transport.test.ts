import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { MediaTrack, type Consumer } from './media-track.ts';
import { PlainRtpSink } from './plain-transport.ts';
import { rtpSeq, rtpSsrc } from './rtp.ts';

function rtp(seq: number, pt = 96): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(0xabcdef, 8);
  b[12] = 0x41;
  return b;
}

describe('PlainRtpSink', () => {
  it("sends a track's rewritten RTP to a recorder's port with its payload type, and no RTCP", async () => {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = server.address().port;
    const got: Buffer[] = [];
    server.on('message', (m) => got.push(m));
    const sink = await PlainRtpSink.open('127.0.0.1', port);
    const track = new MediaTrack({ kind: 'video', codec: 'h264', clockRate: 90000, ssrc: 4242, cacheSize: 64, onKeyframeNeeded: () => {}, onBFrame: () => {} });
    const consumer: Consumer = { sink, payloadType: 100, open: true, packetsSent: 0, broken: false };
    track.add(consumer);
    for (let i = 0; i < 5; i++) track.forward(rtp(1000 + i));
    track.senderReport(1, 2, 3000, 0xabcdef); // RTCP: not forwarded to a recorder
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(5);
    expect(got.map((b) => b[1]! & 0x7f)).toEqual([100, 100, 100, 100, 100]);
    expect(got.map(rtpSsrc)).toEqual([4242, 4242, 4242, 4242, 4242]);
    expect(new Set(got.map((b) => (rtpSeq(b) - rtpSeq(got[0]!)) & 0xffff))).toEqual(new Set([0, 1, 2, 3, 4]));
    sink.close();
    expect(sink.sendMessageBinary(rtp(9))).toBe(false);
    server.close();
  });

  it('keeps sending when nobody listens yet (ICMP errors are counted, not thrown)', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    probe.close();
    const sink = await PlainRtpSink.open('127.0.0.1', port);
    for (let i = 0; i < 20; i++) expect(sink.sendMessageBinary(rtp(i))).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    sink.close();
  });
});
