/**
 * The STUN/TURN servers a page's peer connections are built with. A connection needs them
 * before it gathers candidates, so the first one asks the endpoint with `OPTIONS` (RFC 9725
 * 4.6: the same `Link: rel="ice-server"` headers as an answer); every answer then refreshes
 * them. TURN credentials minted by the server carry their expiry (`<unix expiry>:<label>`):
 * they are asked for again before they run out. Without servers (none configured, or the
 * server could not say) connections go direct, as before.
 */
import type { FetchFn } from './http.ts';
import { parseIceServerLinks } from './sdp-session.ts';

/** Asked again this long before minted credentials expire (half their remaining life when shorter). */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/** After a failed ask: go without servers, and ask again no sooner than this. */
const RETRY_AFTER_FAILURE_MS = 60_000;

export class IceServerCache {
  private servers: RTCIceServer[] = [];
  private validUntil = 0;

  constructor(
    private readonly fetch: FetchFn,
    /** The WHIP or WHEP endpoint (its OPTIONS answers with the servers). */
    private readonly url: string,
    private readonly now: () => number = Date.now,
    private readonly timeoutMs = 3_000,
  ) {}

  /** The servers for the next connection: known ones, else asked for (never rejects). */
  async get(): Promise<RTCIceServer[]> {
    if (this.now() < this.validUntil) return this.servers;
    const asked = await this.ask();
    if (asked) this.learn(asked);
    else this.validUntil = this.now() + RETRY_AFTER_FAILURE_MS;
    return this.servers;
  }

  /** Servers from an answer's Link headers (the newest word: they replace what we had). */
  learn(servers: RTCIceServer[]): void {
    this.servers = servers;
    const expires = credentialsExpireAt(servers);
    this.validUntil = expires - Math.min(EXPIRY_MARGIN_MS, (expires - this.now()) / 2);
  }

  private async ask(): Promise<RTCIceServer[] | null> {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), this.timeoutMs) : null;
    try {
      const init: RequestInit = { method: 'OPTIONS' };
      if (controller) init.signal = controller.signal;
      const response = await this.fetch(this.url, init);
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) return null;
      return parseIceServerLinks(response.headers.get('Link'));
    } catch {
      return null;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

/** When the first of the servers' TURN REST credentials expires (ms); Infinity when none carries an expiry. */
export function credentialsExpireAt(servers: RTCIceServer[]): number {
  let at = Infinity;
  for (const s of servers) {
    const m = typeof s.username === 'string' ? /^(\d{9,}):/.exec(s.username) : null;
    if (m) at = Math.min(at, Number(m[1]) * 1000);
  }
  return at;
}
