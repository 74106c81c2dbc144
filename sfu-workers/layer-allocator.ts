/**
 * How high a simulcast viewer's link lets it go, judged every second from its true loss: the
 * sequence numbers it NACKs (receiver reports hide loss that retransmission repaired). Its
 * REMB estimate and the round-trip time from its receiver reports are kept for display.
 * Down when two seconds in a row lose more than LOSS_DOWN of what was sent, or one loses more
 * than LOSS_DOWN_NOW (then the bottleneck's queue gets a moment to drain);
 * up one layer at a time after a clean period and a probe of the link at the next layer's
 * bitrate that stayed clean; the clean period doubles (up to a minute) each time a probe or
 * a step up fails. Pure logic: time is given.
 */

/** Two seconds in a row losing more than this share of their packets step down (one keyframe burst overflowing a queue does not)... */
const LOSS_DOWN = 0.05;
/** ...one second losing more than this does at once. */
const LOSS_DOWN_NOW = 0.12;
/** A second losing less than this counts as clean. */
const LOSS_CLEAN = 0.02;
/** Clean seconds before stepping up, at first; doubled after each failed step, up to MAX. */
const CLEAN_FOR_MS = 6_000;
const MAX_CLEAN_FOR_MS = 60_000;
/** Failed probes cost the viewer nothing visible: they double the wait only up to this, so a recovered link is found within ~10 s. */
const MAX_PROBE_WAIT_MS = 8_000;
/** Loss this soon after a step up means the step failed. */
const FAILED_STEP_MS = 5_000;
/** After a step down the bottleneck's queue still drains for a moment: its loss is not judged. */
const HOLD_AFTER_DOWN_MS = 3_000;
/**
 * Before a step up the link is probed this long: the consumer sends duplicates of recent
 * packets at the next layer's extra bitrate (the viewer drops duplicates; a link without room
 * drops real packets, which the viewer NACKs). The viewer sees no switch unless it passes.
 */
const PROBE_MS = 2_000;

export interface Assessment {
  /** Packets sent to the viewer since the last assessment. */
  sent: number;
  /** Sequence numbers it NACKed since then. */
  nacked: number;
  /** Bitrate (bit/s) of the layer it gets now, and that layer's index. */
  currentBitrate: number;
  current: number;
  /** Bitrate of the layer above the current one (0 at the top). */
  nextBitrate: number;
  /** The viewer would take a higher layer if the link allowed it (its player is large enough). */
  wantsHigher: boolean;
}

export class LayerAllocator {
  /** Highest layer the link allows. */
  cap: number;
  private cleanSince: number;
  private cleanFor = CLEAN_FOR_MS;
  private steppedUpAt = -Infinity;
  /** Loss is not judged until then (after a step down or a failed probe the bottleneck's queue drains). */
  private heldUntil = -Infinity;
  private probeUntil: number | null = null;
  private remb: number | null = null;
  private lossySeconds = 0;
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

  /** A probe is on: the consumer pads the link up to the next layer's bitrate. */
  get probing(): boolean {
    return this.probeUntil !== null;
  }

  get estimate(): number | null {
    return this.remb;
  }

  /**
   * Shown, not acted on: measured here, Chrome's REMB (no abs-send-time) trails what we send
   * by seconds after a step up, and our probes' duplicates (old timestamps, arriving late)
   * read to it as congestion, so it would step viewers down wrongly. Loss decides.
   */
  onRemb(bitrate: number, _now: number): void {
    this.remb = bitrate;
  }

  onRtt(ms: number): void {
    if (ms < 0 || ms > 10_000) return;
    this.rttMs = this.rttMs === null ? ms : this.rttMs * 0.8 + ms * 0.2;
  }

  /** The probe already lost packets (the consumer watches closer than once a second): stop it, as a failed one. */
  abortProbe(now: number): void {
    if (this.probeUntil === null) return;
    this.probeUntil = null;
    this.cleanFor = Math.max(this.cleanFor, Math.min(MAX_PROBE_WAIT_MS, this.cleanFor * 2));
    this.cleanSince = now;
    this.heldUntil = now + HOLD_AFTER_DOWN_MS;
  }

  /** Once a second: returns the new cap. */
  assess(a: Assessment, now: number): number {
    this.loss = a.sent > 0 ? Math.min(1, a.nacked / a.sent) : 0;
    const judged = a.sent >= 20;
    this.lossySeconds = judged && this.loss > LOSS_DOWN ? this.lossySeconds + 1 : 0;
    if (now < this.heldUntil) {
      this.cleanSince = now;
      this.lossySeconds = 0;
      return this.cap;
    }
    if (this.probeUntil !== null) {
      if (this.loss >= LOSS_CLEAN) {
        // No room for the next layer: nothing visible happened; wait longer before trying again.
        this.abortProbe(now);
      } else if (now >= this.probeUntil) {
        this.probeUntil = null;
        this.cap++;
        this.steppedUpAt = now;
        this.cleanSince = now;
      }
      return this.cap;
    }
    if (this.lossySeconds >= 2 || (judged && this.loss > LOSS_DOWN_NOW)) {
      if (a.current > 0 && this.cap >= a.current) {
        this.cap = a.current - 1;
        this.heldUntil = now + HOLD_AFTER_DOWN_MS;
        if (now - this.steppedUpAt < FAILED_STEP_MS) this.cleanFor = Math.min(MAX_CLEAN_FOR_MS, this.cleanFor * 2);
      }
      this.lossySeconds = 0;
      this.cleanSince = now;
      return this.cap;
    }
    if (this.loss >= LOSS_CLEAN) {
      this.cleanSince = now;
      return this.cap;
    }
    if (this.cap < this.top && now - this.cleanSince >= this.cleanFor) {
      // Only worth probing when the viewer would take the next layer (the caller says so).
      if (a.wantsHigher) this.probeUntil = now + PROBE_MS;
      else {
        this.cap++;
        this.steppedUpAt = now;
        this.cleanSince = now;
      }
    }
    return this.cap;
  }
}
