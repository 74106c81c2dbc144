import { describe, expect, it } from 'vitest';
import { classifyH264, FrameKind, isRtcp, isVp8Keyframe, rewriteRtp, rtpPayloadOffset, rtpSeq, rtpSsrc, rtpTimestamp } from './rtp.ts';
import { buildFir, buildPli, buildReceiverReport, buildRemb, buildSenderReport, visitRtcp } from './rtcp.ts';

function rtp(payload: number[], opts: { csrc?: number; ext?: number[]; padding?: number } = {}): Buffer {
  const head = [0x80 | (opts.csrc ?? 0) | (opts.ext ? 0x10 : 0) | (opts.padding ? 0x20 : 0), 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef];
  const csrcs = Array.from({ length: (opts.csrc ?? 0) * 4 }, () => 7);
  const ext = opts.ext ? [0xbe, 0xde, 0, opts.ext.length / 4, ...opts.ext] : [];
  const pad = opts.padding ? [...Array(opts.padding - 1).fill(0), opts.padding] : [];
  return Buffer.from([...head, ...csrcs, ...ext, ...payload, ...pad]);
}

describe('RTP', () => {
  it('finds the payload after CSRCs and header extensions, and refuses broken packets', () => {
    expect(rtpPayloadOffset(rtp([1, 2]))).toBe(12);
    expect(rtpPayloadOffset(rtp([1, 2], { csrc: 2, ext: [1, 2, 3, 4] }))).toBe(12 + 8 + 8);
    expect(rtpPayloadOffset(rtp([1], { padding: 4 }))).toBe(12);
    expect(rtpPayloadOffset(rtp([], { padding: 4 }))).toBe(-1);
    expect(rtpPayloadOffset(Buffer.from([0x80, 96, 0, 0]))).toBe(-1);
    expect(rtpPayloadOffset(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 1]))).toBe(-1);
  });

  it('reads and rewrites header fields in place', () => {
    const b = rtp([0x41, 0]);
    expect([rtpSeq(b), rtpTimestamp(b), rtpSsrc(b)]).toEqual([0x1234, 0x1000, 0xdeadbeef]);
    b[1] = 0x80 | 96;
    rewriteRtp(b, 102, 0xfffe, 0xffffffff, 42);
    expect([b[1], rtpSeq(b), rtpTimestamp(b), rtpSsrc(b)]).toEqual([0x80 | 102, 0xfffe, 0xffffffff, 42]);
  });

  it('tells RTCP from RTP', () => {
    expect(isRtcp(buildPli(1, 2))).toBe(true);
    expect(isRtcp(rtp([1]))).toBe(false);
    const marker = rtp([1]);
    marker[1] = 0x80 | 102; // marker bit + PT 102 = 230: RTP, not RTCP
    expect(isRtcp(marker)).toBe(false);
  });

  it('classifies H.264 keyframes (IDR, SPS, STAP-A, FU-A start) and B-slices', () => {
    expect(classifyH264(Buffer.from([0x65, 0x88]), 0)).toBe(FrameKind.Key);
    expect(classifyH264(Buffer.from([0x67, 0x42]), 0)).toBe(FrameKind.Key);
    expect(classifyH264(Buffer.from([0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]), 0)).toBe(FrameKind.Key);
    expect(classifyH264(Buffer.from([0x7c, 0x85, 0x88]), 0)).toBe(FrameKind.Key);
    expect(classifyH264(Buffer.from([0x7c, 0x05, 0x88]), 0)).toBe(FrameKind.Other); // not the first fragment
    // slice header: first_mb_in_slice=0 ('1'), slice_type: P=0 ('1'), B=1 ('010'), B=6 ('00111')
    expect(classifyH264(Buffer.from([0x41, 0b11000000]), 0)).toBe(FrameKind.Other);
    expect(classifyH264(Buffer.from([0x41, 0b10100000]), 0)).toBe(FrameKind.BSlice);
    expect(classifyH264(Buffer.from([0x01, 0b10011100]), 0)).toBe(FrameKind.BSlice);
    expect(classifyH264(Buffer.from([0x7c, 0x81, 0b10100000]), 0)).toBe(FrameKind.BSlice);
    expect(classifyH264(Buffer.from([0x41]), 0)).toBe(FrameKind.Other);
  });

  it('recognises VP8 keyframes', () => {
    expect(isVp8Keyframe(Buffer.from([0x10, 0x00]), 0)).toBe(true);
    expect(isVp8Keyframe(Buffer.from([0x10, 0x01]), 0)).toBe(false);
    expect(isVp8Keyframe(Buffer.from([0x00, 0x00]), 0)).toBe(false);
    expect(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x81, 0x23, 0x00]), 0)).toBe(true); // X + 15-bit PictureID
  });
});

describe('RTCP', () => {
  it('round-trips the feedback we send and parse', () => {
    const seen: string[] = [];
    const compound = Buffer.concat([buildPli(1, 2), buildFir(1, 3, 7), buildRemb(1, 2_500_000, [2, 3]), buildSenderReport(9, 100, 200, 300, 4, 5)]);
    visitRtcp(compound, {
      keyframeRequest: (s) => seen.push(`kf:${s}`),
      remb: (bitrate, ssrcs) => seen.push(`remb:${Math.round(bitrate / 1000)}k:${ssrcs}`),
      senderReport: (ssrc, hi, lo, ts) => seen.push(`sr:${ssrc}:${hi}:${lo}:${ts}`),
    });
    expect(seen).toEqual(['kf:2', 'kf:3', 'remb:2500k:2,3', 'sr:9:100:200:300']);
  });

  it('expands generic NACK bitmasks', () => {
    const nack = Buffer.from([0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0b0000_0000, 0b0000_0101]);
    const lost: number[] = [];
    visitRtcp(nack, { nack: (_s, seq) => lost.push(seq) });
    expect(lost).toEqual([0xffff, 0, 2]);
  });

  it('stops at a damaged packet without throwing', () => {
    const ok = buildPli(1, 2);
    const broken = Buffer.from([0x81, 206, 0, 50, 1, 2, 3]);
    const seen: number[] = [];
    visitRtcp(Buffer.concat([ok, broken]), { keyframeRequest: (s) => seen.push(s) });
    expect(seen).toEqual([2]);
    expect(() => visitRtcp(Buffer.from([1, 2, 3]), {})).not.toThrow();
  });

  it('builds receiver reports with clamped loss', () => {
    const rr = buildReceiverReport(5, [{ ssrc: 6, fractionLost: 12, cumulativeLost: -3, extendedHighestSeq: 70000, jitter: 9, lastSr: 1, delaySinceLastSr: 2 }]);
    expect(rr.length).toBe(32);
    expect([rr[0], rr[1], rr.readUInt16BE(2)]).toEqual([0x81, 201, 7]);
    expect(rr.readUInt32BE(8)).toBe(6);
    expect(rr.readUIntBE(13, 3)).toBe(0xfffffd);
  });
});
