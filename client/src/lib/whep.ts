/**
 * WHEP playback for the Watch page: where to ask, and the POST of a recvonly offer.
 */
import type { FetchFn } from './http.ts';
import { postOffer, type SdpAnswer } from './sdp-session.ts';

export function whepUrl(origin: string, streamId: string): string {
  return new URL(`/whep/${encodeURIComponent(streamId)}`, origin).href;
}

/** The stream's server-sent events (live/offline, active/inactive, viewercount, error). */
export function streamEventsUrl(origin: string, streamId: string): string {
  return new URL(`/streams/${encodeURIComponent(streamId)}/events`, origin).href;
}

/** POSTs a recvonly offer. A 409 STREAM_NOT_LIVE comes back as an ApiError with `retryAfterSeconds`. */
export function requestPlayback(fetch: FetchFn, url: string, offer: string): Promise<SdpAnswer> {
  return postOffer(fetch, url, offer);
}
