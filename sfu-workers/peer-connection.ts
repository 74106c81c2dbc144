/**
 * Creating a libdatachannel PeerConnection for one WHIP/WHEP session and negotiating it:
 * our tracks (one codec each) are added before the offer is applied, so the answer offers
 * exactly what we chose and nothing libdatachannel cannot do (no transport-cc, no RTX; of
 * the header extensions, abs-send-time only).
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import type { WorkerSettings } from '../protocol/sfu.ts';
import { ABS_SEND_TIME_URI } from './abs-send-time.ts';
import { announceCandidates, type CodecChoice } from './sdp.ts';

const { PeerConnection: PC, Video, Audio } = nodeDataChannel;

export interface SendSsrc {
  ssrc: number;
  cname: string;
  msid: string;
  trackId: string;
}

export interface Negotiated {
  pc: PeerConnection;
  /** The first track of each kind (RTCP for the peer goes out on it). */
  tracks: Map<'audio' | 'video', Track>;
  /** Every track, in the order of `choices` (simulcast layers are several video tracks). */
  list: Track[];
  answer: string;
}

export class NegotiationError extends Error {}

/** Where a publisher's bandwidth estimate starts (Chrome: x-google-start-bitrate). */
const START_BITRATE_KBPS = 1_000;

/**
 * Builds the peer, applies the offer and resolves with our answer (candidates included:
 * the single mux port is known at once, so no trickle from our side is needed).
 */
export async function negotiate(
  settings: WorkerSettings,
  peerId: string,
  offer: string,
  choices: CodecChoice[],
  direction: 'RecvOnly' | 'SendOnly',
  sendSsrcs?: Map<'audio' | 'video', SendSsrc>,
  /** The address our candidates carry (the announced one by default; pipes use the pipe address). */
  announced = settings.announcedAddress,
): Promise<Negotiated> {
  const pc = new PC(peerId, {
    iceServers: settings.iceServers,
    bindAddress: settings.bindAddress,
    enableIceUdpMux: true,
    portRangeBegin: settings.port,
    portRangeEnd: settings.port,
    ...(settings.certificatePemFile ? { certificatePemFile: settings.certificatePemFile, keyPemFile: settings.keyPemFile } : {}),
  });
  try {
    const tracks = new Map<'audio' | 'video', Track>();
    const list: Track[] = [];
    for (const c of choices) {
      const media = c.kind === 'video' ? new Video(c.mid, direction) : new Audio(c.mid, direction);
      // The bindings refuse an explicit `undefined` profile: pass the argument only when set.
      // Publishers: Chrome starts every connection at 300 kbit/s and, without transport-cc,
      // climbs about 8 % a second; a start bitrate in our answer gets it to its layers sooner.
      const start = direction === 'RecvOnly' && c.kind === 'video' ? `x-google-start-bitrate=${START_BITRATE_KBPS}` : '';
      if (c.codec === 'h264') {
        const video = media as InstanceType<typeof Video>;
        const fmtp = [c.fmtp, start].filter(Boolean).join(';');
        if (fmtp) video.addH264Codec(c.payloadType, fmtp);
        else video.addH264Codec(c.payloadType);
      } else if (c.codec === 'vp8') {
        (media as InstanceType<typeof Video>).addVP8Codec(c.payloadType);
        if (start) media.parseSdpLine(`a=fmtp:${c.payloadType} ${start}`);
      } else if (c.codec === 'opus') {
        const audio = media as InstanceType<typeof Audio>;
        if (c.fmtp) audio.addOpusCodec(c.payloadType, c.fmtp);
        else audio.addOpusCodec(c.payloadType);
      } else {
        throw new NegotiationError(`codec ${c.codec} is not supported`);
      }
      if (c.kind === 'video') media.parseSdpLine(`a=rtcp-fb:${c.payloadType} ccm fir`);
      // The one header extension we answer: viewers' bandwidth estimates depend on it, and a
      // publisher that stamps it leaves room in each packet for our own stamp (abs-send-time.ts).
      if (c.absSendTimeId !== undefined) media.parseSdpLine(`a=extmap:${c.absSendTimeId} ${ABS_SEND_TIME_URI}`);
      const send = sendSsrcs?.get(c.kind);
      if (send) media.addSSRC(send.ssrc, send.cname, send.msid, send.trackId);
      const track = pc.addTrack(media);
      list.push(track);
      if (!tracks.has(c.kind)) tracks.set(c.kind, track);
    }
    const gathered = new Promise<void>((resolve) => {
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') resolve();
      });
    });
    try {
      pc.setRemoteDescription(offer, 'offer');
    } catch (err) {
      throw new NegotiationError(`the offer was refused: ${(err as Error).message}`);
    }
    await withTimeout(gathered, 5_000);
    const local = pc.localDescription();
    if (!local || local.type !== 'answer') throw new NegotiationError('no answer was produced for this offer');
    return { pc, tracks, list, answer: announceCandidates(local.sdp, announced) };
  } catch (err) {
    pc.close();
    throw err;
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new NegotiationError('ICE gathering did not complete')), ms);
    p.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Sends one RTCP packet on a track; a track that closed meanwhile is its state handler's business. */
export function sendRtcp(track: Track, packet: Buffer): void {
  try {
    track.sendMessageBinary(packet);
  } catch {
    // The track closed meanwhile; the state handler cleans up.
  }
}
