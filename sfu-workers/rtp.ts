/**
 * RTP (RFC 3550) header access and the codec checks the router needs per packet: where the
 * payload starts, whether a packet starts a keyframe, whether an H.264 slice is a B-slice.
 * Hot path: no allocation, no exceptions for malformed input (callers get -1 / false).
 */

/** True when the datagram is RTCP rather than RTP (RFC 5761 demultiplexing). */
export function isRtcp(buf: Uint8Array): boolean {
  return buf.length >= 8 && buf[1]! >= 192 && buf[1]! <= 223;
}

/** Offset of the RTP payload, or -1 when the packet is not a well-formed RTP packet. */
export function rtpPayloadOffset(buf: Uint8Array): number {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return -1;
  let off = 12 + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < off + 4) return -1;
    off += 4 + ((buf[off + 2]! << 8) | buf[off + 3]!) * 4;
  }
  let end = buf.length;
  if (buf[0]! & 0x20) end -= buf[buf.length - 1]!;
  return off < end ? off : -1;
}

export const rtpSeq = (b: Uint8Array) => (b[2]! << 8) | b[3]!;
export const rtpTimestamp = (b: Uint8Array) => ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
export const rtpSsrc = (b: Uint8Array) => ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
export const rtpMarker = (b: Uint8Array) => (b[1]! & 0x80) !== 0;

export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Rewrites payload type, sequence number, timestamp and SSRC in place. */
export function rewriteRtp(b: Uint8Array, payloadType: number, seq: number, timestamp: number, ssrc: number): void {
  b[1] = (b[1]! & 0x80) | payloadType;
  writeU16(b, 2, seq);
  writeU32(b, 4, timestamp);
  writeU32(b, 8, ssrc);
}

export const enum FrameKind {
  Other = 0,
  Key = 1,
  /** H.264 B-slice: browsers cannot play streams with B-frames over WebRTC. */
  BSlice = 2,
}

/** Classifies an H.264 RTP payload (RFC 6184): keyframe start, B-slice, or anything else. */
export function classifyH264(b: Uint8Array, off: number): FrameKind {
  const type = b[off]! & 0x1f;
  if (type === 5 || type === 7) return FrameKind.Key;
  if (type === 1) return sliceKind(b, off + 1);
  if (type === 24) {
    // STAP-A: 16-bit size + NAL unit, repeated.
    let p = off + 1;
    while (p + 2 < b.length) {
      const size = (b[p]! << 8) | b[p + 1]!;
      if (size === 0 || p + 2 + size > b.length) break;
      const t = b[p + 2]! & 0x1f;
      if (t === 5 || t === 7) return FrameKind.Key;
      if (t === 1) return sliceKind(b, p + 3);
      p += 2 + size;
    }
    return FrameKind.Other;
  }
  if (type === 28 && off + 1 < b.length) {
    // FU-A: only the first fragment carries the slice header.
    const fuHeader = b[off + 1]!;
    if ((fuHeader & 0x80) === 0) return FrameKind.Other;
    const t = fuHeader & 0x1f;
    if (t === 5) return FrameKind.Key;
    if (t === 1) return sliceKind(b, off + 2);
  }
  return FrameKind.Other;
}

/** Reads first_mb_in_slice and slice_type (two ue(v) codes) of a slice header. */
function sliceKind(b: Uint8Array, start: number): FrameKind {
  let bit = start * 8;
  const end = Math.min(b.length, start + 8) * 8;
  const readUe = (): number => {
    let zeros = 0;
    while (bit < end && ((b[bit >> 3]! >> (7 - (bit & 7))) & 1) === 0) {
      zeros++;
      bit++;
      if (zeros > 31) return -1;
    }
    bit++;
    let value = 0;
    for (let i = 0; i < zeros; i++) {
      if (bit >= end) return -1;
      value = value * 2 + ((b[bit >> 3]! >> (7 - (bit & 7))) & 1);
      bit++;
    }
    return bit > end ? -1 : (1 << zeros) - 1 + value;
  };
  if (readUe() < 0) return FrameKind.Other;
  const sliceType = readUe();
  return sliceType >= 0 && sliceType % 5 === 1 ? FrameKind.BSlice : FrameKind.Other;
}

/** True when a VP8 RTP payload (RFC 7741) starts a keyframe. */
export function isVp8Keyframe(b: Uint8Array, off: number): boolean {
  const d = b[off]!;
  const start = (d & 0x10) !== 0;
  const partition = d & 0x07;
  if (!start || partition !== 0) return false;
  let p = off + 1;
  if (d & 0x80) {
    const x = b[p++]!;
    if (x & 0x80) p += (b[p]! & 0x80) ? 2 : 1; // PictureID
    if (x & 0x40) p += 1; // TL0PICIDX
    if (x & 0x30) p += 1; // TID / KEYIDX
  }
  return p < b.length && (b[p]! & 0x01) === 0;
}
