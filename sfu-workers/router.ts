/**
 * A router carries one live stream inside a worker: the publisher's tracks come in, each
 * MediaTrack fans them out to the viewers' tracks. RTCP: viewers' PLI/FIR become a
 * throttled keyframe request to the publisher, their NACKs are answered from the packet
 * cache, the publisher's sender reports are translated for viewers, and the publisher gets
 * receiver reports and a REMB cap from us.
 */
import { randomInt } from 'node:crypto';
import type { PeerConnection, Track } from 'node-datachannel';
import type { PeerId, RouterId, StreamId } from '../protocol/ids.ts';
import type { AddRecorderRequest, PeerCloseReason, PeerRole, ProducerInfo, RecorderTrack, RouterStats, WorkerSettings } from '../protocol/sfu.ts';
import { MediaTrack, type Consumer } from './media-track.ts';
import { PlainRtpSink } from './plain-rtp-sink.ts';
import { negotiate, type SendSsrc } from './peer-connection.ts';
import { ReceiveStats } from './receive-stats.ts';
import { buildPli, buildReceiverReport, buildRemb, visitRtcp, type ReportBlock } from './rtcp.ts';
import { isRtcp, rtpSeq, rtpSsrc, rtpTimestamp } from './rtp.ts';
import { chooseViewCodecs, type CodecChoice, type SdpOffer } from './sdp.ts';

export class SfuError extends Error {
  constructor(
    readonly code: import('../protocol/sfu.ts').SfuErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RouterEvents {
  peerConnected(peerId: PeerId, role: PeerRole): void;
  peerClosed(peerId: PeerId, role: PeerRole, reason: PeerCloseReason, message: string): void;
  mediaFlowing(flowing: boolean): void;
}

/** Keyframe requests to one publisher: at most one per this interval, the rest coalesced. */
const KEYFRAME_INTERVAL_MS = 500;
/**
 * A joining viewer is primed with the cached group of pictures when its keyframe is at most
 * this old (longer GOPs: a keyframe request instead, and the replay would be too large).
 */
const PRIME_MAX_AGE_MS = 3_000;
/** No publisher packet for this long: the stream's media stopped. */
const MEDIA_IDLE_MS = 4_000;

interface Peer {
  id: PeerId;
  role: PeerRole;
  pc: PeerConnection;
  tracks: Map<'audio' | 'video', Track>;
  connected: boolean;
  closed: boolean;
  connectTimer: NodeJS.Timeout | undefined;
}

interface Publisher extends Peer {
  role: 'publisher';
  choices: CodecChoice[];
  stats: Map<number, ReceiveStats>;
  rtcpSsrc: number;
  /** performance.now() of its last RTP packet (or of its connection, before the first one). */
  lastPacketAt: number;
}

interface Viewer extends Peer {
  role: 'viewer';
  consumers: Map<'audio' | 'video', Consumer>;
}

/**
 * A recorder fed with plain RTP: one consumer (on its own UDP sink) per track kind, on the
 * track of that kind whenever there is one. Not primed with the cached GOP: its replay is
 * squeezed in time, which FFmpeg's RTP demuxer turns into broken timestamps; the keyframe
 * asked for in addRecorder starts it.
 */
interface Recorder {
  id: string;
  consumers: Map<'audio' | 'video', Consumer & { sink: PlainRtpSink }>;
  keyframeIntervalMs: number;
}

/** How often a router with recorders checks that keyframes keep coming. */
const RECORDER_KEYFRAME_CHECK_MS = 100;

export class Router {
  private publisher: Publisher | undefined;
  /**
   * What the tracks carry, as viewers are offered it: from the current or last publisher, or
   * given at creation for a publisher expected back (its tracks exist before it does).
   */
  private producerInfos: ProducerInfo[] = [];
  private readonly viewers = new Map<PeerId, Viewer>();
  private readonly tracks = new Map<'audio' | 'video', MediaTrack>();
  private readonly recorders = new Map<string, Recorder>();
  private recorderTimer: NodeJS.Timeout | undefined;
  private lastKeyframeRequest = -Infinity;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private readonly timer: NodeJS.Timeout;
  private flowing = false;
  private closed = false;
  keyframeRequests = 0;
  nacksAnswered = 0;
  private bytesInAtLastTick = 0;
  private lastTickAt = performance.now();
  private bitrateIn = 0;

  constructor(
    readonly id: RouterId,
    readonly streamId: StreamId,
    private readonly settings: WorkerSettings,
    private readonly events: RouterEvents,
    expected: ProducerInfo[] = [],
  ) {
    this.timer = setInterval(() => this.tick(), 1000);
    for (const p of expected) this.createTrack(p.kind, p.codec, p.clockRate);
    this.producerInfos = expected.filter((p) => this.tracks.has(p.kind));
  }

  get peerCount(): number {
    return this.viewers.size + (this.publisher ? 1 : 0);
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get isPublishing(): boolean {
    return !!this.publisher && !this.publisher.closed;
  }

  producers(): ProducerInfo[] {
    return this.producerInfos.filter((p) => this.tracks.has(p.kind));
  }

  async publish(peerId: PeerId, offer: SdpOffer, choices: CodecChoice[]): Promise<string> {
    if (this.publisher && !this.publisher.closed) throw new SfuError('ALREADY_PUBLISHING', 'this stream already has a publisher');
    // A reconnecting publisher with another codec cannot continue the viewers' tracks.
    for (const c of choices) {
      const existing = this.tracks.get(c.kind);
      if (existing && (existing.codec !== c.codec || existing.clockRate !== c.clockRate)) this.resetTracks('the publisher changed codec');
    }
    const { pc, tracks, answer } = await negotiate(this.settings, peerId, offer.raw, choices, 'RecvOnly');
    const pub: Publisher = {
      id: peerId, role: 'publisher', pc, tracks, connected: false, closed: false, connectTimer: undefined,
      choices, stats: new Map(), rtcpSsrc: randomInt(1, 0xffffffff), lastPacketAt: performance.now(),
    };
    this.publisher = pub;
    this.producerInfos = choices.map((c) => ({
      kind: c.kind, codec: c.codec, payloadType: c.payloadType, clockRate: c.clockRate,
      ...(c.profileLevelId ? { profileLevelId: c.profileLevelId } : {}),
    }));
    for (const c of choices) {
      const media = this.tracks.get(c.kind) ?? this.createTrack(c.kind, c.codec, c.clockRate);
      const track = tracks.get(c.kind)!;
      track.onMessage((buf) => {
        if (pub.closed) return;
        if (isRtcp(buf)) {
          visitRtcp(buf, {
            senderReport: (ssrc, ntpHigh, ntpLow, rtpTs) => {
              pub.stats.get(ssrc)?.onSenderReport(ntpHigh, ntpLow, performance.now());
              media.senderReport(ntpHigh, ntpLow, rtpTs, ssrc);
            },
          });
          return;
        }
        if (buf.length < 12) return;
        const ssrc = rtpSsrc(buf);
        let stats = pub.stats.get(ssrc);
        if (!stats) pub.stats.set(ssrc, (stats = new ReceiveStats(ssrc, c.kind, media.clockRate)));
        const now = performance.now();
        pub.lastPacketAt = now;
        stats.onPacket(rtpSeq(buf), rtpTimestamp(buf), now);
        media.forward(buf);
        // Media (re)started: say so at once; the 1 s tick only notices it stopping.
        if (!this.flowing) {
          this.flowing = true;
          this.events.mediaFlowing(true);
        }
      });
    }
    this.watchState(pub);
    return answer;
  }

  /**
   * A viewer joins the router's tracks. They exist while a publisher is connected, and also
   * while one is expected back (its connection failed): the viewer then waits for its media.
   */
  async view(peerId: PeerId, offer: SdpOffer, connectTimeoutMs?: number): Promise<string> {
    if (this.tracks.size === 0) throw new SfuError('NOT_PUBLISHING', 'the stream is not being published');
    const chosen = chooseViewCodecs(offer, this.producers());
    if (!chosen.ok) throw new SfuError('SDP_UNSUPPORTED', chosen.reason);
    const ssrcs = new Map<'audio' | 'video', SendSsrc>();
    for (const c of chosen.choices) {
      const t = this.tracks.get(c.kind)!;
      ssrcs.set(c.kind, { ssrc: t.ssrc, cname: `glint-${this.streamId.slice(0, 8)}`, msid: `glint-${this.streamId}`, trackId: `${c.kind}-${this.id}` });
    }
    // Ask for a keyframe now: it is likely cached by the time the viewer's track opens.
    this.requestKeyframe();
    const { pc, tracks, answer } = await negotiate(this.settings, peerId, offer.raw, chosen.choices, 'SendOnly', ssrcs);
    const viewer: Viewer = { id: peerId, role: 'viewer', pc, tracks, connected: false, closed: false, connectTimer: undefined, consumers: new Map() };
    this.viewers.set(peerId, viewer);
    for (const c of chosen.choices) {
      const media = this.tracks.get(c.kind)!;
      const track = tracks.get(c.kind)!;
      const consumer: Consumer = { sink: track, payloadType: c.payloadType, open: false, packetsSent: 0, broken: false };
      viewer.consumers.set(c.kind, consumer);
      media.add(consumer);
      track.onOpen(() => {
        if (viewer.closed) return;
        consumer.open = true;
        if (c.kind === 'video' && !media.prime(consumer, PRIME_MAX_AGE_MS)) this.requestKeyframe();
      });
      track.onMessage((buf) => {
        if (viewer.closed || !isRtcp(buf)) return;
        visitRtcp(buf, {
          keyframeRequest: () => this.requestKeyframe(),
          nack: (_ssrc, seq) => {
            if (media.retransmit(consumer, seq)) this.nacksAnswered++;
          },
        });
      });
    }
    this.watchState(viewer, connectTimeoutMs);
    return answer;
  }

  /** The outgoing track of a kind: its SSRC and sequence space outlive publishers. */
  private createTrack(kind: 'audio' | 'video', codec: string, clockRate: number): MediaTrack {
    const media = new MediaTrack({
      kind, codec, clockRate, ssrc: randomInt(1, 0xffffffff),
      cacheSize: kind === 'video' ? 2048 : 256,
      onKeyframeNeeded: () => this.requestKeyframe(),
      onBFrame: () => {
        const pub = this.publisher;
        if (pub) this.closePeer(pub, 'b-frames', 'the H.264 stream has B-frames, which browsers cannot play over WebRTC: set bframes=0 in the encoder (x264: tune=zerolatency)');
      },
    });
    this.tracks.set(kind, media);
    // A track made anew (first publisher, or a codec change) feeds the recorders too.
    for (const r of this.recorders.values()) media.add(r.consumers.get(kind)!);
    return media;
  }

  /** Asks the publisher for a keyframe, at most once per KEYFRAME_INTERVAL_MS. */
  requestKeyframe(): void {
    const wait = this.lastKeyframeRequest + KEYFRAME_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.keyframeTimer ??= setTimeout(() => {
        this.keyframeTimer = undefined;
        this.requestKeyframe();
      }, wait);
      return;
    }
    const pub = this.publisher;
    const track = pub?.tracks.get('video');
    if (!pub || pub.closed || !track) return;
    // The SSRC the publisher sends video on (the newest one, should it have changed).
    let mediaSsrc: number | undefined;
    for (const stats of pub.stats.values()) if (stats.kind === 'video') mediaSsrc = stats.ssrc;
    if (mediaSsrc === undefined) return;
    this.lastKeyframeRequest = performance.now();
    this.keyframeRequests++;
    sendRtcp(track, buildPli(pub.rtcpSsrc, mediaSsrc));
  }

  /** Starts (or, for a known id, re-points) plain RTP to a recorder, and asks for a keyframe. */
  async addRecorder(req: AddRecorderRequest): Promise<RecorderTrack[]> {
    this.removeRecorder(req.recorderId);
    const sinks = new Map<'audio' | 'video', PlainRtpSink>();
    try {
      sinks.set('video', await PlainRtpSink.open(req.host, req.videoPort));
      sinks.set('audio', await PlainRtpSink.open(req.host, req.audioPort));
    } catch (err) {
      for (const s of sinks.values()) s.close();
      throw new SfuError('BAD_REQUEST', `cannot send RTP to ${req.host}: ${(err as Error).message}`);
    }
    if (this.closed) {
      for (const s of sinks.values()) s.close();
      throw new SfuError('ROUTER_NOT_FOUND', 'the router closed');
    }
    // A concurrent addRecorder for the same id (a quick restart) may have won meanwhile.
    this.removeRecorder(req.recorderId);
    const consumer = (kind: 'audio' | 'video', payloadType: number) => ({ sink: sinks.get(kind)!, payloadType, open: true, packetsSent: 0, broken: false });
    const recorder: Recorder = {
      id: req.recorderId,
      consumers: new Map([['video', consumer('video', req.videoPayloadType)], ['audio', consumer('audio', req.audioPayloadType)]]),
      keyframeIntervalMs: req.keyframeIntervalMs,
    };
    this.recorders.set(recorder.id, recorder);
    for (const [kind, c] of recorder.consumers) this.tracks.get(kind)?.add(c);
    this.requestKeyframe();
    this.recorderTimer ??= setInterval(() => this.keepKeyframesComing(), RECORDER_KEYFRAME_CHECK_MS);
    return this.recorderTracks(recorder);
  }

  removeRecorder(recorderId: string): void {
    const r = this.recorders.get(recorderId);
    if (!r) return;
    this.recorders.delete(recorderId);
    for (const [kind, c] of r.consumers) {
      c.open = false;
      this.tracks.get(kind)?.remove(c);
      c.sink.close();
    }
    if (this.recorders.size === 0) {
      clearInterval(this.recorderTimer);
      this.recorderTimer = undefined;
    }
  }

  private recorderTracks(r: Recorder): RecorderTrack[] {
    return [...this.tracks.values()].map((t) => ({ kind: t.kind, codec: t.codec, payloadType: r.consumers.get(t.kind)!.payloadType, clockRate: t.clockRate, ssrc: t.ssrc }));
  }

  /** Recorders cut segments at keyframes: ask for one whenever the last is getting old. */
  private keepKeyframesComing(): void {
    const video = this.tracks.get('video');
    if (!video || !this.isPublishing) return;
    let interval = Infinity;
    for (const r of this.recorders.values()) interval = Math.min(interval, r.keyframeIntervalMs);
    // Ask a little early: the keyframe takes a round trip and an encode to arrive.
    if (video.keyframeAge() >= interval * 0.85) this.requestKeyframe();
  }

  hasPeer(peerId: PeerId): boolean {
    return this.publisher?.id === peerId || this.viewers.has(peerId);
  }

  addCandidate(peerId: PeerId, candidate: string, mid: string): void {
    const peer = this.publisher?.id === peerId ? this.publisher : this.viewers.get(peerId);
    if (!peer || peer.closed) throw new SfuError('PEER_NOT_FOUND', 'no such session');
    peer.pc.addRemoteCandidate(candidate, mid);
  }

  /** Closes a peer at the server's request (no peerClosed event). */
  closePeerById(peerId: PeerId): boolean {
    const peer = this.publisher?.id === peerId ? this.publisher : this.viewers.get(peerId);
    if (!peer) return false;
    this.teardown(peer);
    return true;
  }

  stats(): RouterStats {
    let packetsIn = 0;
    let packetsOut = 0;
    for (const t of this.tracks.values()) {
      packetsIn += t.packetsIn;
      packetsOut += t.packetsOut;
    }
    return { routerId: this.id, publishing: this.isPublishing, viewers: this.viewers.size, packetsIn, packetsOut, bitrateIn: this.bitrateIn };
  }

  counters(): { packetsIn: number; packetsOut: number } {
    let packetsIn = 0;
    let packetsOut = 0;
    for (const t of this.tracks.values()) {
      packetsIn += t.packetsIn;
      packetsOut += t.packetsOut;
    }
    return { packetsIn, packetsOut };
  }

  /** Closes every peer (no events: the server asked for it) and stops timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.keyframeTimer);
    for (const id of [...this.recorders.keys()]) this.removeRecorder(id);
    if (this.publisher) this.teardown(this.publisher);
    for (const v of [...this.viewers.values()]) this.teardown(v);
  }

  /** Every peer is lost with the worker: report them (used on fatal errors). */
  peerIds(): Array<{ peerId: PeerId; role: PeerRole }> {
    const out: Array<{ peerId: PeerId; role: PeerRole }> = [...this.viewers.keys()].map((peerId) => ({ peerId, role: 'viewer' as const }));
    if (this.publisher && !this.publisher.closed) out.push({ peerId: this.publisher.id, role: 'publisher' });
    return out;
  }

  private watchState(peer: Publisher | Viewer, connectTimeoutMs = this.settings.connectTimeoutSeconds * 1000): void {
    peer.connectTimer = setTimeout(() => {
      if (!peer.connected) this.closePeer(peer, 'timeout', `not connected within ${Math.round(connectTimeoutMs / 100) / 10} s (ICE/DTLS did not complete)`);
    }, connectTimeoutMs);
    peer.pc.onStateChange((state) => {
      if (peer.closed) return;
      if (state === 'connected' && !peer.connected) {
        peer.connected = true;
        clearTimeout(peer.connectTimer);
        if (peer.role === 'publisher') peer.lastPacketAt = performance.now();
        this.events.peerConnected(peer.id, peer.role);
      } else if (state === 'failed') {
        this.closePeer(peer, 'failed', 'the connection failed');
      } else if (state === 'closed') {
        // libdatachannel reaches `closed` by itself only on the peer's DTLS close_notify
        // (RTCPeerConnection.close()): a deliberate goodbye, unlike `failed`.
        this.closePeer(peer, 'closed', 'the peer closed the connection');
      }
    });
  }

  /** Ends a peer on our side and reports it to the server. */
  private closePeer(peer: Publisher | Viewer, reason: PeerCloseReason, message: string): void {
    if (peer.closed) return;
    this.teardown(peer);
    this.events.peerClosed(peer.id, peer.role, reason, message);
  }

  private teardown(peer: Publisher | Viewer): void {
    if (peer.closed) return;
    peer.closed = true;
    clearTimeout(peer.connectTimer);
    if (peer.role === 'viewer') {
      for (const [kind, consumer] of peer.consumers) {
        consumer.open = false;
        this.tracks.get(kind)?.remove(consumer);
      }
      this.viewers.delete(peer.id);
    } else if (this.publisher === peer) {
      this.publisher = undefined;
      if (this.flowing) {
        this.flowing = false;
        this.events.mediaFlowing(false);
      }
    }
    try {
      peer.pc.close();
    } catch {
      // Already closed underneath us.
    }
  }

  private resetTracks(why: string): void {
    for (const v of [...this.viewers.values()]) this.closePeer(v, 'closed', why);
    this.tracks.clear();
  }

  private tick(): void {
    const now = performance.now();
    let bytesIn = 0;
    for (const t of this.tracks.values()) {
      bytesIn += t.bytesIn;
      // Viewers whose tracks broke under us (closed without a state change) are dropped.
      for (const c of t.consumers) if (c.broken) this.dropBroken(c);
    }
    const seconds = (now - this.lastTickAt) / 1000;
    this.bitrateIn = seconds > 0 ? Math.round(((bytesIn - this.bytesInAtLastTick) * 8) / seconds) : 0;
    this.bytesInAtLastTick = bytesIn;
    this.lastTickAt = now;
    if (this.flowing && !(this.publisher && [...this.tracks.values()].some((t) => t.idleFor() < MEDIA_IDLE_MS))) {
      this.flowing = false;
      this.events.mediaFlowing(false);
    }
    const pub = this.publisher;
    if (pub && pub.connected && !pub.closed) {
      // Nothing at all (not even audio) for this long: its network is gone. ICE consent would
      // notice only after 30 s; the server's reconnect grace starts now instead.
      const idleMs = now - pub.lastPacketAt;
      if (idleMs > this.settings.publisherIdleTimeoutSeconds * 1000) {
        this.closePeer(pub, 'media-timeout', `no media from the publisher for ${Math.round(idleMs / 1000)} s`);
        return;
      }
      this.sendReceiverReports(pub, now);
    }
  }

  private dropBroken(c: Consumer): void {
    for (const v of this.viewers.values()) {
      for (const vc of v.consumers.values()) if (vc === c) return this.closePeer(v, 'closed', 'the viewer track closed');
    }
  }

  private sendReceiverReports(pub: Publisher, now: number): void {
    for (const [kind, track] of pub.tracks) {
      const blocks: ReportBlock[] = [];
      for (const stats of pub.stats.values()) {
        if (stats.kind !== kind) continue;
        const block = stats.report(now);
        if (block) blocks.push(block);
      }
      if (blocks.length === 0) continue;
      const rr = buildReceiverReport(pub.rtcpSsrc, blocks);
      sendRtcp(track, kind === 'video' ? Buffer.concat([rr, buildRemb(pub.rtcpSsrc, this.settings.maxPublishBitrate, blocks.map((b) => b.ssrc))]) : rr);
    }
  }
}

function sendRtcp(track: Track, packet: Buffer): void {
  try {
    track.sendMessageBinary(packet);
  } catch {
    // The track closed meanwhile; the state handler cleans up.
  }
}
