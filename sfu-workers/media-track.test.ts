import { describe, expect, it } from 'vitest';
import { MediaTrack, type Consumer } from './media-track.ts';
import { rtpSeq, rtpSsrc, rtpTimestamp } from './rtp.ts';

function packet(seq: number, ts: number, ssrc: number, nal = 0x41, pt = 96): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = nal;
  b[13] = 0b11000000;
  return b;
}

function consumer(pt: number): Consumer & { got: Array<{ seq: number; ts: number; ssrc: number; pt: number }> } {
  const got: Array<{ seq: number; ts: number; ssrc: number; pt: number }> = [];
  return {
    got,
    sink: { sendMessageBinary: (b) => (got.push({ seq: rtpSeq(b), ts: rtpTimestamp(b), ssrc: rtpSsrc(b), pt: b[1]! & 0x7f }), true) },
    payloadType: pt, open: true, packetsSent: 0, broken: false,
  };
}

describe('MediaTrack', () => {
  let now = 1000;
  const track = () => new MediaTrack({ kind: 'video', codec: 'h264', clockRate: 90000, ssrc: 777, cacheSize: 64, onKeyframeNeeded: () => {}, onBFrame: () => {}, now: () => now });

  it("rewrites SSRC and payload type per viewer and keeps sequence and time continuous across a publisher's reconnect", () => {
    const t = track();
    const a = consumer(102);
    const b = consumer(108);
    t.add(a);
    t.add(b);
    for (let i = 0; i < 3; i++) t.forward(packet(500 + i, 9000 + i * 3000, 0xaaaa));
    now += 1000; // the publisher is away for one second, then comes back with new numbers
    for (let i = 0; i < 2; i++) t.forward(packet(40000 + i, 123 + i * 3000, 0xbbbb));
    expect(a.got.map((g) => g.ssrc)).toEqual([777, 777, 777, 777, 777]);
    expect(a.got.map((g) => g.pt)).toEqual([102, 102, 102, 102, 102]);
    expect(b.got.map((g) => g.pt)).toEqual([108, 108, 108, 108, 108]);
    const seqs = a.got.map((g) => g.seq);
    for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]!) & 0xffff).toBe(1);
    const ts = a.got.map((g) => g.ts);
    expect((ts[1]! - ts[0]!) >>> 0).toBe(3000);
    expect((ts[3]! - ts[2]!) >>> 0).toBe(90000); // one second of wall clock at 90 kHz
    expect((ts[4]! - ts[3]!) >>> 0).toBe(3000);
  });

  it('answers NACKs from the cache and primes a late viewer from the last keyframe', () => {
    const t = track();
    const early = consumer(102);
    t.add(early);
    t.forward(packet(10, 0, 1, 0x65)); // keyframe
    t.forward(packet(11, 0, 1, 0x65));
    t.forward(packet(12, 3000, 1));
    const lost = early.got[1]!.seq;
    expect(t.retransmit(early, lost)).toBe(true);
    expect(early.got.at(-1)!.seq).toBe(lost);
    expect(t.retransmit(early, (lost + 1000) & 0xffff)).toBe(false);

    const late = consumer(102);
    t.add(late);
    expect(t.prime(late, 500)).toBe(true);
    expect(late.got.map((g) => g.seq)).toEqual(early.got.slice(0, 3).map((g) => g.seq));
    // Replayed frames are squeezed into the last milliseconds before the live edge (90 ticks = 1 ms).
    const live = early.got[2]!.ts;
    expect(late.got.map((g) => g.ts)).toEqual([(live - 90) >>> 0, (live - 90) >>> 0, live]);
    // The shared cached packets keep their own timestamps.
    expect(t.retransmit(early, early.got[0]!.seq)).toBe(true);
    expect(early.got.at(-1)!.ts).toBe(early.got[0]!.ts);
    now += 1000;
    expect(t.prime(consumer(102), 500)).toBe(false);
  });

  it('skips closed viewers and marks a viewer whose sink throws as broken', () => {
    const t = track();
    const closed = consumer(102);
    closed.open = false;
    const throwing: Consumer = { sink: { sendMessageBinary: () => { throw new Error('Track is closed'); } }, payloadType: 102, open: true, packetsSent: 0, broken: false };
    t.add(closed);
    t.add(throwing);
    t.forward(packet(1, 0, 1));
    expect(closed.got).toEqual([]);
    expect(throwing.broken).toBe(true);
    expect(throwing.open).toBe(false);
  });

  it('reports B-slices', () => {
    let bFrames = 0;
    const t = new MediaTrack({ kind: 'video', codec: 'h264', clockRate: 90000, ssrc: 1, cacheSize: 64, onKeyframeNeeded: () => {}, onBFrame: () => bFrames++ });
    const b = packet(1, 0, 1, 0x01);
    b[13] = 0b10100000;
    t.forward(b);
    expect(bFrames).toBe(1);
  });
});
