/**
 * The STUN/TURN servers a WHIP or WHEP client is told about (`Link: rel="ice-server"`).
 * Fixed entries come from `rtc.iceServers`; TURN servers from `turn.urls` get credentials
 * minted for each answer with the TURN REST API scheme coturn implements
 * (`use-auth-secret`): username `<unix expiry>:<id>`, password
 * base64(HMAC-SHA1(secret, username)). Nothing is stored: any node with the secret mints
 * credentials the relay accepts until they expire.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export interface TurnSettings {
  urls: readonly string[];
  secret: string;
  ttlSeconds: number;
}

/** Credentials for `secret`, valid until `nowMs + ttlSeconds`; `id` only labels them in the relay's logs. */
export function turnCredentials(secret: string, ttlSeconds: number, nowMs: number, id: string): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

export class IceServers {
  constructor(
    private readonly fixed: readonly IceServer[],
    private readonly turn: TurnSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** What one client gets: the fixed servers, then each TURN URL with fresh credentials. */
  forClient(): IceServer[] {
    const servers = this.fixed.map((s) => ({ ...s }));
    if (this.turn.urls.length === 0 || !this.turn.secret) return servers;
    const creds = turnCredentials(this.turn.secret, this.turn.ttlSeconds, this.now(), `glint-${randomBytes(6).toString('hex')}`);
    for (const urls of this.turn.urls) servers.push({ urls, ...creds });
    return servers;
  }
}
