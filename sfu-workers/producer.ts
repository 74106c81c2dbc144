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
  /** Asks the sender for a keyframe of a layer now (the router throttles). False when it cannot yet. */
  sendKeyframeRequest(layer: number): boolean;
  /** The source sends what consumers cannot take (H.264 B-frames): it is closed with this message. */
  reject(reason: 'b-frames', message: string): void;
}

export interface ProducerOptions {
  info: ProducerInfo;
  ssrc: number;
  onKeyframeNeeded: () => void;
  onBFrame: (p: Producer) => void;
}

/** SSRCs for a producer's layer tracks other than the top one. */
const layerSsrc = () => (Math.random() * 0xfffffffe + 1) >>> 0;

export class Producer {
  readonly kind: MediaKind;
  /** The top (largest) layer: what the recorder and pipes take, and the only one without simulcast. */
  readonly track: MediaTrack;
  /** Simulcast layers, lowest resolution first (just `track` without simulcast). */
  readonly layers: readonly MediaTrack[];
  info: ProducerInfo;
  /** Its current source; undefined between a publisher leaving and the next one. */
  source: ProducerSource | undefined;
  /** The current (or last) source sends this kind: it is offered to new consumers. */
  offered = true;

  constructor(o: ProducerOptions) {
    this.kind = o.info.kind;
    this.info = o.info;
    const count = Math.max(1, o.info.layers ?? 1);
    const layers: MediaTrack[] = [];
    for (let i = 0; i < count; i++) {
      layers.push(new MediaTrack({
        kind: o.info.kind,
        codec: o.info.codec,
        clockRate: o.info.clockRate,
        ssrc: i === count - 1 ? o.ssrc : layerSsrc(),
        cacheSize: o.info.kind === 'video' ? 2048 : 256,
        onKeyframeNeeded: o.onKeyframeNeeded,
        onBFrame: () => o.onBFrame(this),
      }));
    }
    this.layers = layers;
    this.track = layers[count - 1]!;
  }

  get simulcast(): boolean {
    return this.layers.length > 1;
  }

  /** True when a source of another codec (or layer count) could not continue this producer's consumers. */
  differsFrom(info: ProducerInfo): boolean {
    return this.track.codec !== info.codec || this.track.clockRate !== info.clockRate || this.layers.length !== Math.max(1, info.layers ?? 1);
  }
}
