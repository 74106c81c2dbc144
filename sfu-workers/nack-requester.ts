/**
 * Notices holes in one incoming RTP stream and asks its sender for them again (generic
 * NACK), a few times each, spaced by `retryMs`. Used where we receive from another Glint
 * router over a network (a pipe between nodes): the far router answers from its packet
 * cache, so a viewer behind the pipe loses no more than one next to the origin would.
 * Per-packet code: no allocation unless something is missing.
 */
export interface NackRequesterOptions {
  /** Sends one NACK for these sequence numbers (in order). */
  send: (seqs: number[]) => void;
  /** Asks again for a packet still missing after this long. */
  retryMs?: number;
  /** Times a packet is asked for before it is given up. */
  maxTries?: number;
  /** A forward jump larger than this is a new source or a restart, not loss. */
  maxGap?: number;
  now?: () => number;
}

interface Missing {
  tries: number;
  askedAt: number;
}

export class NackRequester {
  private highest = -1;
  private readonly missing = new Map<number, Missing>();
  private readonly retryMs: number;
  private readonly maxTries: number;
  private readonly maxGap: number;
  private readonly now: () => number;
  /** Sequence numbers asked for, and packets that came back after being asked for. */
  requested = 0;
  recovered = 0;

  constructor(private readonly o: NackRequesterOptions) {
    this.retryMs = o.retryMs ?? 30;
    this.maxTries = o.maxTries ?? 3;
    this.maxGap = o.maxGap ?? 256;
    this.now = o.now ?? (() => performance.now());
  }

  /** Per packet received. */
  onPacket(seq: number): void {
    if (this.highest < 0) {
      this.highest = seq;
      return;
    }
    const d = (seq - this.highest) & 0xffff;
    if (d === 0) return;
    if (d < 0x8000) {
      if (d > this.maxGap) {
        this.missing.clear();
      } else {
        for (let s = (this.highest + 1) & 0xffff; s !== seq; s = (s + 1) & 0xffff) this.missing.set(s, { tries: 0, askedAt: -Infinity });
      }
      this.highest = seq;
    } else if (this.missing.delete(seq)) {
      this.recovered++;
    }
    if (this.missing.size > 0) this.flush();
  }

  /** Asks for what is missing and due (also called from a timer when packets stop). */
  flush(): void {
    if (this.missing.size === 0) return;
    const now = this.now();
    const due: number[] = [];
    for (const [seq, m] of this.missing) {
      if (now - m.askedAt < this.retryMs) continue;
      if (m.tries >= this.maxTries) {
        this.missing.delete(seq);
        continue;
      }
      m.tries++;
      m.askedAt = now;
      due.push(seq);
    }
    if (due.length === 0) return;
    this.requested += due.length;
    this.o.send(due);
  }

  /** The source changed (its SSRC): what was missing from the old one is not coming. */
  reset(): void {
    this.highest = -1;
    this.missing.clear();
  }
}
