/**
 * A producer: the router's input of one kind (its audio or its video). Its media comes from
 * a source — a WebRTC publisher's transport today, a pipe from another router next — and
 * goes into the producer's MediaTrack, whose outgoing SSRC / sequence / timestamp space and
 * packet cache outlive sources, so consumers see one continuous stream across reconnects.
 */
import type { MediaKind, ProducerInfo } from '../protocol/sfu.ts';
import { MediaTrack } from './media-track.ts';

/** Where a producer's packets come from; RTCP feedback for the sender goes back through it. */
export interface ProducerSource {
  /** Asks the sender for a keyframe now (the router throttles). False when it cannot yet. */
  sendKeyframeRequest(): boolean;
  /** The source sends what consumers cannot take (H.264 B-frames): it is closed with this message. */
  reject(reason: 'b-frames', message: string): void;
}

export interface ProducerOptions {
  info: ProducerInfo;
  ssrc: number;
  onKeyframeNeeded: () => void;
  onBFrame: (p: Producer) => void;
}

export class Producer {
  readonly kind: MediaKind;
  readonly track: MediaTrack;
  info: ProducerInfo;
  /** Its current source; undefined between a publisher leaving and the next one. */
  source: ProducerSource | undefined;
  /** The current (or last) source sends this kind: it is offered to new consumers. */
  offered = true;

  constructor(o: ProducerOptions) {
    this.kind = o.info.kind;
    this.info = o.info;
    this.track = new MediaTrack({
      kind: o.info.kind,
      codec: o.info.codec,
      clockRate: o.info.clockRate,
      ssrc: o.ssrc,
      cacheSize: o.info.kind === 'video' ? 2048 : 256,
      onKeyframeNeeded: o.onKeyframeNeeded,
      onBFrame: () => o.onBFrame(this),
    });
  }

  /** True when a source of another codec could not continue this producer's consumers. */
  differsFrom(codec: string, clockRate: number): boolean {
    return this.track.codec !== codec || this.track.clockRate !== clockRate;
  }
}
