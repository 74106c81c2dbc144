/**
 * The far end of a pipe from a router on another node: a libdatachannel PeerConnection that
 * this worker opens to the origin node's worker (DTLS-SRTP over UDP, so the media between
 * nodes is encrypted, and authenticated by the fingerprints the two nodes exchange over
 * their signed internal channel). We offer to receive exactly the origin's producers; the
 * origin answers as it answers a viewer (its consumers, primed with the cached group of
 * pictures, its NACK answers from its packet cache), with the consumer marked as a pipe.
 *
 * What arrives feeds this router's producers, so this router has its own packet cache and
 * group of pictures: its viewers' NACKs are answered here and their joins primed here.
 * Holes on the way from the origin are asked for again (NACK); keyframe requests go
 * upstream as PLI (the origin throttles them); the origin's sender reports keep A/V sync.
 */
import { randomInt } from 'node:crypto';
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import type { TransportId } from '../protocol/ids.ts';
import type { MediaKind, ProducerInfo } from '../protocol/sfu.ts';
import { SfuError, type MediaRouter, type Transport } from './media-router.ts';
import { NackRequester } from './nack-requester.ts';
import { sendRtcp } from './peer-connection.ts';
import type { Producer, ProducerSource } from './producer.ts';
import { buildNack, buildPli, visitRtcp } from './rtcp.ts';
import { isRtcp, rtpSeq, rtpSsrc } from './rtp.ts';

const { PeerConnection: PC, Video, Audio } = nodeDataChannel;

/** Offers are complete within this (host candidates only, no STUN/TURN between nodes). */
const GATHER_TIMEOUT_MS = 2_000;

export class WebRtcPipeTransport implements Transport, ProducerSource {
  readonly isPeer = false;
  readonly producing = true;
  readonly pipingIn = true;
  private connected = false;
  private closed = false;
  private answered = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly rtcpSsrc = randomInt(1, 0xffffffff);
  /** The SSRC the origin sends video on, once seen (PLI and NACK name it). */
  private videoSsrc: number | undefined;
  private readonly nacks: NackRequester;
  private nackTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly id: TransportId,
    private readonly router: MediaRouter,
    private readonly pc: PeerConnection,
    private readonly tracks: Map<MediaKind, Track>,
  ) {
    this.nacks = new NackRequester({ send: (seqs) => this.sendNack(seqs) });
  }

  /** Makes the peer, feeds the router's producers from it, and resolves with our offer. */
  static async create(router: MediaRouter, id: TransportId, infos: ProducerInfo[]): Promise<{ transport: WebRtcPipeTransport; offer: string }> {
    if (infos.length === 0) throw new SfuError('BAD_REQUEST', 'a pipe needs the producers it carries');
    const s = router.settings;
    const pc = new PC(id, {
      iceServers: [],
      // Our own ephemeral port (not the worker's mux port): we connect out, the origin learns
      // our address from our checks.
      bindAddress: s.bindAddress,
      ...(s.certificatePemFile ? { certificatePemFile: s.certificatePemFile, keyPemFile: s.keyPemFile } : {}),
    });
    const tracks = new Map<MediaKind, Track>();
    try {
      infos.forEach((info, i) => {
        const mid = String(i);
        if (info.kind === 'video') {
          const v = new Video(mid, 'RecvOnly');
          if (info.codec === 'h264') v.addH264Codec(info.payloadType, `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${info.profileLevelId ?? '42e01f'}`);
          else if (info.codec === 'vp8') v.addVP8Codec(info.payloadType);
          else throw new SfuError('BAD_REQUEST', `codec ${info.codec} cannot be piped`);
          tracks.set('video', pc.addTrack(v));
        } else {
          const a = new Audio(mid, 'RecvOnly');
          if (info.codec !== 'opus') throw new SfuError('BAD_REQUEST', `codec ${info.codec} cannot be piped`);
          a.addOpusCodec(info.payloadType);
          tracks.set('audio', pc.addTrack(a));
        }
      });
      const offer = await localOffer(pc);
      // A codec change upstream cannot continue this router's viewers' streams (they renegotiate).
      router.prepareProduce(infos);
      const t = new WebRtcPipeTransport(id, router, pc, tracks);
      router.addTransport(t);
      const producers = router.produce(infos, t);
      for (const [kind, producer] of producers) t.receiveInto(tracks.get(kind)!, producer);
      return { transport: t, offer };
    } catch (err) {
      pc.close();
      throw err;
    }
  }

  /** Applies the origin's answer; connected or closed (`timeout`, `failed`) follows as an event. */
  connect(answer: string): void {
    if (this.closed) throw new SfuError('TRANSPORT_NOT_FOUND', 'the pipe closed');
    if (this.answered) throw new SfuError('BAD_REQUEST', 'the pipe has its answer already');
    this.answered = true;
    const timeoutMs = this.router.settings.connectTimeoutSeconds * 1000;
    this.connectTimer = setTimeout(() => {
      if (!this.connected) this.fail('timeout', `the pipe did not connect within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    this.pc.onStateChange((state) => {
      if (this.closed) return;
      if (state === 'connected' && !this.connected) {
        this.connected = true;
        clearTimeout(this.connectTimer);
        this.router.transportConnected(this);
      } else if (state === 'failed') {
        this.fail('failed', 'the pipe connection failed');
      } else if (state === 'closed') {
        this.fail('closed', 'the origin closed the pipe');
      }
    });
    try {
      this.pc.setRemoteDescription(answer, 'answer');
    } catch (err) {
      this.answered = false;
      clearTimeout(this.connectTimer);
      throw new SfuError('SDP_MALFORMED', `the origin's answer was refused: ${(err as Error).message}`);
    }
    // Packets that stop right after a hole still get asked for.
    this.nackTimer = setInterval(() => this.nacks.flush(), 20);
  }

  /** ProducerSource: a PLI to the origin (it throttles and asks its own source). */
  sendKeyframeRequest(): boolean {
    const track = this.tracks.get('video');
    if (this.closed || !this.connected || !track || this.videoSsrc === undefined) return false;
    sendRtcp(track, buildPli(this.rtcpSsrc, this.videoSsrc));
    return true;
  }

  /** ProducerSource: the origin refuses B-frames before they reach a pipe; ends it should one slip through. */
  reject(reason: 'b-frames', message: string): void {
    this.fail(reason, message);
  }

  get nacksSent(): number {
    return this.nacks.requested;
  }

  get nacksRecovered(): number {
    return this.nacks.recovered;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    clearInterval(this.nackTimer);
    this.router.unproduce(this);
    try {
      this.pc.close();
    } catch {
      // closed underneath us
    }
  }

  private fail(reason: 'timeout' | 'failed' | 'closed' | 'b-frames', message: string): void {
    if (!this.closed) this.router.transportClosed(this, reason, message);
  }

  private receiveInto(track: Track, producer: Producer): void {
    const media = producer.track;
    const video = producer.kind === 'video';
    track.onMessage((buf) => {
      if (this.closed) return;
      if (isRtcp(buf)) {
        visitRtcp(buf, { senderReport: (ssrc, ntpHigh, ntpLow, rtpTs) => media.senderReport(ntpHigh, ntpLow, rtpTs, ssrc) });
        return;
      }
      if (buf.length < 12) return;
      if (video) {
        const ssrc = rtpSsrc(buf);
        if (ssrc !== this.videoSsrc) {
          this.videoSsrc = ssrc;
          this.nacks.reset();
        }
        this.nacks.onPacket(rtpSeq(buf));
      }
      media.forward(buf);
      this.router.mediaArrived();
    });
  }

  private sendNack(seqs: number[]): void {
    const track = this.tracks.get('video');
    if (!track || this.videoSsrc === undefined || this.closed) return;
    sendRtcp(track, buildNack(this.rtcpSsrc, this.videoSsrc, seqs));
  }
}

/**
 * Our offer as the origin gets it: `a=setup:active` and no candidates, as a libdatachannel
 * client offers to our own workers (see test/helpers/ndc-peer.ts: libdatachannel 0.24 can
 * fail DTLS when the answerer's checks arrive before the fingerprint is applied; without
 * our candidates ICE starts from our side, after the answer). The origin learns our address
 * from our checks (peer-reflexive).
 */
async function localOffer(pc: PeerConnection): Promise<string> {
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  pc.setLocalDescription();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([gathered, new Promise<void>((r) => (timer = setTimeout(r, GATHER_TIMEOUT_MS)))]);
  clearTimeout(timer);
  const local = pc.localDescription();
  if (!local || local.type !== 'offer') throw new SfuError('INTERNAL', 'no offer was produced for the pipe');
  return local.sdp.replace(/^a=setup:actpass\r?\n/gm, 'a=setup:active\r\n').replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
}
