/**
 * Plain RTP out of a router to a recorder on this host, like a mediasoup PlainTransport: one
 * track's (already rewritten) RTP goes to one UDP port over a connected socket, which sends
 * synchronously with no per-packet address lookup and nothing allocated per packet.
 *
 * RTCP is not forwarded: FFmpeg's RTP demuxer switches its timestamp base when the first
 * sender report of a stream arrives after that stream's first packet (a jump, then
 * non-monotonic audio), so the recorder times both tracks from their first packets instead;
 * the router starts them together (the video primed up to the live edge).
 * A recorder that is not listening yet, or is restarting, makes the kernel answer with ICMP
 * errors: they are ignored, the packets are simply lost.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { ConsumerSink } from './media-track.ts';
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
