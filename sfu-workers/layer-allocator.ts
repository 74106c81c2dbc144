/**
 * How high a simulcast viewer's link lets it go, judged every second from what it tells us:
 * true loss (the sequence numbers it NACKs, which receiver reports hide once retransmission
 * repaired them), its REMB estimate, and the round-trip time from its receiver reports.
 * Down at once when a second loses more than LOSS_DOWN of what was sent, or when REMB stays
 * below what the current layer needs; up one layer at a time after a clean period, which
 * doubles (up to a minute) each time a step up fails soon after. Pure logic: time is given.
 */

/** A second losing more than this share of its packets steps down. */
const LOSS_DOWN = 0.08;
/** A second losing less than this counts as clean. */
const LOSS_CLEAN = 0.02;
/** Clean seconds before stepping up, at first; doubled after each failed step, up to MAX. */
const CLEAN_FOR_MS = 6_000;
const MAX_CLEAN_FOR_MS = 60_000;
/** Loss this soon after a step up means the step failed. */
const FAILED_STEP_MS = 5_000;
/** REMB below this share of the current layer's bitrate, for two assessments, steps down. */
const REMB_DOWN = 0.8;
const REMB_FRESH_MS = 3_000;

export interface Assessment {
  /** Packets sent to the viewer since the last assessment. */
  sent: number;
  /** Sequence numbers it NACKed since then. */
  nacked: number;
  /** Bitrate (bit/s) of the layer it gets now, and that layer's index. */
  currentBitrate: number;
  current: number;
}

export class LayerAllocator {
  /** Highest layer the link allows. */
  cap: number;
  private cleanSince: number;
  private cleanFor = CLEAN_FOR_MS;
  private steppedUpAt = -Infinity;
  private remb: number | null = null;
  private rembAt = -Infinity;
  private rembLow = 0;
  /** Smoothed round-trip time (ms), null until a receiver report answered one of our sender reports. */
  rttMs: number | null = null;
  /** Loss of the last assessed second (0..1). */
  loss = 0;

  constructor(
    private readonly top: number,
    now: number,
  ) {
    this.cap = top;
    this.cleanSince = now;
  }

  get estimate(): number | null {
    return this.remb;
  }

  onRemb(bitrate: number, now: number): void {
    this.remb = bitrate;
    this.rembAt = now;
  }

  onRtt(ms: number): void {
    if (ms < 0 || ms > 10_000) return;
    this.rttMs = this.rttMs === null ? ms : this.rttMs * 0.8 + ms * 0.2;
  }

  /** Once a second: returns the new cap. */
  assess(a: Assessment, now: number): number {
    this.loss = a.sent > 0 ? Math.min(1, a.nacked / a.sent) : 0;
    const rembFresh = now - this.rembAt < REMB_FRESH_MS && this.remb !== null;
    this.rembLow = rembFresh && a.currentBitrate > 0 && this.remb! < a.currentBitrate * REMB_DOWN ? this.rembLow + 1 : 0;
    if ((this.loss > LOSS_DOWN && a.sent >= 20) || this.rembLow >= 2) {
      if (a.current > 0 && this.cap >= a.current) {
        this.cap = a.current - 1;
        if (now - this.steppedUpAt < FAILED_STEP_MS) this.cleanFor = Math.min(MAX_CLEAN_FOR_MS, this.cleanFor * 2);
      }
      this.rembLow = 0;
      this.cleanSince = now;
      return this.cap;
    }
    if (this.loss >= LOSS_CLEAN) {
      this.cleanSince = now;
      return this.cap;
    }
    if (this.cap < this.top && now - this.cleanSince >= this.cleanFor) {
      this.cap++;
      this.steppedUpAt = now;
      this.cleanSince = now;
    }
    return this.cap;
  }
}
