/**
 * A viewer's video consumer of a simulcast producer: it receives one of the producer's
 * layers (one MediaTrack per resolution, lowest first) and switches between them without
 * the viewer noticing anything but the picture size. It picks the layer from what it is
 * told about the viewer (player width, a pinned quality), what is being sent (a layer the
 * publisher stopped is skipped) and what the viewer's link carries (LayerAllocator, fed
 * with its REMB, NACKs and round trips; this class sends the probes it asks for). A switch
 * waits for a keyframe of the target layer — asked for, and asked again while it does not
 * come — and the old layer keeps flowing until then, so the picture never freezes. Sequence numbers and timestamps continue
 * across switches in the consumer's own space, on the one SSRC its SDP announced; sender
 * reports and NACKs are translated to and from it. Per-packet code: no allocation.
 */
import type { LayerPreferences, LayerState } from '../protocol/sfu.ts';
import type { Consumer, ConsumerOwner, ConsumerSink, MediaTrack } from './media-track.ts';
import { seqNewer } from './media-track.ts';
import { LayerAllocator } from './layer-allocator.ts';
import { FrameKind, classifyH264, isVp8Keyframe, rtpPayloadOffset, rtpSeq, rtpTimestamp, writeU16, writeU32 } from './rtp.ts';

/** A layer that sent nothing for this long is not being sent (the publisher turned it off, or its network is short). */
const LAYER_IDLE_MS = 1_500;
/** A keyframe asked for and not arrived after this long is asked for again. */
const KEYFRAME_RETRY_MS = 1_000;
const CHECK_MS = 250;
const PROBE_EVERY_MS = 20;
/** Probing pauses this long after a keyframe of the current layer started. */
const PROBE_KEYFRAME_PAUSE_MS = 500;
/** While probing, a sender report at least this often (the round trip shows the probe's queue). */
const PROBE_SR_EVERY_MS = 100;
/** Packets a probe may cost the viewer before it stops. */
const PROBE_ABORT_LOSSES = 2;
/** A packet is resent again no sooner than this (or the round trip, when longer). */
const MIN_RESEND_GAP_MS = 100;
/** Resends a second: at most this share of the media packets sent, and at least this many. */
const RESEND_SHARE = 0.5;
const RESEND_FLOOR = 10;
/** A layer this much narrower than the player still looks sharp enough (scaled up a little). */
const WIDTH_SLACK = 0.9;

export class SimulcastConsumer {
  /** One consumer on each layer's track; only the current (and, at its keyframe, the target) layer's packets pass. */
  readonly proxies: Consumer[];
  private current = -1;
  private target: number;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq = (Math.random() * 0x8000) | 0;
  private lastTs = (Math.random() * 0x7fffffff) >>> 0;
  private lastAt = 0;
  /** Our sequence number of the current layer's first packet (NACKs before it cannot be answered). */
  private switchSeq = -1;
  /** The target layer's latest timestamp seen while waiting: a keyframe starts at a new one. */
  private targetTs = -1;
  private askedAt = -Infinity;
  private prefs: LayerPreferences = { maxWidth: null, pinned: null };
  private readonly timer: NodeJS.Timeout;
  switches = 0;
  /** A viewer's link decides how high it may go; followers (recorder, pipes) take the top layer sent. */
  private readonly allocator: LayerAllocator | null;
  private nacked = 0;
  /** Recently NACKed sequence numbers (by their low 9 bits), and when each was last resent. */
  private readonly nackedSeqs = new Int32Array(512).fill(-1);
  private readonly resentAt = new Float64Array(512).fill(-Infinity);
  /** Resends since the last assessment (not counted as sent media), and the media packets sent in the second before. */
  private resentThisSecond = 0;
  private sentLastSecond = 50;
  private sentAtAssess = 0;
  private assessedAt = performance.now();
  private probeTimer: NodeJS.Timeout | undefined;
  /** Duplicates sent to probe the link since the last assessment (not counted as sent media). */
  private probePackets = 0;
  /** Our sender reports' NTP middle 32 bits -> when we sent them, for RTT from receiver reports. */
  private readonly srSentAt = new Map<number, number>();
  /** The last sender report of the layer as we sent it, and when it came; when we last sent any. */
  private lastSr: Buffer | null = null;
  private lastSrAt = 0;
  private srLastSentAt = -Infinity;
  /** The layers' bitrates, for the allocator (kept to avoid an array per REMB). */
  private readonly bitrates: number[];

  constructor(
    private readonly layers: readonly MediaTrack[],
    private readonly sink: ConsumerSink,
    payloadType: number,
    /** The SSRC the viewer's SDP announced for video. */
    private readonly ssrc: number,
    private readonly requestKeyframe: (layer: number) => void,
    owner: ConsumerOwner,
    /** Told of every switch (the router counts them for /metrics). */
    private readonly onSwitch: () => void = () => {},
    adaptive = false,
    /** The viewer's abs-send-time id (0: none). */
    absSendTimeId = 0,
  ) {
    this.allocator = adaptive ? new LayerAllocator(layers.length - 1, performance.now()) : null;
    this.bitrates = layers.map(() => 0);
    this.proxies = layers.map((_track, i) => ({
      sink,
      payloadType,
      absSendTimeId,
      open: false,
      packetsSent: 0,
      broken: false,
      owner,
      rewrite: (buf: Buffer) => this.pass(i, buf),
      senderReport: (report: Buffer) => this.senderReport(i, report),
    }));
    this.target = this.choose();
    for (let i = 0; i < layers.length; i++) layers[i]!.add(this.proxies[i]!);
    this.timer = setInterval(() => this.update(), CHECK_MS);
  }

  /** The viewer's track opened: start on the chosen layer, from its cached keyframe when there is one. */
  open(primeMaxAgeMs: number): void {
    for (const p of this.proxies) p.open = true;
    this.target = this.choose();
    if (!this.layers[this.target]!.prime(this.proxies[this.target]!, primeMaxAgeMs)) this.ask();
  }

  setPreferences(prefs: LayerPreferences): void {
    this.prefs = prefs;
    this.update();
  }

  /** The viewer lost a picture (PLI/FIR): a keyframe of the layer it gets. */
  keyframeNeeded(): void {
    this.requestKeyframe(this.current >= 0 ? this.current : this.target);
  }

  /** The viewer's REMB estimate of its downlink (bit/s): a cut under the current layer switches at once. */
  onRemb(bitrate: number): void {
    if (!this.allocator || !this.proxies[0]!.open) return;
    for (let i = 0; i < this.layers.length; i++) this.bitrates[i] = this.layers[i]!.bitrate;
    if (this.allocator.onRemb(bitrate, performance.now(), Math.max(0, this.current), this.bitrates)) this.update();
    else if (!this.allocator.probing) this.stopProbe();
  }

  private stopProbe(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** A report block of the viewer about our SSRC: the round-trip time from LSR/DLSR. */
  onReportBlock(ssrc: number, lsr: number, dlsr: number): void {
    if (ssrc !== this.ssrc || lsr === 0) return;
    const sentAt = this.srSentAt.get(lsr);
    if (sentAt === undefined || !this.allocator) return;
    if (this.allocator.onRtt(performance.now() - sentAt - (dlsr / 65536) * 1000, performance.now())) this.stopProbe();
  }

  /** Answers a viewer's NACK (our sequence number) from the current layer's cache; each counts as a packet lost. */
  retransmit(seq: number): boolean {
    // A viewer NACKs a packet again until it arrives: count each lost packet once, and resend
    // it at most once per round trip. Answering every repeat floods a link that is already
    // short (measured: 250 resends a second into a 400 kbit/s link carrying 40 packets a second).
    const slot = seq & 511;
    const now = performance.now();
    if (this.nackedSeqs[slot] !== seq) {
      this.nackedSeqs[slot] = seq;
      this.nacked++;
      this.resentAt[slot] = -Infinity;
    }
    if (now - this.resentAt[slot]! < Math.max(MIN_RESEND_GAP_MS, this.allocator?.rttMs ?? 0)) return false;
    if (this.current < 0 || seqNewer(this.switchSeq, seq)) return false;
    if (this.resentThisSecond >= Math.max(RESEND_FLOOR, this.sentLastSecond * RESEND_SHARE)) return false;
    if (!this.layers[this.current]!.retransmit(this.proxies[this.current]!, (seq - this.seqOffset) & 0xffff)) return false;
    this.resentAt[slot] = now;
    this.resentThisSecond++;
    return true;
  }

  state(): LayerState {
    const a = this.allocator;
    return {
      current: this.current,
      target: this.target,
      switches: this.switches,
      cap: a ? a.cap : this.layers.length - 1,
      estimate: a?.estimate ?? null,
      loss: a ? Math.round(a.loss * 1000) / 1000 : 0,
      rttMs: a?.rttMs === null || !a ? null : Math.round(a.rttMs),
      layers: this.layers.map((t) => ({ width: t.width, height: t.height, active: t.idleFor() < LAYER_IDLE_MS, bitrate: t.bitrate })),
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.stopProbe();
    for (let i = 0; i < this.layers.length; i++) {
      this.proxies[i]!.open = false;
      this.layers[i]!.remove(this.proxies[i]!);
    }
  }

  /**
   * Probing the link for the next layer: duplicates of the current layer's latest packets,
   * enough to reach the next layer's bitrate (the viewer drops them as duplicates).
   */
  private probe(): void {
    if (this.current < 0 || !this.proxies[0]!.open) return;
    this.extraSenderReport(performance.now());
    const track = this.layers[this.current]!;
    // A keyframe of the layer is a burst of its own: probing on top of it overflows the queue.
    if (track.keyframeAge() < PROBE_KEYFRAME_PAUSE_MS) return;
    const extra = (this.layers[this.current + 1]?.bitrate ?? 0) * 1.1 - track.bitrate;
    if (extra <= 0) return;
    const packets = Math.min(20, Math.ceil((extra * PROBE_EVERY_MS) / 1000 / (8 * 1100)));
    const newest = (this.lastSeq - this.seqOffset) & 0xffff;
    for (let i = 0; i < packets; i++) {
      if (track.retransmit(this.proxies[this.current]!, (newest - (i % 8)) & 0xffff)) this.probePackets++;
    }
  }

  /** The layer the viewer should get now (`ignoreLink`: what it would get on an unlimited link). */
  private choose(ignoreLink = false): number {
    const top = this.layers.length - 1;
    let want = top;
    if (this.prefs.pinned !== null) want = Math.max(0, Math.min(top, this.prefs.pinned));
    else {
      if (this.prefs.maxWidth !== null) {
        for (let i = 0; i < top; i++) {
          const w = this.layers[i]!.width;
          if (w > 0 && w >= this.prefs.maxWidth * WIDTH_SLACK) {
            want = i;
            break;
          }
        }
      }
      if (this.allocator && !ignoreLink) want = Math.min(want, this.allocator.cap);
    }
    // A layer not being sent cannot be watched: the nearest one below that is, else above.
    if (this.active(want)) return want;
    for (let i = want - 1; i >= 0; i--) if (this.active(i)) return i;
    for (let i = want + 1; i <= top; i++) if (this.active(i)) return i;
    return want;
  }

  private active(i: number): boolean {
    return this.layers[i]!.idleFor() < LAYER_IDLE_MS;
  }

  private update(): void {
    if (!this.proxies[0]!.open) return;
    const now = performance.now();
    // A probe that costs the viewer packets stops at once, not at the end of the second.
    if (this.allocator?.probing && this.nacked >= PROBE_ABORT_LOSSES) {
      this.allocator.abortProbe(now);
      this.stopProbe();
    }
    if (this.allocator && now - this.assessedAt >= 1_000) {
      let sent = 0;
      for (const p of this.proxies) sent += p.packetsSent;
      const current = Math.max(0, this.current);
      const wantsHigher = this.choose(true) > current;
      const real = sent - this.sentAtAssess - this.probePackets - this.resentThisSecond;
      this.allocator.assess({ sent: real, nacked: this.nacked, current, currentBitrate: this.layers[current]!.bitrate, nextBitrate: this.layers[current + 1]?.bitrate ?? 0, wantsHigher }, now);
      this.sentAtAssess = sent;
      this.nacked = 0;
      this.probePackets = 0;
      this.resentThisSecond = 0;
      this.sentLastSecond = Math.max(0, real);
      this.assessedAt = now;
      if (this.allocator.probing && !this.probeTimer) this.probeTimer = setInterval(() => this.probe(), PROBE_EVERY_MS);
      else if (!this.allocator.probing) this.stopProbe();
    }
    const want = this.choose();
    if (want !== this.target) {
      this.target = want;
      this.targetTs = -1;
      if (want !== this.current) this.ask();
    } else if (this.target !== this.current && performance.now() - this.askedAt > KEYFRAME_RETRY_MS) {
      this.ask();
    }
  }

  private ask(): void {
    this.askedAt = performance.now();
    this.requestKeyframe(this.target);
  }

  /** Per packet of layer `i`: false drops it; true after rewriting it into our space. */
  private pass(i: number, buf: Buffer): boolean {
    if (i === this.target && i !== this.current) {
      const ts = rtpTimestamp(buf);
      if (ts !== this.targetTs) {
        this.targetTs = ts;
        if (this.startsKeyframe(i, buf)) this.switchTo(i, buf, ts);
      }
    }
    if (i !== this.current) return false;
    const seq = (rtpSeq(buf) + this.seqOffset) & 0xffff;
    const ts = (rtpTimestamp(buf) + this.tsOffset) >>> 0;
    if (seqNewer(seq, this.lastSeq)) {
      this.lastSeq = seq;
      this.lastTs = ts;
      this.lastAt = performance.now();
    }
    writeU16(buf, 2, seq);
    writeU32(buf, 4, ts);
    writeU32(buf, 8, this.ssrc);
    return true;
  }

  private startsKeyframe(i: number, buf: Buffer): boolean {
    const off = rtpPayloadOffset(buf);
    if (off < 0) return false;
    return this.layers[i]!.codec === 'h264' ? classifyH264(buf, off) === FrameKind.Key : isVp8Keyframe(buf, off);
  }

  /** Continues our space from the last packet sent: the next sequence number, the time elapsed since. */
  private switchTo(i: number, buf: Buffer, ts: number): void {
    const started = this.current >= 0 || this.lastAt > 0;
    const elapsed = started ? Math.max(1, Math.round(((performance.now() - this.lastAt) * this.layers[i]!.clockRate) / 1000)) : 0;
    this.seqOffset = (this.lastSeq + 1 - rtpSeq(buf)) & 0xffff;
    this.tsOffset = (this.lastTs + elapsed - ts) >>> 0;
    this.switchSeq = (this.lastSeq + 1) & 0xffff;
    if (this.current >= 0) {
      this.switches++;
      this.onSwitch();
    }
    this.current = i;
  }

  /** The current layer's sender report, on our SSRC and timestamps (A/V sync depends on it). */
  private senderReport(i: number, report: Buffer): void {
    if (i !== this.current || report.length < 20) return;
    const out = Buffer.from(report);
    writeU32(out, 4, this.ssrc);
    writeU32(out, 16, (out.readUInt32BE(16) + this.tsOffset) >>> 0);
    this.lastSr = out;
    this.lastSrAt = performance.now();
    this.sendSenderReport(out);
  }

  /**
   * While probing: our last sender report again, its NTP and RTP times moved on by the time
   * since (the same mapping, so A/V sync is unchanged). The viewer's next receiver report
   * answers it, so the round trip — the probe's queue — is measured every PROBE_SR_EVERY_MS
   * instead of once a second with the publisher's reports.
   */
  private extraSenderReport(now: number): void {
    const last = this.lastSr;
    if (!last || now - this.srLastSentAt < PROBE_SR_EVERY_MS) return;
    const elapsed = now - this.lastSrAt;
    const out = Buffer.from(last);
    const frac = out.readUInt32BE(12) + Math.round((elapsed / 1000) * 2 ** 32);
    writeU32(out, 8, (out.readUInt32BE(8) + Math.floor(frac / 2 ** 32)) >>> 0);
    writeU32(out, 12, frac >>> 0);
    writeU32(out, 16, (out.readUInt32BE(16) + Math.round((elapsed * this.layers[this.current]!.clockRate) / 1000)) >>> 0);
    this.sendSenderReport(out);
  }

  private sendSenderReport(out: Buffer): void {
    // Its NTP middle 32 bits come back as LSR in the viewer's receiver reports.
    const key = ((out.readUInt32BE(8) & 0xffff) << 16 | (out.readUInt32BE(12) >>> 16)) >>> 0;
    this.srLastSentAt = performance.now();
    this.srSentAt.set(key, this.srLastSentAt);
    if (this.srSentAt.size > 8) this.srSentAt.delete(this.srSentAt.keys().next().value!);
    try {
      this.sink.sendMessageBinary(out);
    } catch {
      // The track closed: the transport's state handler cleans up.
    }
  }
}
