/**
 * Sessions that ended moments ago, remembered so a DELETE that arrives after the media plane
 * already closed the session (a client that closes its PeerConnection first, as the
 * widely used whip-whep clients do) is answered 200 — it is gone, as asked — rather than
 * 404. Bounded in time and count.
 */
import type { PeerId, StreamId } from '../../protocol/ids.ts';

export interface EndedSession {
  kind: 'whip' | 'whep';
  streamId: StreamId;
  /** WHIP: the hash of the stream key that opened it (its DELETE must still present the key). */
  keyHash?: string;
  at: number;
}

export class EndedSessions {
  private readonly ended = new Map<PeerId, EndedSession>();

  constructor(
    private readonly keepMs = 120_000,
    private readonly max = 20_000,
  ) {}

  add(id: PeerId, e: Omit<EndedSession, 'at'>, now = Date.now()): void {
    this.ended.delete(id);
    this.ended.set(id, { ...e, at: now });
    // Oldest first: drop what is past its time, and anything beyond the bound.
    for (const [k, v] of this.ended) {
      if (this.ended.size <= this.max && now - v.at < this.keepMs) break;
      this.ended.delete(k);
    }
  }

  get(id: PeerId, now = Date.now()): EndedSession | undefined {
    const e = this.ended.get(id);
    if (e && now - e.at >= this.keepMs) {
      this.ended.delete(id);
      return undefined;
    }
    return e;
  }
}
