/**
 * The outgoing track of a producer (its audio or its video): takes the source's RTP,
 * rewrites it into the router's own SSRC / sequence / timestamp space, and fans it out to
 * every consumer. The outgoing space survives publisher reconnects, so viewers see one
 * continuous stream. Each packet gets an abs-send-time slot on arrival (a copy only when the
 * publisher did not bring one) and each send stamps it for viewers that negotiated it.
 * Per-packet code: no other allocation, no await, no logging.
 */
import { stampAbsSendTime, withAbsSendTimeSlot } from './abs-send-time.ts';
import { PacketCache } from './packet-cache.ts';
import { FrameKind, classifyH264, isVp8Keyframe, rtpPayloadOffset, rtpSeq, rtpSsrc, rtpTimestamp, rewriteRtp, writeU16, writeU32 } from './rtp.ts';
import { h264FrameSize, vp8FrameSize } from './frame-size.ts';
import { buildSenderReport } from './rtcp.ts';

/** What a media track needs from a viewer's track (node-datachannel Track in production). */
export interface ConsumerSink {
  sendMessageBinary(buf: Buffer): boolean;
}

export interface Consumer {
  sink: ConsumerSink;
  payloadType: number;
  /** Set once the viewer's track is open; packets are only sent to open consumers. */
  open: boolean;
  packetsSent: number;
  /** Sink threw (closed underneath us): the owner removes it. */
  broken: boolean;
  /** The transport it belongs to, told when its sink broke. */
  owner?: ConsumerOwner;
  /**
   * A simulcast consumer's say over each packet of its layer: false drops it; true lets it
   * go out after rewriting sequence, timestamp and SSRC into the consumer's own space in
   * place (the track puts its own values back after the send, for other consumers and the cache).
   */
  rewrite?: (buf: Buffer) => boolean;
  /** The viewer's id for abs-send-time (0: not negotiated, nothing stamped). */
  absSendTimeId?: number;
  /** Sender reports for a consumer with its own space go through here instead of the sink. */
  senderReport?: (report: Buffer) => void;
}

export interface ConsumerOwner {
  consumerBroken(c: Consumer): void;
}

export interface MediaTrackOptions {
  kind: 'audio' | 'video';
  codec: string;
  clockRate: number;
  ssrc: number;
  cacheSize: number;
  /** Called when a viewer needs a keyframe (throttling is the caller's). */
  onKeyframeNeeded: () => void;
  /** Called when an H.264 B-slice is seen. */
  onBFrame: () => void;
  now?: () => number;
}

const SEQ_GAP_RESET = 3000;

export class MediaTrack {
  readonly kind: 'audio' | 'video';
  readonly codec: string;
  readonly clockRate: number;
  readonly ssrc: number;
  readonly consumers: Consumer[] = [];
  readonly cache: PacketCache;

  // Mapping from the current source into the outgoing space.
  private sourceSsrc = -1;
  private seqOffset = 0;
  private tsOffset = 0;
  // Last packet sent out, to continue the outgoing space after a source change.
  private lastOutSeq: number;
  private lastOutTs: number;
  private lastOutAt = 0;
  private lastInSeq = -1;
  /** Outgoing seq of the first packet of the most recent keyframe, and when it arrived. */
  private keyframeSeq = -1;
  private keyframeTs = -1;
  private keyframeAt = 0;
  private readonly now: () => number;

  /** Incoming bitrate (bit/s) over the router's last second (its tick measures it). */
  bitrate = 0;
  private bytesAtTick = 0;
  /** Picture size of the latest keyframe (0 until one announced it). */
  width = 0;
  height = 0;
  packetsIn = 0;
  packetsOut = 0;
  octetsOut = 0;
  bytesIn = 0;

  constructor(private readonly o: MediaTrackOptions) {
    this.kind = o.kind;
    this.codec = o.codec;
    this.clockRate = o.clockRate;
    this.ssrc = o.ssrc;
    this.cache = new PacketCache(o.cacheSize);
    this.now = o.now ?? (() => performance.now());
    this.lastOutSeq = (Math.random() * 0x8000) | 0;
    this.lastOutTs = (Math.random() * 0x7fffffff) >>> 0;
  }

  /** Forwards one RTP packet of the publisher (the buffer, or its copy with a slot, is rewritten in place and kept). */
  forward(packet: Buffer): void {
    const buf = withAbsSendTimeSlot(packet);
    if (!buf) return;
    const off = rtpPayloadOffset(buf);
    const t = this.now();
    const ssrc = rtpSsrc(buf);
    const seq = rtpSeq(buf);
    if (ssrc !== this.sourceSsrc || (this.lastInSeq >= 0 && seqDistance(this.lastInSeq, seq) > SEQ_GAP_RESET)) {
      this.rebase(ssrc, seq, rtpTimestamp(buf), t);
    }
    this.lastInSeq = seq;
    this.packetsIn++;
    this.bytesIn += buf.length;

    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (rtpTimestamp(buf) + this.tsOffset) >>> 0;
    if (this.kind === 'video') {
      const kind = this.codec === 'h264' ? classifyH264(buf, off) : isVp8Keyframe(buf, off) ? FrameKind.Key : FrameKind.Other;
      if (kind === FrameKind.Key && outTs !== this.keyframeTs) {
        // First packet of a new keyframe (SPS/PPS and the IDR slices share its timestamp).
        this.keyframeSeq = outSeq;
        this.keyframeTs = outTs;
        this.keyframeAt = t;
        const size = this.codec === 'h264' ? h264FrameSize(buf, off) : vp8FrameSize(buf, off);
        if (size) {
          this.width = size.width;
          this.height = size.height;
        }
      } else if (kind === FrameKind.BSlice) {
        this.o.onBFrame();
      }
    }
    rewriteRtp(buf, buf[1]! & 0x7f, outSeq, outTs, this.ssrc);
    if (seqNewer(outSeq, this.lastOutSeq)) {
      this.lastOutSeq = outSeq;
      this.lastOutTs = outTs;
      this.lastOutAt = t;
    }
    this.cache.put(outSeq, buf);

    const list = this.consumers;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!c.open) continue;
      this.send(c, buf);
    }
  }

  private send(c: Consumer, buf: Buffer): void {
    if (c.rewrite) this.sendRewritten(c, buf);
    else this.deliver(c, buf);
  }

  private deliver(c: Consumer, buf: Buffer): void {
    buf[1] = (buf[1]! & 0x80) | c.payloadType;
    if (c.absSendTimeId) stampAbsSendTime(buf, c.absSendTimeId, this.now());
    try {
      c.sink.sendMessageBinary(buf);
      c.packetsSent++;
      this.packetsOut++;
      this.octetsOut += buf.length;
    } catch {
      c.broken = true;
      c.open = false;
    }
  }

  /** A simulcast consumer's packet: sent in its own space, then put back in ours. */
  private sendRewritten(c: Consumer, buf: Buffer): void {
    const seq = rtpSeq(buf);
    const ts = rtpTimestamp(buf);
    const ssrc = rtpSsrc(buf);
    if (!c.rewrite!(buf)) return;
    this.deliver(c, buf);
    writeU16(buf, 2, seq);
    writeU32(buf, 4, ts);
    writeU32(buf, 8, ssrc);
  }

  /** A new source (first publisher, reconnect, SSRC change or a jump): continue our space. */
  private rebase(ssrc: number, seq: number, ts: number, t: number): void {
    const elapsed = this.lastOutAt > 0 ? Math.max(1, Math.round(((t - this.lastOutAt) * this.clockRate) / 1000)) : 0;
    this.seqOffset = (this.lastOutSeq + 1 - seq) & 0xffff;
    this.tsOffset = (this.lastOutTs + elapsed - ts) >>> 0;
    this.sourceSsrc = ssrc;
    this.lastInSeq = -1;
    this.keyframeSeq = -1;
    this.keyframeTs = -1;
  }

  /** Answers a viewer's NACK from the cache; returns true when the packet was resent. */
  retransmit(c: Consumer, seq: number): boolean {
    const buf = this.cache.get(seq);
    if (!buf || !c.open) return false;
    this.send(c, buf);
    return true;
  }

  /**
   * Primes a viewer whose track just opened with the current group of pictures: the last
   * keyframe and every packet since, so the first frame decodes at once even when the
   * encoder ignores keyframe requests (fixed GOP). The replayed frames get timestamps
   * squeezed into the milliseconds before the live edge, so the player shows them quickly
   * and then continues live instead of lagging by the age of the keyframe. Sequence numbers
   * stay as they are (the viewer's stream just starts at the keyframe). Returns false when
   * there is nothing recent or complete enough to replay; the caller then asks for a keyframe.
   */
  prime(c: Consumer, maxAgeMs: number): boolean {
    if (this.keyframeSeq < 0 || this.now() - this.keyframeAt > maxAgeMs) return false;
    const count = ((this.lastOutSeq - this.keyframeSeq) & 0xffff) + 1;
    if (count > this.cache.size) return false;
    // The replay and how many frames it holds (packets of a frame share a timestamp).
    const packets: Buffer[] = [];
    let frames = 0;
    let last = -1;
    for (let i = 0, s = this.keyframeSeq; i < count; i++, s = (s + 1) & 0xffff) {
      const buf = this.cache.get(s);
      if (!buf) return false; // a hole: the viewer could not decode it anyway
      packets.push(buf);
      const ts = rtpTimestamp(buf);
      if (ts !== last) frames++;
      last = ts;
    }
    const liveTs = last;
    const step = Math.max(1, Math.round(this.clockRate / 1000));
    let frame = 0;
    last = -1;
    for (const p of packets) {
      const ts = rtpTimestamp(p);
      if (ts !== last) frame++;
      last = ts;
      // The cached packet itself, its timestamp squeezed for this send and put back (sinks
      // copy synchronously, as send() relies on for the payload type): no copy per packet.
      writeU32(p, 4, (liveTs - (frames - frame) * step) >>> 0);
      this.send(c, p);
      writeU32(p, 4, ts);
    }
    return true;
  }

  /** The publisher's sender report, translated into our space, for every consumer. */
  senderReport(ntpHigh: number, ntpLow: number, rtpTimestamp: number, ssrc: number): void {
    if (ssrc !== this.sourceSsrc) return;
    const report = buildSenderReport(this.ssrc, ntpHigh, ntpLow, (rtpTimestamp + this.tsOffset) >>> 0, this.packetsOut, this.octetsOut);
    for (const c of this.consumers) {
      if (!c.open) continue;
      if (c.senderReport) {
        c.senderReport(report);
        continue;
      }
      try {
        c.sink.sendMessageBinary(report);
      } catch {
        c.broken = true;
        c.open = false;
      }
    }
  }

  /** The router's once-a-second tick: the bitrate since the last. */
  measure(seconds: number): void {
    if (seconds > 0) this.bitrate = Math.round(((this.bytesIn - this.bytesAtTick) * 8) / seconds);
    this.bytesAtTick = this.bytesIn;
  }

  add(c: Consumer): void {
    this.consumers.push(c);
  }

  /** Time since the last keyframe started, in ms (Infinity before the first). */
  keyframeAge(): number {
    return this.keyframeSeq < 0 ? Infinity : this.now() - this.keyframeAt;
  }

  remove(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i >= 0) this.consumers.splice(i, 1);
  }

  /** Time since the last forwarded packet, in ms (Infinity before the first). */
  idleFor(): number {
    return this.lastOutAt > 0 ? this.now() - this.lastOutAt : Infinity;
  }
}

/** Forward distance from a to b in 16-bit sequence space (0..65535). */
function seqDistance(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d > 0x8000 ? 0x10000 - d : d;
}

/** True when sequence number a is newer than b (RFC 1982 serial arithmetic). */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}
