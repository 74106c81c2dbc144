/**
 * A WebRTC transport of a router: one libdatachannel PeerConnection, negotiated from the
 * client's offer. Producing (a WHIP publisher): its tracks feed the router's producers; it
 * sends the publisher receiver reports and a REMB cap, answers the router's keyframe requests
 * with PLI, and notices a publisher that went silent. Consuming (a WHEP viewer): one consumer
 * per track on the router's producers, primed with the cached group of pictures when the
 * track opens; the viewer's PLI/FIR become router keyframe requests, its NACKs are answered
 * from the producer's packet cache.
 */
import { randomInt } from 'node:crypto';
import type { PeerConnection, Track } from 'node-datachannel';
import type { TransportId } from '../protocol/ids.ts';
import type { LayerPreferences, LayerState, MediaKind, ProducerInfo, TransportCloseReason } from '../protocol/sfu.ts';
import type { Consumer } from './media-track.ts';
import { SfuError, type MediaRouter, type Transport } from './media-router.ts';
import { NegotiationError, negotiate, sendRtcp, type SendSsrc } from './peer-connection.ts';
import type { Producer, ProducerSource } from './producer.ts';
import { ReceiveStats } from './receive-stats.ts';
import { buildPli, buildReceiverReport, buildRemb, visitRtcp, type ReportBlock } from './rtcp.ts';
import { isRtcp, rtpSeq, rtpSsrc, rtpTimestamp } from './rtp.ts';
import { choosePublishCodecs, chooseViewCodecs, type SdpOffer } from './sdp.ts';
import { SimulcastConsumer } from './simulcast-consumer.ts';

/**
 * A joining viewer is primed with the cached group of pictures when its keyframe is at most
 * this old (longer GOPs: a keyframe request instead, and the replay would be too large).
 */
const PRIME_MAX_AGE_MS = 3_000;

export class WebRtcTransport implements Transport, ProducerSource {
  readonly isPeer = true;
  /** Consuming for a pipe to another node (its peer is that node's worker, not a viewer). */
  pipingOut = false;
  private connected = false;
  private closed = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  /** Producing: reception statistics per incoming SSRC, our RTCP SSRC, and its last RTP packet (or its connection, before the first). */
  private readonly receive = new Map<number, ReceiveStats>();
  private readonly rtcpSsrc = randomInt(1, 0xffffffff);
  private lastPacketAt = performance.now();
  /** Producing: per video layer, its track and the SSRC it arrives on. */
  private readonly videoLayers: Track[] = [];
  private readonly layerSsrcs: number[] = [];
  /** Consuming: its consumers, one per track (a simulcast producer's video: `simulcast`). */
  private readonly consumers = new Map<MediaKind, Consumer>();
  private simulcast: SimulcastConsumer | undefined;

  private constructor(
    readonly id: TransportId,
    readonly producing: boolean,
    private readonly router: MediaRouter,
    private readonly pc: PeerConnection,
    private readonly tracks: Map<MediaKind, Track>,
  ) {}

  /** A publisher: its offer's tracks become the router's producers. */
  static async produce(router: MediaRouter, id: TransportId, offer: SdpOffer): Promise<{ transport: WebRtcTransport; answer: string; producers: ProducerInfo[] }> {
    if (router.isPublishing) throw new SfuError('ALREADY_PUBLISHING', 'this stream already has a publisher');
    const chosen = choosePublishCodecs(offer);
    if (!chosen.ok) throw new SfuError('SDP_UNSUPPORTED', chosen.reason);
    // Several video sections are the layers of one video producer (lowest first); it is described by the top one.
    const layers = chosen.choices.filter((c) => c.kind === 'video');
    const infos: ProducerInfo[] = chosen.choices.filter((c) => c.kind === 'audio' || c === layers[layers.length - 1]).map((c) => ({
      kind: c.kind, codec: c.codec, payloadType: c.payloadType, clockRate: c.clockRate,
      ...(c.profileLevelId ? { profileLevelId: c.profileLevelId } : {}),
      ...(c.kind === 'video' && layers.length > 1 ? { layers: layers.length } : {}),
    }));
    // A reconnecting publisher with another codec cannot continue the viewers' tracks.
    router.prepareProduce(infos);
    const { pc, tracks, list, answer } = await negotiating(() => negotiate(router.settings, id, offer.raw, chosen.choices, 'RecvOnly'));
    const t = new WebRtcTransport(id, true, router, pc, tracks);
    adopt(router, t, pc);
    const producers = router.produce(infos, t);
    chosen.choices.forEach((c, i) => {
      const producer = producers.get(c.kind)!;
      const layer = c.kind === 'video' ? layers.indexOf(c) : 0;
      t.receiveInto(list[i]!, producer, layer);
    });
    t.tickTimer = setInterval(() => t.tick(), 1000);
    t.watchState(router.settings.connectTimeoutSeconds * 1000);
    return { transport: t, answer, producers: router.producerInfos() };
  }

  /**
   * A viewer: a consumer on each of the router's producers its offer receives. They exist
   * while a publisher is connected, and also while one is expected back (its connection
   * failed): the viewer then waits for its media.
   */
  static async consume(router: MediaRouter, id: TransportId, offer: SdpOffer, connectTimeoutMs?: number, pipe = false): Promise<{ transport: WebRtcTransport; answer: string }> {
    const infos = router.producerInfos();
    if (infos.length === 0) throw new SfuError('NOT_PUBLISHING', 'the stream is not being published');
    const chosen = chooseViewCodecs(offer, infos);
    if (!chosen.ok) throw new SfuError('SDP_UNSUPPORTED', chosen.reason);
    const ssrcs = new Map<MediaKind, SendSsrc>();
    for (const c of chosen.choices) {
      const p = router.producer(c.kind)!;
      ssrcs.set(c.kind, { ssrc: p.track.ssrc, cname: `glint-${router.streamId.slice(0, 8)}`, msid: `glint-${router.streamId}`, trackId: `${c.kind}-${router.id}` });
    }
    // Ask for a keyframe now: it is likely cached by the time the viewer's track opens.
    router.requestKeyframe();
    const announced = pipe ? router.settings.pipeAddress || router.settings.announcedAddress : router.settings.announcedAddress;
    const { pc, tracks, answer } = await negotiating(() => negotiate(router.settings, id, offer.raw, chosen.choices, 'SendOnly', ssrcs, announced));
    const t = new WebRtcTransport(id, false, router, pc, tracks);
    t.pipingOut = pipe;
    adopt(router, t, pc);
    for (const c of chosen.choices) t.sendFrom(tracks.get(c.kind)!, router.producer(c.kind)!, c.payloadType, c.absSendTimeId ?? 0);
    t.watchState(connectTimeoutMs ?? router.settings.connectTimeoutSeconds * 1000);
    return { transport: t, answer };
  }

  addCandidate(candidate: string, mid: string): void {
    if (this.closed) throw new SfuError('TRANSPORT_NOT_FOUND', 'no such session');
    this.pc.addRemoteCandidate(candidate, mid);
  }

  /** ProducerSource: a PLI on the SSRC the publisher sends a video layer on (the newest, should it have changed). */
  sendKeyframeRequest(layer: number): boolean {
    const track = this.videoLayers[layer];
    const mediaSsrc = this.layerSsrcs[layer];
    if (this.closed || !track || mediaSsrc === undefined) return false;
    sendRtcp(track, buildPli(this.rtcpSsrc, mediaSsrc));
    return true;
  }

  /** Consuming a simulcast producer: what the viewer is like (player size, a quality it chose). */
  setLayerPreferences(prefs: LayerPreferences): LayerState | null {
    if (!this.simulcast) return null;
    this.simulcast.setPreferences(prefs);
    return this.simulcast.state();
  }

  layerState(): LayerState | null {
    return this.simulcast?.state() ?? null;
  }

  /** ProducerSource: the producer refuses its media. */
  reject(reason: 'b-frames', message: string): void {
    this.fail(reason, message);
  }

  consumerBroken(): void {
    this.fail('closed', 'the viewer track closed');
  }

  /** Ends the peer quietly (the server asked, or the router closes). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    clearInterval(this.tickTimer);
    if (this.producing) {
      this.router.unproduce(this);
    } else {
      for (const [kind, consumer] of this.consumers) {
        consumer.open = false;
        this.router.producer(kind)?.track.remove(consumer);
      }
      this.simulcast?.close();
    }
    try {
      this.pc.close();
    } catch {
      // Already closed underneath us.
    }
  }

  /** Ends the peer on our side and reports it to the server. */
  private fail(reason: TransportCloseReason, message: string): void {
    if (this.closed) return;
    this.router.transportClosed(this, reason, message);
  }

  private receiveInto(track: Track, producer: Producer, layer: number): void {
    const media = producer.layers[layer] ?? producer.track;
    if (producer.kind === 'video') this.videoLayers[layer] = track;
    track.onMessage((buf) => {
      if (this.closed) return;
      if (isRtcp(buf)) {
        visitRtcp(buf, {
          senderReport: (ssrc, ntpHigh, ntpLow, rtpTs) => {
            this.receive.get(ssrc)?.onSenderReport(ntpHigh, ntpLow, performance.now());
            media.senderReport(ntpHigh, ntpLow, rtpTs, ssrc);
          },
        });
        return;
      }
      if (buf.length < 12) return;
      const ssrc = rtpSsrc(buf);
      let stats = this.receive.get(ssrc);
      if (!stats) {
        this.receive.set(ssrc, (stats = new ReceiveStats(ssrc, producer.kind, media.clockRate)));
        if (producer.kind === 'video') this.layerSsrcs[layer] = ssrc;
      }
      const now = performance.now();
      this.lastPacketAt = now;
      stats.onPacket(rtpSeq(buf), rtpTimestamp(buf), now);
      media.forward(buf);
      this.router.mediaArrived();
    });
  }

  private sendFrom(track: Track, producer: Producer, payloadType: number, absSendTimeId: number): void {
    if (producer.simulcast) return this.sendLayersFrom(track, producer, payloadType, absSendTimeId);
    const media = producer.track;
    const consumer: Consumer = { sink: track, payloadType, absSendTimeId, open: false, packetsSent: 0, broken: false, owner: this };
    this.consumers.set(producer.kind, consumer);
    media.add(consumer);
    track.onOpen(() => {
      if (this.closed) return;
      consumer.open = true;
      if (producer.kind === 'video' && !media.prime(consumer, PRIME_MAX_AGE_MS)) this.router.requestKeyframe();
    });
    track.onMessage((buf) => {
      if (this.closed || !isRtcp(buf)) return;
      visitRtcp(buf, {
        keyframeRequest: () => this.router.requestKeyframe(),
        nack: (_ssrc, seq) => this.router.retransmit(media, consumer, seq),
      });
    });
  }

  /** The video of a simulcast producer: one layer at a time, chosen for this viewer. */
  private sendLayersFrom(track: Track, producer: Producer, payloadType: number, absSendTimeId: number): void {
    const sc = new SimulcastConsumer(producer.layers, track, payloadType, producer.track.ssrc, (layer) => this.router.requestKeyframe(layer), this, () => this.router.layerSwitches++, !this.pipingOut, absSendTimeId);
    this.simulcast = sc;
    track.onOpen(() => {
      if (!this.closed) sc.open(PRIME_MAX_AGE_MS);
    });
    track.onMessage((buf) => {
      if (this.closed || !isRtcp(buf)) return;
      visitRtcp(buf, {
        keyframeRequest: () => sc.keyframeNeeded(),
        nack: (_ssrc, seq) => {
          if (sc.retransmit(seq)) this.router.nacksAnswered++;
        },
        remb: (bitrate) => sc.onRemb(bitrate),
        reportBlock: (ssrc, _lost, lsr, dlsr) => sc.onReportBlock(ssrc, lsr, dlsr),
      });
    });
  }

  private watchState(connectTimeoutMs: number): void {
    this.connectTimer = setTimeout(() => {
      if (!this.connected) this.fail('timeout', `not connected within ${Math.round(connectTimeoutMs / 100) / 10} s (ICE/DTLS did not complete)`);
    }, connectTimeoutMs);
    this.pc.onStateChange((state) => {
      if (this.closed) return;
      if (state === 'connected' && !this.connected) {
        this.connected = true;
        clearTimeout(this.connectTimer);
        this.lastPacketAt = performance.now();
        this.router.transportConnected(this);
      } else if (state === 'failed') {
        this.fail('failed', 'the connection failed');
      } else if (state === 'closed') {
        // libdatachannel reaches `closed` by itself only on the peer's DTLS close_notify
        // (RTCPeerConnection.close()): a deliberate goodbye, unlike `failed`.
        this.fail('closed', 'the peer closed the connection');
      }
    });
  }

  /** Producing, every second: notice a silent publisher, send receiver reports and the REMB cap. */
  private tick(): void {
    if (!this.connected || this.closed) return;
    const now = performance.now();
    // Nothing at all (not even audio) for this long: its network is gone. ICE consent would
    // notice only after 30 s; the server's reconnect grace starts now instead.
    const idleMs = now - this.lastPacketAt;
    if (idleMs > this.router.settings.publisherIdleTimeoutSeconds * 1000) {
      this.fail('media-timeout', `no media from the publisher for ${Math.round(idleMs / 1000)} s`);
      return;
    }
    for (const [kind, track] of this.tracks) {
      const blocks: ReportBlock[] = [];
      for (const stats of this.receive.values()) {
        if (stats.kind !== kind) continue;
        const block = stats.report(now);
        if (block) blocks.push(block);
      }
      if (blocks.length === 0) continue;
      const rr = buildReceiverReport(this.rtcpSsrc, blocks);
      sendRtcp(track, kind === 'video' ? Buffer.concat([rr, buildRemb(this.rtcpSsrc, this.router.settings.maxPublishBitrate, blocks.map((b) => b.ssrc))]) : rr);
    }
  }
}

/** Adds a negotiated transport to its router; a router that closed meanwhile gets none. */
function adopt(router: MediaRouter, t: WebRtcTransport, pc: PeerConnection): void {
  try {
    router.addTransport(t);
  } catch (err) {
    pc.close();
    throw err;
  }
}

async function negotiating<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof NegotiationError) throw new SfuError('SDP_UNSUPPORTED', err.message);
    throw err;
  }
}
