/**
 * RTCP (RFC 3550, 4585, 5104) — parsing what viewers and publishers send us, and building
 * what we send: PLI, FIR, REMB, receiver reports, translated sender reports. Parsing is
 * bounds-checked: a malformed compound packet yields what was valid before the damage.
 */
import { readU32, writeU16, writeU32 } from './rtp.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

export interface RtcpVisitor {
  /** Generic NACK (RTPFB fmt 1): each lost sequence number. */
  nack?(mediaSsrc: number, seq: number): void;
  /** PLI (PSFB fmt 1) or FIR (PSFB fmt 4). */
  keyframeRequest?(mediaSsrc: number): void;
  /** REMB (PSFB fmt 15) */
  remb?(bitrate: number, ssrcs: number[]): void;
  /** A report block of a receiver (or sender) report: about `ssrc`, with LSR and DLSR for the round-trip time. */
  reportBlock?(ssrc: number, fractionLost: number, lsr: number, dlsr: number): void;
  /** Sender report: offset of the packet inside the compound buffer and its length. */
  senderReport?(ssrc: number, ntpHigh: number, ntpLow: number, rtpTimestamp: number, at: number, length: number): void;
}

/** Walks a compound RTCP packet, calling the visitor for what it understands. */
export function visitRtcp(b: Uint8Array, v: RtcpVisitor): void {
  let p = 0;
  while (p + 4 <= b.length) {
    if (b[p]! >> 6 !== 2) return;
    const fmt = b[p]! & 0x1f;
    const pt = b[p + 1]!;
    const len = (((b[p + 2]! << 8) | b[p + 3]!) + 1) * 4;
    if (p + len > b.length) return;
    if (pt === RTCP_RTPFB && fmt === 1 && len >= 16 && v.nack) {
      const media = readU32(b, p + 8);
      for (let q = p + 12; q + 4 <= p + len; q += 4) {
        const pid = (b[q]! << 8) | b[q + 1]!;
        const blp = (b[q + 2]! << 8) | b[q + 3]!;
        v.nack(media, pid);
        for (let i = 0; i < 16; i++) if (blp & (1 << i)) v.nack(media, (pid + i + 1) & 0xffff);
      }
    } else if (pt === RTCP_PSFB && len >= 12) {
      const media = readU32(b, p + 8);
      if (fmt === 1 && v.keyframeRequest) v.keyframeRequest(media);
      else if (fmt === 4 && len >= 20 && v.keyframeRequest) v.keyframeRequest(readU32(b, p + 12));
      else if (fmt === 15 && len >= 20 && v.remb && b[p + 12] === 0x52 && b[p + 13] === 0x45 && b[p + 14] === 0x4d && b[p + 15] === 0x42) {
        const n = b[p + 16]!;
        const exp = b[p + 17]! >> 2;
        const mantissa = ((b[p + 17]! & 0x03) << 16) | (b[p + 18]! << 8) | b[p + 19]!;
        const ssrcs: number[] = [];
        for (let i = 0; i < n && p + 20 + i * 4 + 4 <= p + len; i++) ssrcs.push(readU32(b, p + 20 + i * 4));
        v.remb(mantissa * 2 ** exp, ssrcs);
      }
    } else if (pt === RTCP_SR && len >= 28) {
      v.senderReport?.(readU32(b, p + 4), readU32(b, p + 8), readU32(b, p + 12), readU32(b, p + 16), p, len);
      if (v.reportBlock) visitBlocks(b, p + 28, fmt, p + len, v.reportBlock);
    } else if (pt === RTCP_RR && len >= 8 && v.reportBlock) {
      visitBlocks(b, p + 8, fmt, p + len, v.reportBlock);
    }
    p += len;
  }
}

function visitBlocks(b: Uint8Array, at: number, count: number, end: number, visit: NonNullable<RtcpVisitor['reportBlock']>): void {
  for (let i = 0, q = at; i < count && q + 24 <= end; i++, q += 24) visit(readU32(b, q), b[q + 4]! / 256, readU32(b, q + 16), readU32(b, q + 20));
}

function header(b: Buffer, fmt: number, pt: number, words: number): void {
  b[0] = 0x80 | fmt;
  b[1] = pt;
  writeU16(b, 2, words - 1);
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = Buffer.alloc(12);
  header(b, 1, RTCP_PSFB, 3);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, mediaSsrc);
  return b;
}

export function buildFir(senderSsrc: number, mediaSsrc: number, seqNr: number): Buffer {
  const b = Buffer.alloc(20);
  header(b, 4, RTCP_PSFB, 5);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, 0);
  writeU32(b, 12, mediaSsrc);
  b[16] = seqNr & 0xff;
  return b;
}

export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: number[]): Buffer {
  const b = Buffer.alloc(20 + ssrcs.length * 4);
  header(b, 15, RTCP_PSFB, 5 + ssrcs.length);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, 0);
  b.write('REMB', 12, 'latin1');
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    mantissa >>>= 1;
    exp++;
  }
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | (mantissa >>> 16);
  b[18] = (mantissa >>> 8) & 0xff;
  b[19] = mantissa & 0xff;
  ssrcs.forEach((s, i) => writeU32(b, 20 + i * 4, s));
  return b;
}

export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export function buildReceiverReport(senderSsrc: number, blocks: ReportBlock[]): Buffer {
  const b = Buffer.alloc(8 + blocks.length * 24);
  header(b, blocks.length, RTCP_RR, 2 + blocks.length * 6);
  writeU32(b, 4, senderSsrc);
  blocks.forEach((r, i) => {
    const o = 8 + i * 24;
    writeU32(b, o, r.ssrc);
    b[o + 4] = r.fractionLost & 0xff;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
    b[o + 5] = lost >>> 16;
    b[o + 6] = (lost >>> 8) & 0xff;
    b[o + 7] = lost & 0xff;
    writeU32(b, o + 8, r.extendedHighestSeq);
    writeU32(b, o + 12, r.jitter);
    writeU32(b, o + 16, r.lastSr);
    writeU32(b, o + 20, r.delaySinceLastSr);
  });
  return b;
}

/**
 * A sender report for viewers, from the publisher's: our SSRC, the publisher's NTP time,
 * its RTP timestamp shifted into our timestamp space, and our own packet/octet counts.
 * No report blocks (we are not reporting on what viewers send).
 */
export function buildSenderReport(ssrc: number, ntpHigh: number, ntpLow: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const b = Buffer.alloc(28);
  header(b, 0, RTCP_SR, 7);
  writeU32(b, 4, ssrc);
  writeU32(b, 8, ntpHigh);
  writeU32(b, 12, ntpLow);
  writeU32(b, 16, rtpTimestamp >>> 0);
  writeU32(b, 20, packets >>> 0);
  writeU32(b, 24, octets >>> 0);
  return b;
}

/**
 * Generic NACK (RFC 4585 6.2.1) for lost sequence numbers: one PID/BLP pair per run of up
 * to 17 numbers (the first, and a bitmask of the 16 after it).
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const pairs: Array<[number, number]> = [];
  for (const seq of seqs) {
    const last = pairs[pairs.length - 1];
    const d = last ? (seq - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else pairs.push([seq & 0xffff, 0]);
  }
  const b = Buffer.alloc(12 + pairs.length * 4);
  header(b, 1, RTCP_RTPFB, 3 + pairs.length);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, mediaSsrc);
  pairs.forEach(([pid, blp], i) => {
    writeU16(b, 12 + i * 4, pid);
    writeU16(b, 14 + i * 4, blp);
  });
  return b;
}
