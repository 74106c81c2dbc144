/**
 * The abs-send-time RTP header extension (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
 * 24 bits, the send time in seconds as 6.18 fixed point. With it on every packet, a Chrome
 * viewer's receive-side bandwidth estimator measures queueing delay on its downlink and
 * sends REMB within a few hundred milliseconds of congestion, before the bottleneck drops
 * anything (without it, it guesses from RTP timestamps and answers seconds late).
 *
 * Each packet a track forwards carries one slot for it: the first element of a one-byte
 * header extension block (RFC 8285), 3 bytes. A publisher that negotiated abs-send-time
 * brings the slot itself (we then overwrite its value); a packet without one is copied once,
 * on arrival, with a slot added and any other extension dropped (no viewer negotiated the
 * publisher's other ids). Each send then writes the viewer's id and the time in place.
 */
import { rtpPayloadOffset } from './rtp.ts';

export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

const ONE_BYTE_PROFILE = 0xbede;

/** Where the slot's element header is (the value follows it): after the fixed header, the CSRCs and the block's 4-byte header. */
function slotAt(buf: Uint8Array): number {
  return 12 + (buf[0]! & 0x0f) * 4 + 4;
}

/** True when the packet has the slot: a one-byte-header block whose first element is 3 bytes. */
export function hasAbsSendTimeSlot(buf: Uint8Array): boolean {
  if (!(buf[0]! & 0x10)) return false;
  const block = 12 + (buf[0]! & 0x0f) * 4;
  if (buf.length < block + 8) return false;
  if (((buf[block]! << 8) | buf[block + 1]!) !== ONE_BYTE_PROFILE) return false;
  if (((buf[block + 2]! << 8) | buf[block + 3]!) < 1) return false;
  const el = buf[block + 4]!;
  // Our own fresh slot is a one-word block of padding (id 0), which receivers skip.
  if (el === 0) return ((buf[block + 2]! << 8) | buf[block + 3]!) === 1;
  return el >> 4 !== 15 && (el & 0x0f) === 2;
}

/**
 * The packet with a slot: itself when it has one, else a copy with an 8-byte block holding
 * only the slot (its other extensions dropped). Null for a packet that is not well-formed RTP.
 */
export function withAbsSendTimeSlot(buf: Buffer): Buffer | null {
  const payload = rtpPayloadOffset(buf);
  if (payload < 0) return null;
  if (hasAbsSendTimeSlot(buf)) return buf;
  const header = 12 + (buf[0]! & 0x0f) * 4;
  const out = Buffer.allocUnsafe(header + 8 + (buf.length - payload));
  buf.copy(out, 0, 0, header);
  out[0] = out[0]! | 0x10;
  out[header] = 0xbe;
  out[header + 1] = 0xde;
  out[header + 2] = 0;
  out[header + 3] = 1;
  // Padding until a send to a viewer that negotiated the extension writes its id.
  out[header + 4] = 0;
  out[header + 5] = 0;
  out[header + 6] = 0;
  out[header + 7] = 0;
  buf.copy(out, header + 8, payload);
  return out;
}

/** Writes the viewer's extension id and the send time (ms, any monotonic clock) into the packet's slot. */
export function stampAbsSendTime(buf: Uint8Array, id: number, nowMs: number): void {
  const at = slotAt(buf);
  // 6.18 fixed-point seconds, wrapping every 64 s.
  const t = Math.round(nowMs * 262.144) & 0xffffff;
  buf[at] = (id << 4) | 2;
  buf[at + 1] = t >>> 16;
  buf[at + 2] = (t >>> 8) & 0xff;
  buf[at + 3] = t & 0xff;
}
