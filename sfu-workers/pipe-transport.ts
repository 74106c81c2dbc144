/**
 * A pipe between two routers of one stream on this node (like mediasoup's PipeTransport):
 * RTP and RTCP over one UDP socket pair on loopback. On the origin side its consumers follow
 * the router's producers and send one copy for every viewer behind the pipe; on the other
 * side its RTP feeds that router's producers, so the far router has its own packet cache and
 * group of pictures (NACKs are answered and joins primed on the nearest hop). RTCP crosses
 * it: sender reports downstream (A/V sync), keyframe requests upstream (throttled by each
 * router). Plain RTP is only for loopback inside a node; pipes between nodes are encrypted.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { TransportId } from '../protocol/ids.ts';
import type { ConsumerInfo, MediaKind, ProducerInfo } from '../protocol/sfu.ts';
import type { Consumer, ConsumerSink } from './media-track.ts';
import { SfuError, type MediaRouter, type Transport } from './media-router.ts';
import type { Producer, ProducerSource } from './producer.ts';
import { buildPli, visitRtcp } from './rtcp.ts';
import { isRtcp, rtpSsrc } from './rtp.ts';

/** A burst (a primed group of pictures, a large keyframe) must fit while the reader catches up. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** The origin replays its cached group of pictures into a new pipe when its keyframe is this recent. */
const PRIME_MAX_AGE_MS = 3_000;

export class PipeTransport implements Transport, ProducerSource, ConsumerSink {
  readonly isPeer = false;
  producing = false;
  private connected = false;
  private closed = false;
  private readonly consumers: Array<{ kind: MediaKind; consumer: Consumer }> = [];
  /** Far side: the router's producers, by the payload type the origin sends them with. */
  private readonly byPayloadType = new Map<number, Producer>();
  private producerList: Producer[] = [];
  private videoSsrc: number | undefined;
  private readonly rtcpSsrc = randomInt(1, 0xffffffff);

  private constructor(
    readonly id: TransportId,
    private readonly router: MediaRouter,
    private readonly socket: Socket,
  ) {
    socket.on('message', (buf) => this.onPacket(buf));
  }

  /** Binds its socket on `host` (a loopback address) and a free port. */
  static create(router: MediaRouter, id: TransportId, host: string): Promise<PipeTransport> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', sendBufferSize: SOCKET_BUFFER_BYTES, recvBufferSize: SOCKET_BUFFER_BYTES });
      s.once('error', (err) => reject(new SfuError('BAD_REQUEST', `cannot bind a pipe on ${host}: ${err.message}`)));
      s.bind(0, host, () => {
        s.removeAllListeners('error');
        s.on('error', () => {}); // ICMP from a far side that went away: its packets are lost
        resolve(new PipeTransport(id, router, s));
      });
    });
  }

  get pipingOut(): boolean {
    return this.consumers.length > 0 && !this.closed;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Points it at the other end's socket. */
  connect(host: string, port: number): Promise<void> {
    if (this.connected) throw new SfuError('BAD_REQUEST', 'the pipe is connected already');
    return new Promise((resolve, reject) => {
      this.socket.connect(port, host, (err?: Error) => {
        if (err) return reject(new SfuError('BAD_REQUEST', `cannot connect the pipe to ${host}:${port}: ${err.message}`));
        this.connected = true;
        resolve();
      });
    });
  }

  /** Origin side: a consumer of the router's producer of `kind`, primed with the cached group of pictures. */
  consume(kind: MediaKind, payloadType: number): ConsumerInfo {
    if (this.closed || !this.connected) throw new SfuError('TRANSPORT_NOT_FOUND', 'the pipe is not connected');
    const consumer: Consumer = { sink: this, payloadType, open: true, packetsSent: 0, broken: false };
    this.consumers.push({ kind, consumer });
    this.router.follow(kind, consumer, undefined, PRIME_MAX_AGE_MS);
    const track = this.router.producer(kind)?.track;
    return { kind, codec: track?.codec, payloadType, clockRate: track?.clockRate, ssrc: track?.ssrc };
  }

  /** Far side: what arrives feeds the router's producers (each info's payloadType is the one the origin sends). */
  produce(infos: ProducerInfo[]): void {
    if (this.closed) throw new SfuError('TRANSPORT_NOT_FOUND', 'the pipe closed');
    this.router.prepareProduce(infos);
    const producers = this.router.produce(infos, this);
    this.byPayloadType.clear();
    for (const info of infos) this.byPayloadType.set(info.payloadType, producers.get(info.kind)!);
    this.producerList = [...producers.values()];
    this.producing = true;
  }

  /** ConsumerSink: the origin's rewritten RTP and sender reports, sent on. */
  sendMessageBinary(buf: Buffer): boolean {
    if (this.closed) return false;
    this.socket.send(buf);
    return true;
  }

  /** ProducerSource: a PLI upstream; the origin router throttles and asks its own source. */
  sendKeyframeRequest(): boolean {
    if (this.closed || !this.connected || this.videoSsrc === undefined) return false;
    this.socket.send(buildPli(this.rtcpSsrc, this.videoSsrc));
    return true;
  }

  /** ProducerSource: the media is refused (B-frames reached a pipe: the origin refuses them first). */
  reject(reason: 'b-frames', message: string): void {
    this.router.transportClosed(this, reason, message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { consumer } of this.consumers) {
      consumer.open = false;
      this.router.unfollow(consumer);
    }
    if (this.producing) this.router.unproduce(this);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private onPacket(buf: Buffer): void {
    if (this.closed) return;
    if (isRtcp(buf)) {
      visitRtcp(buf, {
        // Far side: the origin's sender reports, for the producer they describe.
        senderReport: (ssrc, ntpHigh, ntpLow, rtpTs) => {
          for (const p of this.producerList) p.track.senderReport(ntpHigh, ntpLow, rtpTs, ssrc);
        },
        // Origin side: the far router wants a keyframe, or lost a packet on the pipe.
        keyframeRequest: () => this.router.requestKeyframe(),
        nack: (mediaSsrc, seq) => {
          for (const { consumer } of this.consumers) this.router.retransmitFollower(consumer, mediaSsrc, seq);
        },
      });
      return;
    }
    if (buf.length < 12) return;
    const producer = this.byPayloadType.get(buf[1]! & 0x7f);
    if (!producer) return;
    if (producer.kind === 'video') this.videoSsrc = rtpSsrc(buf);
    producer.track.forward(buf);
    this.router.mediaArrived();
  }
}
