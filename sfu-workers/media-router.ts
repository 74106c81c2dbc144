/**
 * A media router carries one live stream inside a worker: its producers (one per kind) take
 * media from a source, and consumers on the router's transports take it out. Transports are
 * the router's children: WebRTC (a publisher that feeds the producers, or a viewer whose
 * consumers it feeds) and plain RTP to a recorder. The router throttles keyframe requests to
 * the producers' source, keeps keyframes coming for consumers that need them at an interval
 * (recorders), and says when media starts and stops flowing. It knows no SDP and no RTCP:
 * each transport turns its peer's feedback into router calls.
 */
import { randomInt } from 'node:crypto';
import type { RouterId, StreamId, TransportId } from '../protocol/ids.ts';
import type { MediaKind, ProducerInfo, RouterStats, SfuErrorCode, TransportCloseReason, WorkerSettings } from '../protocol/sfu.ts';
import type { Consumer, MediaTrack } from './media-track.ts';
import { Producer, type ProducerSource } from './producer.ts';
import { SimulcastConsumer } from './simulcast-consumer.ts';

export class SfuError extends Error {
  constructor(
    readonly code: SfuErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a router tells its worker (which turns it into channel events). */
export interface RouterEvents {
  transportConnected(t: Transport): void;
  transportClosed(t: Transport, reason: TransportCloseReason, message: string): void;
  mediaFlowing(flowing: boolean): void;
}

/** A child of a router. `close()` ends it quietly (the server asked, or the router closes). */
export interface Transport {
  readonly id: TransportId;
  /** A WebRTC peer (counts against the worker's maxPeers). */
  readonly isPeer: boolean;
  /** Feeds the router's producers. */
  readonly producing: boolean;
  /** Sends the router's media into a pipe to another router. */
  readonly pipingOut?: boolean;
  /** Feeds the router from a pipe from another node. */
  readonly pipingIn?: boolean;
  close(): void;
}

/**
 * A consumer that follows the producer of its kind, whichever that is (plain RTP, pipes).
 * Of a simulcast producer's video it takes the top layer being sent, through a
 * SimulcastConsumer: when the publisher pauses the top layer (congestion), the recorder
 * and pipes go on with the next one instead of stalling.
 */
interface Follower {
  kind: MediaKind;
  consumer: Consumer;
  keyframeIntervalMs: number | undefined;
  /** Prime it with the cached group of pictures when attached (pipes; not FFmpeg, which dislikes the squeezed replay). */
  primeMaxAgeMs: number | undefined;
  layered?: SimulcastConsumer;
}

const NO_OWNER = { consumerBroken: () => {} };

/** Keyframe requests to one source: at most one per this interval, the rest coalesced. */
const KEYFRAME_INTERVAL_MS = 500;
/** No producer packet for this long: the stream's media stopped. */
const MEDIA_IDLE_MS = 4_000;
/** How often a router whose consumers need keyframes at an interval checks that they keep coming. */
const KEYFRAME_CHECK_MS = 100;

export class MediaRouter {
  private readonly producers = new Map<MediaKind, Producer>();
  private readonly transports = new Map<TransportId, Transport>();
  private readonly followers = new Set<Follower>();
  private keyframeCheckTimer: NodeJS.Timeout | undefined;
  /** Per video layer: when its source was last asked for a keyframe, and a coalesced request waiting. */
  private readonly lastKeyframeRequest = new Map<number, number>();
  private readonly keyframeTimers = new Map<number, NodeJS.Timeout>();
  private readonly timer: NodeJS.Timeout;
  private flowing = false;
  private closed = false;
  keyframeRequests = 0;
  nacksAnswered = 0;
  /** Simulcast viewers moved to another layer. */
  layerSwitches = 0;
  private bytesInAtLastTick = 0;
  private lastTickAt = performance.now();
  private bitrateIn = 0;

  constructor(
    readonly id: RouterId,
    readonly streamId: StreamId,
    readonly settings: WorkerSettings,
    private readonly events: RouterEvents,
    expected: ProducerInfo[] = [],
  ) {
    this.timer = setInterval(() => this.tick(), 1000);
    for (const info of expected) if (!this.producers.has(info.kind)) this.createProducer(info);
  }

  get peerCount(): number {
    let n = 0;
    for (const t of this.transports.values()) if (t.isPeer) n++;
    return n;
  }

  get viewerCount(): number {
    let n = 0;
    for (const t of this.transports.values()) if (t.isPeer && !t.producing && !t.pipingOut) n++;
    return n;
  }

  /** Pipes from a router on another node feeding this one. */
  get pipesIn(): number {
    let n = 0;
    for (const t of this.transports.values()) if (t.pipingIn) n++;
    return n;
  }

  get pipesOut(): number {
    let n = 0;
    for (const t of this.transports.values()) if (t.pipingOut) n++;
    return n;
  }

  get isPublishing(): boolean {
    for (const t of this.transports.values()) if (t.isPeer && t.producing) return true;
    return false;
  }

  /** What the producers carry, as new consumers are offered it. */
  producerInfos(): ProducerInfo[] {
    return [...this.producers.values()].filter((p) => p.offered).map((p) => p.info);
  }

  /** The producer of a kind, when there is one. */
  producer(kind: MediaKind): Producer | undefined {
    return this.producers.get(kind);
  }

  addTransport(t: Transport): void {
    if (this.closed) throw new SfuError('ROUTER_NOT_FOUND', 'the router closed');
    this.transports.set(t.id, t);
  }

  /**
   * A source is about to produce these kinds. A producer of another codec cannot continue its
   * consumers' streams: the WebRTC consumers are closed and the producers made anew.
   */
  prepareProduce(infos: ProducerInfo[]): void {
    const changed = infos.some((i) => this.producers.get(i.kind)?.differsFrom(i));
    if (!changed) return;
    for (const t of [...this.transports.values()]) if (t.isPeer && !t.producing) this.transportClosed(t, 'closed', 'the publisher changed codec');
    this.producers.clear();
  }

  /** A source produces these kinds from now on (the producers are made if missing). */
  produce(infos: ProducerInfo[], source: ProducerSource): Map<MediaKind, Producer> {
    const out = new Map<MediaKind, Producer>();
    for (const p of this.producers.values()) p.offered = false;
    for (const info of infos) {
      const p = this.producers.get(info.kind) ?? this.createProducer(info);
      p.info = info;
      p.offered = true;
      p.source = source;
      out.set(info.kind, p);
    }
    return out;
  }

  /** The source is gone: its producers wait for the next one; media stops flowing. */
  unproduce(source: ProducerSource): void {
    for (const p of this.producers.values()) if (p.source === source) p.source = undefined;
    this.setFlowing(false);
  }

  /** A packet reached a producer: media flows (said at once; the 1 s tick notices it stopping). */
  mediaArrived(): void {
    if (!this.flowing) this.setFlowing(true);
  }

  /**
   * A consumer that follows the producer of its kind: attached now if there is one, and to
   * every producer of that kind made later (a codec change).
   */
  follow(kind: MediaKind, consumer: Consumer, keyframeIntervalMs?: number, primeMaxAgeMs?: number): void {
    const f: Follower = { kind, consumer, keyframeIntervalMs, primeMaxAgeMs };
    this.followers.add(f);
    const p = this.producers.get(kind);
    if (p) this.attach(f, p);
    if (keyframeIntervalMs !== undefined) {
      this.requestKeyframe();
      this.keyframeCheckTimer ??= setInterval(() => this.keepKeyframesComing(), KEYFRAME_CHECK_MS);
    }
  }

  unfollow(consumer: Consumer): void {
    for (const f of this.followers) {
      if (f.consumer !== consumer) continue;
      this.followers.delete(f);
      this.detach(f);
    }
    if (![...this.followers].some((f) => f.keyframeIntervalMs !== undefined)) {
      clearInterval(this.keyframeCheckTimer);
      this.keyframeCheckTimer = undefined;
    }
  }

  /**
   * Asks the video producer's source for a keyframe of a layer (the top one by default), at
   * most once per KEYFRAME_INTERVAL_MS per layer.
   */
  requestKeyframe(layer?: number): void {
    const video = this.producers.get('video');
    if (!video) return;
    const l = Math.max(0, Math.min(video.layers.length - 1, layer ?? video.layers.length - 1));
    const wait = (this.lastKeyframeRequest.get(l) ?? -Infinity) + KEYFRAME_INTERVAL_MS - performance.now();
    if (wait > 0) {
      if (!this.keyframeTimers.has(l)) {
        this.keyframeTimers.set(l, setTimeout(() => {
          this.keyframeTimers.delete(l);
          this.requestKeyframe(l);
        }, wait));
      }
      return;
    }
    if (!video.source?.sendKeyframeRequest(l)) return;
    this.lastKeyframeRequest.set(l, performance.now());
    this.keyframeRequests++;
  }

  /** A consumer's receiver lost a packet: resent from the producer's cache when it is there. */
  retransmit(track: MediaTrack, consumer: Consumer, seq: number): void {
    if (track.retransmit(consumer, seq)) this.nacksAnswered++;
  }

  /** A follower's receiver lost a packet of `ssrc` (what the follower sends on): resent from the right cache. */
  retransmitFollower(consumer: Consumer, ssrc: number, seq: number): void {
    for (const f of this.followers) {
      if (f.consumer !== consumer) continue;
      const p = this.producers.get(f.kind);
      if (!p || p.track.ssrc !== ssrc) continue;
      if (f.layered ? f.layered.retransmit(seq) : p.track.retransmit(consumer, seq)) this.nacksAnswered++;
    }
  }

  private attach(f: Follower, p: Producer): void {
    if (p.simulcast && f.kind === 'video') {
      f.layered = new SimulcastConsumer(p.layers, f.consumer.sink, f.consumer.payloadType, p.track.ssrc, (l) => this.requestKeyframe(l), f.consumer.owner ?? NO_OWNER);
      f.layered.open(f.primeMaxAgeMs ?? -1);
      return;
    }
    p.track.add(f.consumer);
    if (f.primeMaxAgeMs !== undefined && f.kind === 'video' && !p.track.prime(f.consumer, f.primeMaxAgeMs)) this.requestKeyframe();
  }

  private detach(f: Follower): void {
    f.layered?.close();
    f.layered = undefined;
    this.producers.get(f.kind)?.track.remove(f.consumer);
  }

  /** A transport ended on its own (failure, timeout, its peer's goodbye): reported to the server. */
  transportClosed(t: Transport, reason: TransportCloseReason, message: string): void {
    if (this.transports.get(t.id) !== t) return;
    this.transports.delete(t.id);
    t.close();
    this.events.transportClosed(t, reason, message);
  }

  transportConnected(t: Transport): void {
    if (this.transports.get(t.id) === t) this.events.transportConnected(t);
  }

  /** The server closed a transport: no event. */
  closeTransport(id: TransportId): boolean {
    const t = this.transports.get(id);
    if (!t) return false;
    this.transports.delete(id);
    t.close();
    return true;
  }

  stats(): RouterStats {
    const c = this.counters();
    return { routerId: this.id, publishing: this.isPublishing, viewers: this.viewerCount, packetsIn: c.packetsIn, packetsOut: c.packetsOut, bitrateIn: this.bitrateIn };
  }

  counters(): { packetsIn: number; packetsOut: number } {
    let packetsIn = 0;
    let packetsOut = 0;
    for (const p of this.producers.values()) {
      packetsIn += p.track.packetsIn;
      packetsOut += p.track.packetsOut;
    }
    return { packetsIn, packetsOut };
  }

  /** Closes every transport (no events: the server asked for it) and stops timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.keyframeCheckTimer);
    for (const t of this.keyframeTimers.values()) clearTimeout(t);
    for (const t of [...this.transports.values()]) t.close();
    this.transports.clear();
  }

  private createProducer(info: ProducerInfo): Producer {
    const p = new Producer({
      info,
      ssrc: randomInt(1, 0xffffffff),
      onKeyframeNeeded: () => this.requestKeyframe(),
      onBFrame: (producer) => producer.source?.reject('b-frames', 'the H.264 stream has B-frames, which browsers cannot play over WebRTC: set bframes=0 in the encoder (x264: tune=zerolatency)'),
    });
    const old = this.producers.get(info.kind);
    this.producers.set(info.kind, p);
    // A producer made anew (first source, or a codec change) feeds the followers too.
    for (const f of this.followers) {
      if (f.kind !== info.kind) continue;
      if (f.layered) {
        f.layered.close();
        f.layered = undefined;
      }
      old?.track.remove(f.consumer);
      this.attach(f, p);
    }
    return p;
  }

  private setFlowing(flowing: boolean): void {
    if (this.flowing === flowing) return;
    this.flowing = flowing;
    this.events.mediaFlowing(flowing);
  }

  /** Followers that need keyframes at an interval (recorders cut segments there): ask when the last is getting old. */
  private keepKeyframesComing(): void {
    const video = this.producers.get('video');
    if (!video?.source) return;
    let interval = Infinity;
    for (const f of this.followers) if (f.keyframeIntervalMs !== undefined) interval = Math.min(interval, f.keyframeIntervalMs);
    // Ask a little early: the keyframe takes a round trip and an encode to arrive.
    if (video.track.keyframeAge() >= interval * 0.85) this.requestKeyframe();
  }

  private tick(): void {
    const now = performance.now();
    let bytesIn = 0;
    let recent = false;
    let sourced = false;
    for (const p of this.producers.values()) {
      bytesIn += p.track.bytesIn;
      if (p.source) sourced = true;
      if (p.track.idleFor() < MEDIA_IDLE_MS) recent = true;
      // Consumers whose sinks broke under us (closed without a state change) end their transport.
      for (const c of p.track.consumers) if (c.broken) c.owner?.consumerBroken(c);
    }
    const seconds = (now - this.lastTickAt) / 1000;
    for (const p of this.producers.values()) for (const l of p.layers) l.measure(seconds);
    this.bitrateIn = seconds > 0 ? Math.round(((bytesIn - this.bytesInAtLastTick) * 8) / seconds) : 0;
    this.bytesInAtLastTick = bytesIn;
    this.lastTickAt = now;
    if (this.flowing && !(sourced && recent)) this.setFlowing(false);
  }
}
