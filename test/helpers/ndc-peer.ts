/**
 * A WHIP/WHEP client made of libdatachannel (node-datachannel) for tests and load tools:
 * a synthetic publisher that sends crafted H.264 RTP, and headless viewers that count
 * what arrives. Binds to 127.0.0.1 only.
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { rtpPayloadOffset } from '../../sfu-workers/rtp.ts';

const { PeerConnection: PC, Video, Audio } = nodeDataChannel;

export const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

export interface ClientPeer {
  pc: PeerConnection;
  video?: Track;
  /** A simulcast publisher's video sections, lowest layer first (`video` is the first). */
  layers?: Track[];
  audio?: Track;
  offer: string;
  close(): void;
}

function rtcConfig(portRange?: [number, number]) {
  return {
    iceServers: [],
    bindAddress: '127.0.0.1',
    ...(portRange ? { portRangeBegin: portRange[0], portRangeEnd: portRange[1] } : {}),
  };
}

/**
 * Our offer as sent to the server: `a=setup:active` instead of actpass and no candidates.
 * libdatachannel 0.24 stores the remote fingerprint only after applying the remote ICE
 * credentials, so when ICE connects inside setRemoteDescription (loopback: the server has
 * been sending checks to our candidates meanwhile) the DTLS handshake can verify the
 * server's certificate before the fingerprint is known and fail (1 in 5 to 20 connects
 * here). Without our candidates the server cannot check first: ICE starts from our side
 * after setRemoteDescription, and as DTLS client we see the server's certificate a few
 * round trips later. The server learns our address from our checks (peer-reflexive), as it
 * does for browsers that hide their addresses behind mDNS names.
 */
async function localOffer(pc: PeerConnection): Promise<string> {
  const done = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  pc.setLocalDescription();
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  return pc
    .localDescription()!
    .sdp.replace(/^a=setup:actpass\r?\n/gm, 'a=setup:active\r\n')
    .replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
}

/**
 * A publisher offering H.264 (and Opus when `audio`), sendonly, with fixed SSRCs. `layers`:
 * that many video sections of one stream (simulcast as the Studio sends it), SSRCs
 * `videoSsrc`, `videoSsrc + 1`, ...; `msids` gives each its own stream id instead.
 */
export async function createPublisherPeer(options: { videoSsrc?: number; audioSsrc?: number; audio?: boolean; name?: string; layers?: number; msids?: string[] } = {}): Promise<ClientPeer> {
  const pc = new PC(options.name ?? 'pub', rtcConfig());
  const layers: Track[] = [];
  const count = options.layers ?? 1;
  for (let i = 0; i < count; i++) {
    const v = new Video(String(i), 'SendOnly');
    v.addH264Codec(96, H264_FMTP);
    v.addSSRC((options.videoSsrc ?? 0x11111111) + i, 'load', options.msids?.[i] ?? 'load-stream', `load-video-${i}`);
    layers.push(pc.addTrack(v));
  }
  const video = layers[0]!;
  let audio: Track | undefined;
  if (options.audio !== false) {
    const a = new Audio(String(count), 'SendOnly');
    a.addOpusCodec(111);
    a.addSSRC(options.audioSsrc ?? 0x22222222, 'load', 'load-stream', 'load-audio');
    audio = pc.addTrack(a);
  }
  const offer = await localOffer(pc);
  return { pc, video, layers, audio, offer, close: () => pc.close() };
}

/** A viewer offering to receive H.264 (and Opus when `audio`). */
export async function createViewerPeer(options: { audio?: boolean; name?: string; portRange?: [number, number] } = {}): Promise<ClientPeer> {
  const pc = new PC(options.name ?? 'viewer', rtcConfig(options.portRange));
  const v = new Video('0', 'RecvOnly');
  v.addH264Codec(102, H264_FMTP);
  const video = pc.addTrack(v);
  let audio: Track | undefined;
  if (options.audio) {
    const a = new Audio('1', 'RecvOnly');
    a.addOpusCodec(111);
    audio = pc.addTrack(a);
  }
  const offer = await localOffer(pc);
  return { pc, video, audio, offer, close: () => pc.close() };
}

/** Applies the server's answer and resolves once the peer is connected. */
export async function connect(peer: ClientPeer, answer: string, timeoutMs = 10_000): Promise<void> {
  const connected = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('peer did not connect')), timeoutMs);
    peer.pc.onStateChange((s) => {
      if (s === 'connected') {
        clearTimeout(t);
        resolve();
      } else if (s === 'failed') {
        clearTimeout(t);
        reject(new Error('peer connection failed'));
      }
    });
  });
  try {
    peer.pc.setRemoteDescription(answer, 'answer');
  } catch (err) {
    throw new Error(`${(err as Error).message} (signaling ${peer.pc.signalingState()}, ice ${peer.pc.iceState()}, gathering ${peer.pc.gatheringState()}, state ${peer.pc.state()})\n${answer}`);
  }
  await connected;
}

/**
 * Crafts H.264 RTP: one single-NAL packet per call (an IDR every `keyframeEvery` frames,
 * else a P slice), `size` bytes, carrying the send time (ms, float64) at payload offset 4.
 */
export class SyntheticH264 {
  private seq = Math.floor(Math.random() * 60000);
  private ts = Math.floor(Math.random() * 1e9);
  private frame = 0;
  readonly buf: Buffer;

  constructor(
    private readonly ssrc: number,
    private readonly size = 1200,
    private readonly keyframeEvery = 60,
    private readonly payloadType = 96,
  ) {
    this.buf = Buffer.alloc(size);
  }

  /** True when the next frame is a keyframe. */
  get keyframeNext(): boolean {
    return this.frame % this.keyframeEvery === 0;
  }

  /** A STAP-A with `sps` (hex NAL unit) and a PPS on the next frame's timestamp: send it before that keyframe. */
  parameterSets(sps: string): Buffer {
    const spsNal = Buffer.from(sps, 'hex');
    const pps = Buffer.from('68ce3c80', 'hex');
    const b = Buffer.concat([Buffer.alloc(13), Buffer.from([spsNal.length >> 8, spsNal.length & 0xff]), spsNal, Buffer.from([0, pps.length]), pps]);
    b[0] = 0x80;
    b[1] = this.payloadType;
    b.writeUInt16BE(this.seq, 2);
    b.writeUInt32BE(this.ts >>> 0, 4);
    b.writeUInt32BE(this.ssrc, 8);
    b[12] = 0x78; // STAP-A (24), NRI 3
    this.seq = (this.seq + 1) & 0xffff;
    return b;
  }

  /** Next packet (the same Buffer each time: send it before calling again). */
  next(sendTimeMs: number, endOfFrame: boolean): Buffer {
    const b = this.buf;
    b[0] = 0x80;
    b[1] = (endOfFrame ? 0x80 : 0) | this.payloadType;
    b.writeUInt16BE(this.seq, 2);
    b.writeUInt32BE(this.ts >>> 0, 4);
    b.writeUInt32BE(this.ssrc, 8);
    const key = this.frame % this.keyframeEvery === 0;
    b[12] = key ? 0x65 : 0x41; // NAL header: IDR slice (5) or non-IDR slice (1)
    b[13] = 0x88; // first_mb_in_slice=0, slice_type ue(v) = 7 (I) / for P the next bits
    b[14] = key ? 0x80 : 0x9a; // P slice: slice_type 5 -> not a B-slice
    b[15] = 0;
    b.writeDoubleBE(sendTimeMs, 16);
    this.seq = (this.seq + 1) & 0xffff;
    if (endOfFrame) {
      this.ts += 3000;
      this.frame++;
    }
    return b;
  }
}

/**
 * Sends synthetic H.264 on `track` every `everyMs` (one packet, one frame) until stopped;
 * packets sent before the track opens (a moment after the connection) are skipped.
 */
export function sendSynthetic(track: Track, options: { ssrc?: number; keyframeEvery?: number; everyMs?: number } = {}): { stop(): void; paused: boolean } {
  const gen = new SyntheticH264(options.ssrc ?? 0x11111111, 1200, options.keyframeEvery ?? 60);
  const sender = {
    paused: false,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (sender.paused) return;
    try {
      track.sendMessageBinary(gen.next(performance.now(), true));
    } catch {
      // not open yet, or closed by the test
    }
  }, options.everyMs ?? 10);
  return sender;
}

/**
 * A WHEP viewer of `baseUrl` that records the NAL unit type of every video packet it gets
 * (5: IDR, 1: other slice): what a test checks to see a viewer start on a keyframe. Connected
 * when it resolves; `peers` collects it for the test's cleanup.
 */
export async function nalViewer(baseUrl: string, streamId: string, peers: ClientPeer[]): Promise<{ peer: ClientPeer; nals: number[]; location: string }> {
  const peer = await createViewerPeer();
  peers.push(peer);
  const nals: number[] = [];
  peer.video!.onMessage((buf) => {
    if (buf.length > 12 && (buf[1]! & 0x7f) === 102) nals.push(buf[rtpPayloadOffset(buf)]! & 0x1f);
  });
  const res = await fetch(`${baseUrl}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: peer.offer });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHEP answered ${res.status}: ${text}`);
  await connect(peer, text);
  return { peer, nals, location: res.headers.get('location')! };
}
