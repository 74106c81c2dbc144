/**
 * Just enough SDP (RFC 8866 / JSEP) for WHIP and WHEP: parse an offer, check what we need,
 * choose one codec per m-section, and patch candidates in our answer. The parser never
 * throws on garbage; `parseOffer` returns a reason a person can act on instead.
 */
import { MAX_LAYERS } from '../protocol/sfu.ts';
import { ABS_SEND_TIME_URI } from './abs-send-time.ts';

export interface RtpMap {
  codec: string;
  clockRate: number;
  channels: number;
}

export interface SdpMedia {
  kind: string;
  port: number;
  protocol: string;
  payloadTypes: number[];
  mid: string;
  direction: 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';
  rtpmap: Map<number, RtpMap>;
  fmtp: Map<number, string>;
  ssrcs: number[];
  /** ssrc-group:FID pairs (primary -> rtx). */
  fidGroups: Array<[number, number]>;
  cnameBySsrc: Map<number, string>;
  /** The MediaStream id of a=msid (what groups simulcast layers of one source), '' if none. */
  msidStream: string;
  hasSimulcast: boolean;
  /** a=extmap: header extension URI -> the offer's id (1-14, one-byte header). */
  extmaps: Map<string, number>;
  /** JSEP max-bundle: port 0 in the offer, yet active on the bundled transport. */
  bundleOnly: boolean;
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: string;
  setup?: string;
  rtcpMux: boolean;
  candidates: string[];
}

export interface SdpOffer {
  raw: string;
  bundle: string[];
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: string;
  setup?: string;
  media: SdpMedia[];
}

export type ParseResult = { ok: true; offer: SdpOffer } | { ok: false; reason: string };

const MAX_SDP_BYTES = 64 * 1024;
const DIRECTIONS = new Set(['sendonly', 'recvonly', 'sendrecv', 'inactive']);

export function parseOffer(sdp: string): ParseResult {
  if (typeof sdp !== 'string' || sdp.length === 0) return fail('the SDP offer is empty');
  if (sdp.length > MAX_SDP_BYTES) return fail(`the SDP offer is larger than ${MAX_SDP_BYTES} bytes`);
  const lines = sdp.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') return fail('the SDP offer must start with "v=0"');
  const offer: SdpOffer = { raw: sdp, bundle: [], media: [] };
  let m: SdpMedia | undefined;
  for (const line of lines) {
    if (line.length < 2 || line[1] !== '=') return fail(`malformed SDP line: "${clip(line)}"`);
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      const parts = value.split(' ');
      const port = Number(parts[1]);
      if (parts.length < 4 || !/^\d+$/.test(parts[1] ?? '') || port > 65535) return fail(`malformed m= line: "${clip(line)}"`);
      const pts = parts.slice(3).map(Number);
      if (parts[2]?.includes('RTP') && pts.some((pt) => !Number.isInteger(pt) || pt < 0 || pt > 127)) return fail(`bad payload type in "${clip(line)}"`);
      m = {
        kind: parts[0]!, port, protocol: parts[2]!, payloadTypes: pts, mid: '', direction: 'sendrecv',
        rtpmap: new Map(), fmtp: new Map(), ssrcs: [], fidGroups: [], cnameBySsrc: new Map(), msidStream: '', hasSimulcast: false, extmaps: new Map(),
        bundleOnly: false, rtcpMux: false, candidates: [],
      };
      offer.media.push(m);
      continue;
    }
    if (type !== 'a') continue;
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? '' : value.slice(colon + 1);
    if (!m) {
      if (name === 'group' && arg.startsWith('BUNDLE')) offer.bundle = arg.split(' ').slice(1).filter(Boolean);
      else if (name === 'ice-ufrag') offer.iceUfrag = arg;
      else if (name === 'ice-pwd') offer.icePwd = arg;
      else if (name === 'fingerprint') offer.fingerprint = arg;
      else if (name === 'setup') offer.setup = arg;
      continue;
    }
    switch (name) {
      case 'mid':
        m.mid = arg;
        break;
      case 'rtpmap': {
        const mm = /^(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(arg);
        if (mm) m.rtpmap.set(Number(mm[1]), { codec: mm[2]!.toLowerCase(), clockRate: Number(mm[3]), channels: Number(mm[4] ?? 1) });
        break;
      }
      case 'fmtp': {
        const sp = arg.indexOf(' ');
        if (sp > 0) m.fmtp.set(Number(arg.slice(0, sp)), arg.slice(sp + 1).trim());
        break;
      }
      case 'ssrc': {
        const mm = /^(\d+)(?: (\S+?)(?::(.*))?)?$/.exec(arg);
        if (!mm) break;
        const ssrc = Number(mm[1]);
        if (ssrc > 0xffffffff) break;
        if (!m.ssrcs.includes(ssrc)) m.ssrcs.push(ssrc);
        if (mm[2] === 'cname' && mm[3]) m.cnameBySsrc.set(ssrc, mm[3]);
        break;
      }
      case 'ssrc-group': {
        const parts = arg.split(' ');
        if (parts[0] === 'FID' && parts.length === 3) m.fidGroups.push([Number(parts[1]), Number(parts[2])]);
        break;
      }
      case 'simulcast':
        m.hasSimulcast = true;
        break;
      case 'extmap': {
        // "<id>[/<direction>] <uri> [<attributes>]"; ids past 14 need the two-byte header we do not write.
        const mm = /^(\d+)(?:\/\w+)? (\S+)/.exec(arg);
        if (mm && Number(mm[1]) >= 1 && Number(mm[1]) <= 14) m.extmaps.set(mm[2]!, Number(mm[1]));
        break;
      }
      case 'msid':
        m.msidStream = arg.split(' ')[0] ?? '';
        break;
      case 'bundle-only':
        m.bundleOnly = true;
        break;
      case 'ice-ufrag':
        m.iceUfrag = arg;
        break;
      case 'ice-pwd':
        m.icePwd = arg;
        break;
      case 'fingerprint':
        m.fingerprint = arg;
        break;
      case 'setup':
        m.setup = arg;
        break;
      case 'rtcp-mux':
        m.rtcpMux = true;
        break;
      case 'candidate':
        m.candidates.push(arg);
        break;
      default:
        if (DIRECTIONS.has(name)) m.direction = name as SdpMedia['direction'];
    }
  }
  if (offer.media.length === 0) return fail('the SDP offer has no media sections (m= lines)');
  for (const media of offer.media) {
    if (!media.mid) return fail(`the ${media.kind} section has no a=mid`);
    if (!(media.iceUfrag ?? offer.iceUfrag) || !(media.icePwd ?? offer.icePwd)) return fail(`the ${media.kind} section has no ICE credentials (a=ice-ufrag / a=ice-pwd)`);
    if (!(media.fingerprint ?? offer.fingerprint)) return fail(`the ${media.kind} section has no DTLS fingerprint (a=fingerprint)`);
  }
  const mids = offer.media.map((x) => x.mid);
  if (new Set(mids).size !== mids.length) return fail('two media sections share one a=mid');
  return { ok: true, offer };
}

/** A section that carries media: a non-zero port, or port 0 marked bundle-only (JSEP). */
export function isActive(m: SdpMedia): boolean {
  return m.port !== 0 || m.bundleOnly;
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

/** What one m-section of a session will carry. */
export interface CodecChoice {
  kind: 'audio' | 'video';
  mid: string;
  payloadType: number;
  /** 'h264' | 'vp8' | 'opus' */
  codec: string;
  clockRate: number;
  channels: number;
  /** fmtp parameters to answer with (the offer's, for the chosen payload type). */
  fmtp: string;
  /** H.264 profile-level-id as lower-case hex, when H.264. */
  profileLevelId?: string;
  /** The offer's id for abs-send-time, when it has one (answered with the same id). */
  absSendTimeId?: number;
}

/** The abs-send-time id of a section, as a CodecChoice field (absent when not offered). */
function absSendTime(m: SdpMedia): { absSendTimeId?: number } {
  const id = m.extmaps.get(ABS_SEND_TIME_URI);
  return id === undefined ? {} : { absSendTimeId: id };
}

export interface H264Profile {
  profileIdc: number;
  constraints: number;
}

export function parseProfileLevelId(hex: string | undefined): H264Profile | null {
  if (!hex || !/^[0-9a-fA-F]{6}$/.test(hex)) return null;
  return { profileIdc: parseInt(hex.slice(0, 2), 16), constraints: parseInt(hex.slice(2, 4), 16) };
}

/** Rank of an H.264 profile for publishing: lower is preferred; null when browsers cannot decode it. */
function h264Rank(p: H264Profile): number | null {
  const constrainedBaseline = p.profileIdc === 0x42 && (p.constraints & 0x40) !== 0;
  if (constrainedBaseline) return 0;
  if (p.profileIdc === 0x42) return 1;
  if (p.profileIdc === 0x4d) return 2;
  if (p.profileIdc === 0x64) return 3;
  return null;
}


/**
 * Chooses what a publisher sends us: H.264 (packetization-mode=1; constrained baseline
 * preferred, main and high accepted — B-frames are refused at run time), else VP8; Opus.
 * Up to MAX_LAYERS video sections of one source (the same a=msid stream) are simulcast
 * layers, lowest resolution first, as the Studio sends them; they must agree on the codec.
 * rid simulcast (a=simulcast) is refused: libdatachannel routes RTP by a=ssrc only.
 */
export function choosePublishCodecs(offer: SdpOffer): { ok: true; choices: CodecChoice[] } | { ok: false; reason: string } {
  const choices: CodecChoice[] = [];
  let audio = 0;
  let video = 0;
  for (const m of offer.media) {
    if (!isActive(m)) continue;
    if (m.kind !== 'audio' && m.kind !== 'video') return { ok: false, reason: `WHIP carries audio and video only; the offer has an "${m.kind}" section` };
    if (m.direction !== 'sendonly' && m.direction !== 'sendrecv') return { ok: false, reason: `the ${m.kind} section must be sendonly or sendrecv to publish (it is ${m.direction})` };
    if (m.kind === 'audio' && ++audio > 1) return { ok: false, reason: 'WHIP accepts at most one audio track' };
    if (m.kind === 'video' && ++video > MAX_LAYERS) return { ok: false, reason: `WHIP accepts one video track, or up to ${MAX_LAYERS} video sections as simulcast layers of it` };
    if (m.hasSimulcast) {
      return { ok: false, reason: `the ${m.kind} section uses rid simulcast (a=simulcast), which Glint does not take: publish one layer (turn simulcast off in the encoder), or send each layer as its own video section of the same stream (a=msid), lowest resolution first, as the Glint Studio does` };
    }
    if (m.ssrcs.length === 0) return { ok: false, reason: `the ${m.kind} section declares no a=ssrc` };
    const choice = m.kind === 'video' ? chooseVideo(m) : chooseAudio(m);
    if (!choice) {
      const offered = [...new Set([...m.rtpmap.values()].map((r) => r.codec))].join(', ') || 'none';
      return {
        ok: false,
        reason: m.kind === 'video'
          ? `no supported video codec offered (need H.264 with packetization-mode=1 in baseline, main or high profile, or VP8; offered: ${offered})`
          : `no supported audio codec offered (need Opus/48000/2; offered: ${offered})`,
      };
    }
    choices.push(choice);
  }
  if (choices.length === 0) return { ok: false, reason: 'the offer has no active audio or video section' };
  if (choices.length > 1 && !choices.every((c) => offer.bundle.includes(c.mid))) {
    return { ok: false, reason: 'audio and video must be bundled on one transport (a=group:BUNDLE; bundle-policy max-bundle)' };
  }
  const layers = choices.filter((c) => c.kind === 'video');
  if (layers.length > 1) {
    const sections = offer.media.filter((m) => m.kind === 'video' && isActive(m));
    const stream = sections[0]!.msidStream;
    if (!stream || stream === '-' || sections.some((m) => m.msidStream !== stream)) {
      return { ok: false, reason: 'several video sections are taken as simulcast layers of one source only: give them the same a=msid stream (addTransceiver with the same stream), lowest resolution first' };
    }
    if (layers.some((c) => c.codec !== layers[0]!.codec)) {
      return { ok: false, reason: `simulcast layers must use one codec (the offer's sections chose ${layers.map((c) => c.codec).join(', ')})` };
    }
  }
  return { ok: true, choices };
}

function chooseVideo(m: SdpMedia): CodecChoice | null {
  let best: { pt: number; rank: number } | null = null;
  let vp8: number | null = null;
  for (const pt of m.payloadTypes) {
    const map = m.rtpmap.get(pt);
    if (!map || map.clockRate !== 90000) continue;
    if (map.codec === 'h264') {
      const params = fmtpParams(m.fmtp.get(pt));
      if (params.get('packetization-mode') !== '1') continue;
      const profile = parseProfileLevelId(params.get('profile-level-id') ?? '42001f');
      const rank = profile && h264Rank(profile);
      if (rank === null || rank === undefined) continue;
      if (!best || rank < best.rank) best = { pt, rank };
    } else if (map.codec === 'vp8' && vp8 === null) {
      vp8 = pt;
    }
  }
  if (best) return videoChoice(m, best.pt, 'h264');
  if (vp8 !== null) return videoChoice(m, vp8, 'vp8');
  return null;
}

function videoChoice(m: SdpMedia, pt: number, codec: 'h264' | 'vp8'): CodecChoice {
  const fmtp = m.fmtp.get(pt) ?? '';
  const c: CodecChoice = { kind: 'video', mid: m.mid, payloadType: pt, codec, clockRate: 90000, channels: 1, fmtp, ...absSendTime(m) };
  if (codec === 'h264') c.profileLevelId = (fmtpParams(fmtp).get('profile-level-id') ?? '42001f').toLowerCase();
  return c;
}

function chooseAudio(m: SdpMedia): CodecChoice | null {
  for (const pt of m.payloadTypes) {
    const map = m.rtpmap.get(pt);
    if (map?.codec === 'opus' && map.clockRate === 48000) {
      return { kind: 'audio', mid: m.mid, payloadType: pt, codec: 'opus', clockRate: 48000, channels: 2, fmtp: m.fmtp.get(pt) ?? '', ...absSendTime(m) };
    }
  }
  return null;
}

/** What a viewer's offer must accept: one entry per producer of the stream. */
export interface ProducerCodec {
  kind: 'audio' | 'video';
  codec: string;
  profileLevelId?: string;
}

/**
 * Matches a viewer's offer to the stream's producers: for each producer, the viewer's
 * m-section of that kind and a payload type that decodes the producer's codec unchanged.
 */
export function chooseViewCodecs(
  offer: SdpOffer,
  producers: ProducerCodec[],
): { ok: true; choices: CodecChoice[] } | { ok: false; reason: string } {
  const choices: CodecChoice[] = [];
  const used = new Set<string>();
  for (const p of producers) {
    const m = offer.media.find((x) => x.kind === p.kind && isActive(x) && !used.has(x.mid));
    if (!m) continue; // The viewer did not ask for this kind: it simply does not get it.
    if (m.direction !== 'recvonly' && m.direction !== 'sendrecv') {
      return { ok: false, reason: `the ${m.kind} section must be recvonly or sendrecv to watch (it is ${m.direction})` };
    }
    const pt = p.kind === 'audio' ? chooseAudio(m)?.payloadType : matchVideo(m, p);
    if (pt === undefined || pt === null) {
      return {
        ok: false,
        reason: p.codec === 'h264'
          ? `this stream is H.264 (profile-level-id ${p.profileLevelId}) and the offer has no matching H.264 payload type with packetization-mode=1`
          : `this stream's ${p.kind} is ${p.codec.toUpperCase()} and the offer does not accept it`,
      };
    }
    used.add(m.mid);
    const map = m.rtpmap.get(pt)!;
    choices.push({
      kind: p.kind, mid: m.mid, payloadType: pt, codec: p.codec, clockRate: map.clockRate, channels: map.channels,
      fmtp: m.fmtp.get(pt) ?? '', ...(p.profileLevelId ? { profileLevelId: p.profileLevelId } : {}), ...absSendTime(m),
    });
  }
  if (choices.length === 0) return { ok: false, reason: 'the offer asks for neither audio nor video' };
  if (choices.length > 1 && !choices.every((c) => offer.bundle.includes(c.mid))) {
    return { ok: false, reason: 'audio and video must be bundled on one transport (a=group:BUNDLE)' };
  }
  return { ok: true, choices };
}

function matchVideo(m: SdpMedia, p: ProducerCodec): number | null {
  let fallback: number | null = null;
  for (const pt of m.payloadTypes) {
    const map = m.rtpmap.get(pt);
    if (!map || map.codec !== p.codec || map.clockRate !== 90000) continue;
    if (p.codec !== 'h264') return pt;
    const params = fmtpParams(m.fmtp.get(pt));
    if (params.get('packetization-mode') !== '1') continue;
    const want = parseProfileLevelId(p.profileLevelId);
    const have = parseProfileLevelId(params.get('profile-level-id') ?? '42001f');
    if (!want || !have) continue;
    if (have.profileIdc === want.profileIdc && have.constraints === want.constraints) return pt;
    // A decoder of a profile decodes constrained baseline too (all its tools are a subset).
    const wantCb = want.profileIdc === 0x42 && (want.constraints & 0x40) !== 0;
    if (fallback === null && (have.profileIdc === want.profileIdc || wantCb)) fallback = pt;
  }
  return fallback;
}

/**
 * Replaces the address of our host candidates with the announced one (public IP or DNS name
 * behind NAT or in Kubernetes). Same port: the ICE mux finds the peer by username.
 */
export function announceCandidates(answer: string, announced: string): string {
  if (!announced) return answer;
  return answer.replace(/^a=candidate:(\S+) (\d+) (udp|UDP|tcp|TCP) (\d+) (\S+) (\d+) typ host(.*)$/gm,
    (_all, foundation, comp, proto, prio, _addr, port, rest) => `a=candidate:${foundation} ${comp} ${proto} ${prio} ${announced} ${port} typ host${rest}`);
}
