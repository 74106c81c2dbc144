/**
 * The HTTP half of WHIP (RFC 9725) and WHEP, shared by both: POST an SDP offer, read the
 * 201 (answer, session URL, ICE servers), DELETE the session. No trickle: callers wait for
 * ICE gathering before posting (the server's answer already carries its candidates).
 */
import { ApiError } from './api-error.ts';
import type { FetchFn } from './http.ts';

export interface SdpAnswer {
  answer: string;
  /** Absolute URL of the session (the `Location`, resolved against the POST URL). */
  sessionUrl: string;
  etag: string | null;
  /** STUN/TURN servers from `Link: <...>; rel="ice-server"` (for the next connection). */
  iceServers: RTCIceServer[];
}

export interface PostOfferOptions {
  /** `Authorization: Bearer <token>` (the stream key for WHIP). */
  bearer?: string;
  signal?: AbortSignal;
}

/** POSTs an offer as `application/sdp`; any answer but 201 becomes an ApiError. */
export async function postOffer(fetch: FetchFn, url: string, offer: string, opts: PostOfferOptions = {}): Promise<SdpAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/sdp', Accept: 'application/sdp' };
  if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
  const init: RequestInit = { method: 'POST', headers, body: offer };
  if (opts.signal) init.signal = opts.signal;
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError('NETWORK_ERROR', 'Could not reach the media server. Check your connection.', { cause: err });
  }
  const text = await response.text().catch(() => '');
  if (response.status !== 201) {
    throw ApiError.fromResponse(response.status, parseJson(text, response.headers), response.headers);
  }
  const location = response.headers.get('Location');
  if (!location || !text.startsWith('v=')) {
    throw new ApiError('BAD_RESPONSE', 'The media server answered without an SDP answer or session URL.', {
      status: response.status,
    });
  }
  return {
    answer: text,
    sessionUrl: resolveSessionUrl(location, url),
    etag: response.headers.get('ETag'),
    iceServers: parseIceServerLinks(response.headers.get('Link')),
  };
}

/**
 * DELETEs a session (a WHIP session with its stream key as `bearer`). Resolves true when the
 * server answered at all (200, or 404 because it already ended), false when it could not be
 * reached; never rejects.
 */
export async function deleteSession(
  fetch: FetchFn,
  sessionUrl: string,
  opts: { keepalive?: boolean; timeoutMs?: number; bearer?: string } = {},
): Promise<boolean> {
  const controller = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = controller && opts.timeoutMs ? setTimeout(() => controller.abort(), opts.timeoutMs) : null;
  try {
    const init: RequestInit = { method: 'DELETE' };
    if (opts.bearer) init.headers = { Authorization: `Bearer ${opts.bearer}` };
    if (opts.keepalive) init.keepalive = true;
    if (controller) init.signal = controller.signal;
    const response = await fetch(sessionUrl, init);
    await response.body?.cancel().catch(() => undefined);
    return true;
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** `Location` may be relative (`/whip/sessions/x`): resolve it against the URL that was POSTed to. */
export function resolveSessionUrl(location: string, requestUrl: string): string {
  return new URL(location, requestUrl).href;
}

/** Parses `Link` header values with `rel="ice-server"` into RTCIceServer entries. */
export function parseIceServerLinks(header: string | null): RTCIceServer[] {
  if (!header) return [];
  const servers: RTCIceServer[] = [];
  // <uri>; param=value; param="quoted, value", <uri2>; ...
  const link = /<([^>]*)>((?:\s*;\s*[\w*-]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,]*))?)*)/g;
  for (const match of header.matchAll(link)) {
    const params = new Map<string, string>();
    const param = /;\s*([\w*-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*))?/g;
    for (const p of (match[2] ?? '').matchAll(param)) {
      let value = (p[2] ?? '').trim();
      if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      params.set(p[1]!.toLowerCase(), value);
    }
    if (!(params.get('rel') ?? '').split(/\s+/).includes('ice-server')) continue;
    const server: RTCIceServer = { urls: match[1]! };
    const username = params.get('username');
    const credential = params.get('credential');
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    servers.push(server);
  }
  return servers;
}

/** The subset of RTCPeerConnection that ICE gathering needs. */
export interface GatheringPeer {
  readonly iceGatheringState: RTCIceGatheringState;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Resolves when ICE gathering completes, or after `timeoutMs` with what was gathered so far. */
export function waitForIceGathering(pc: GatheringPeer, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

function parseJson(text: string, headers: Pick<Headers, 'get'>): unknown {
  if (!(headers.get('Content-Type') ?? '').includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
