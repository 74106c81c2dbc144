/**
 * WHIP (RFC 9725) for the Studio: where to publish, the codec order Glint wants, the POST.
 */
import type { FetchFn } from './http.ts';
import { postOffer, type SdpAnswer } from './sdp-session.ts';

/** The ingest endpoint on this origin (the page posts same-origin; `ingestUrl` is for OBS). */
export function whipUrl(origin: string): string {
  return new URL('/whip', origin).href;
}

/** POSTs a sendonly offer with the stream key as Bearer token. */
export function publishOffer(fetch: FetchFn, url: string, streamKey: string, offer: string): Promise<SdpAnswer> {
  return postOffer(fetch, url, offer, { bearer: streamKey });
}

/** The parts of RTCRtpCodec the ordering looks at. */
export interface CodecLike {
  mimeType: string;
  sdpFmtpLine?: string;
}

function fmtp(codec: CodecLike): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of (codec.sdpFmtpLine ?? '').split(';')) {
    const [key, value] = part.split('=');
    if (key) params.set(key.trim().toLowerCase(), (value ?? '').trim().toLowerCase());
  }
  return params;
}

/** 0 = H.264 packetization-mode 1 constrained baseline 42e01f, 1 = other H.264 mode 1, 2 = the rest. */
function rank(codec: CodecLike): number {
  if (codec.mimeType.toLowerCase() !== 'video/h264') return 2;
  const params = fmtp(codec);
  if (params.get('packetization-mode') !== '1') return 2;
  return params.get('profile-level-id') === '42e01f' ? 0 : 1;
}

/**
 * The browser's codecs with H.264 packetization-mode 1 first (profile 42e01f first of
 * those), everything else after in the browser's order; null when there is no such H.264
 * (then the browser's default order stands and the server picks VP8).
 */
export function orderVideoCodecs<C extends CodecLike>(codecs: readonly C[]): C[] | null {
  if (!codecs.some((c) => rank(c) < 2)) return null;
  return codecs
    .map((codec, index) => ({ codec, index, rank: rank(codec) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.codec);
}

/** Applies `orderVideoCodecs` to a transceiver; false when it could not (no H.264, old browser). */
export function preferH264(
  transceiver: { setCodecPreferences?: (codecs: RTCRtpCodec[]) => void },
  capabilities: readonly RTCRtpCodec[] | null | undefined,
): boolean {
  if (!capabilities || typeof transceiver.setCodecPreferences !== 'function') return false;
  const ordered = orderVideoCodecs(capabilities);
  if (!ordered) return false;
  try {
    transceiver.setCodecPreferences(ordered);
    return true;
  } catch {
    return false;
  }
}
