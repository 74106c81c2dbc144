/**
 * Plain RTP out of a router to a recorder on this host, like a mediasoup PlainTransport: its
 * consumers' (already rewritten) RTP goes to one UDP port over a connected socket, which sends
 * synchronously with no per-packet address lookup and nothing allocated per packet. Its
 * consumers follow the router's producer of their kind (also a new one after a codec change).
 * Not primed with the cached group of pictures: the replay is squeezed in time, which FFmpeg's
 * RTP demuxer turns into broken timestamps; the keyframe asked for when it starts consuming
 * starts it.
 *
 * RTCP is not forwarded: FFmpeg's RTP demuxer switches its timestamp base when the first
 * sender report of a stream arrives after that stream's first packet (a jump, then
 * non-monotonic audio), so the recorder times both tracks from their first packets instead;
 * the keyframe asked for when the recorder attaches starts them together.
 * A recorder that is not listening yet, or is restarting, makes the kernel answer with ICMP
 * errors: they are ignored, the packets are simply lost.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { TransportId } from '../protocol/ids.ts';
import type { ConsumerInfo, MediaKind } from '../protocol/sfu.ts';
import type { Consumer, ConsumerSink } from './media-track.ts';
import { SfuError, type MediaRouter, type Transport } from './media-router.ts';
import { isRtcp } from './rtp.ts';

/** Enough for a burst (a primed GOP or a large keyframe) even when the reader is slow. */
const SEND_BUFFER_BYTES = 2 * 1024 * 1024;

export class PlainRtpSink implements ConsumerSink {
  private closed = false;

  private constructor(private readonly socket: Socket) {}

  /** Resolves once the socket is bound and connected to host:port. */
  static open(host: string, port: number): Promise<PlainRtpSink> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', sendBufferSize: SEND_BUFFER_BYTES });
      s.once('error', reject);
      s.bind(0, () => {
        s.connect(port, host, () => {
          s.off('error', reject);
          const sink = new PlainRtpSink(s);
          s.on('error', () => {});
          s.unref();
          resolve(sink);
        });
      });
    });
  }

  sendMessageBinary(buf: Buffer): boolean {
    if (this.closed || isRtcp(buf)) return false;
    this.socket.send(buf);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export class PlainTransport implements Transport {
  readonly isPeer = false;
  readonly producing = false;
  private readonly consumers: Consumer[] = [];
  private closed = false;

  private constructor(
    readonly id: TransportId,
    private readonly router: MediaRouter,
    private readonly sink: PlainRtpSink,
  ) {}

  /** Opens its socket; the caller adds it to the router. */
  static async create(router: MediaRouter, id: TransportId, host: string, port: number): Promise<PlainTransport> {
    let sink: PlainRtpSink;
    try {
      sink = await PlainRtpSink.open(host, port);
    } catch (err) {
      throw new SfuError('BAD_REQUEST', `cannot send RTP to ${host}:${port}: ${(err as Error).message}`);
    }
    return new PlainTransport(id, router, sink);
  }

  /** A consumer of the router's producer of `kind`; see SfuMethods.consume. */
  consume(kind: MediaKind, payloadType: number, keyframeIntervalMs?: number): ConsumerInfo {
    if (this.closed) throw new SfuError('TRANSPORT_NOT_FOUND', 'the transport closed');
    const consumer: Consumer = { sink: this.sink, payloadType, open: true, packetsSent: 0, broken: false };
    this.consumers.push(consumer);
    this.router.follow(kind, consumer, keyframeIntervalMs);
    const track = this.router.producer(kind)?.track;
    return { kind, codec: track?.codec, payloadType, clockRate: track?.clockRate, ssrc: track?.ssrc };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) {
      c.open = false;
      this.router.unfollow(c);
    }
    this.sink.close();
  }
}
