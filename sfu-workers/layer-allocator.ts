/**
 * How high a simulcast viewer's link lets it go. Two signals bring it down:
 * - its REMB, at once: with abs-send-time on every packet we send, Chrome's estimator sees
 *   a queue building on the viewer's downlink within a few hundred milliseconds, long before
 *   the bottleneck drops anything, and cuts its estimate to 85 % of what arrives. A cut
 *   (REMB_DROP below the recent peak) to under what the current layer needs moves the viewer
 *   straight to the highest layer that fits the new estimate;
 * - its true loss, judged every second: the sequence numbers it NACKs (receiver reports hide
 *   loss that retransmission repaired), for viewers without REMB and links that drop without
 *   queueing. Down when two seconds in a row lose more than LOSS_DOWN of what was sent, or
 *   one loses more than LOSS_DOWN_NOW.
 * After a step down the bottleneck's queue gets a moment to drain; then it goes
 * up one layer at a time after a clean period and a probe of the link at the next layer's
 * bitrate that stayed clean (the next step after one that a probe proved waits only a
 * second, so a recovered link is climbed quickly); the clean period doubles (up to a minute)
 * each time a step up fails, and up to MAX_PROBE_WAIT_MS each time a probe does. Pure logic: time is given.
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
/** Failed probes cost the viewer nothing visible: they double the wait only up to this, so a recovered link is found within ~8 s. */
const MAX_PROBE_WAIT_MS = 6_000;
/** After a step up that a probe proved, the next layer is tried after this much clean time (a recovered link is climbed quickly). */
const CLEAN_AFTER_STEP_UP_MS = 1_000;
/** Loss this soon after a step up means the step failed. */
const FAILED_STEP_MS = 5_000;
/** After a step down the bottleneck's queue still drains for a moment: its loss is not judged. */
const HOLD_AFTER_DOWN_MS = 3_000;
/**
 * A REMB this far below the highest of the last REMB_PEAK_MS is Chrome's estimator reacting
 * to a queue (it cuts to 85 % of the incoming rate); its slow climbs and the small wobble of
 * a clean link are not.
 */
const REMB_DROP = 0.85;
const REMB_PEAK_MS = 2_000;
/**
 * The estimate must also be this far under the current layer's bitrate: a clean link whose
 * estimator cut once (a burst, a busy CPU) reads about 85 % of layer plus audio, above this.
 */
const REMB_UNDER_LAYER = 0.9;
/**
 * Before a step up the link is probed this long: the consumer sends duplicates of recent
 * packets at the next layer's extra bitrate (the viewer drops duplicates; a link without room
 * drops real packets, which the viewer NACKs). The viewer sees no switch unless it passes.
 */
const PROBE_MS = 2_000;
/**
 * A probe ends when the round trip rises this much above the link's floor (ms, or this share
 * of the floor on long links): queueing. Measured on loopback: 1-5 ms clean, 50-90 ms within
 * a few hundred milliseconds of a 400 kbit/s link overloading.
 */
const PROBE_RTT_RISE_MS = 30;
const PROBE_RTT_RISE_SHARE = 0.5;
const RTT_FLOOR_MS = 10_000;

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
  /** The last step up was proved by a probe: the next one waits only CLEAN_AFTER_STEP_UP_MS. */
  private climbing = false;
  /** Loss is not judged until then (after a step down or a failed probe the bottleneck's queue drains). */
  private heldUntil = -Infinity;
  /** The hold follows a failed probe: the clean period counts through it. */
  private holdKeepsClean = false;
  private probeUntil: number | null = null;
  private remb: number | null = null;
  /** Recent REMBs (value, time), newest at rembNext - 1: the peak a cut is measured against. */
  private readonly rembValues = new Float64Array(16);
  private readonly rembTimes = new Float64Array(16).fill(-Infinity);
  private rembNext = 0;
  private lossySeconds = 0;
  /** Least round-trip time of the current and the previous window (the link without a queue). */
  private floorNow = Infinity;
  private floorPrev = Infinity;
  private floorSince = -Infinity;
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
   * The viewer's REMB. A cut under what the current layer needs steps down at once, to the
   * highest layer whose bitrate fits the estimate (`bitrates`, lowest layer first); during a
   * probe it ends the probe instead (the probe made the queue). Only cuts count: after a step
   * up Chrome's estimate climbs slowly (about 8 % a second) and trails what we send for
   * seconds, which is no reason to go back. Returns true when the cap changed.
   */
  onRemb(bitrate: number, now: number, current: number, bitrates: readonly number[]): boolean {
    this.remb = bitrate;
    let peak = 0;
    for (let i = 0; i < this.rembValues.length; i++) {
      if (now - this.rembTimes[i]! <= REMB_PEAK_MS) peak = Math.max(peak, this.rembValues[i]!);
    }
    this.keepRemb(bitrate, now);
    if (bitrate >= peak * REMB_DROP) return false;
    if (this.probeUntil !== null) {
      this.abortProbe(now);
      this.keepRemb(bitrate, now);
      return false;
    }
    // Cuts while a failed probe's queue drains are the probe's.
    if (now < this.heldUntil && this.holdKeepsClean) return false;
    // Not held after a step down: a further cut then says the new layer overloads the link too
    // (a layer that fits lets the queue drain, and Chrome holds its estimate).
    const layer = Math.min(current, this.cap);
    const need = bitrates[layer] ?? 0;
    if (layer <= 0 || bitrate >= need * REMB_UNDER_LAYER) return false;
    // The estimate must have covered the layer before the cut: Chrome's estimate can sit far
    // below what arrives for a long time (measured: after our probes), and cuts of an
    // estimate that low say nothing new about the link.
    if (peak < need) return false;
    let to = layer - 1;
    while (to > 0 && (bitrates[to] ?? 0) > bitrate) to--;
    this.stepDown(to, now);
    // Further cuts are measured from this one: they say the new layer overloads the link too.
    this.rembTimes.fill(-Infinity);
    this.keepRemb(bitrate, now);
    return true;
  }

  private keepRemb(bitrate: number, now: number): void {
    this.rembValues[this.rembNext] = bitrate;
    this.rembTimes[this.rembNext] = now;
    this.rembNext = (this.rembNext + 1) % this.rembValues.length;
  }

  /**
   * A round-trip time from one of the viewer's receiver reports (Chrome sends one with every
   * RTCP packet: several a second). During a probe, one well above the link's recent floor
   * means the probe is filling the bottleneck's queue: the probe ends there, a second or so
   * before that queue would overflow and cost the viewer real packets (a frozen frame).
   * Chrome's REMB cannot tell us this once it sits under what arrives. Returns true when it
   * ended a probe.
   */
  onRtt(ms: number, now: number): boolean {
    if (ms < 0 || ms > 10_000) return false;
    this.rttMs = this.rttMs === null ? ms : this.rttMs * 0.8 + ms * 0.2;
    // The floor: the least of this and the previous RTT_FLOOR_MS window.
    if (now - this.floorSince >= RTT_FLOOR_MS) {
      this.floorPrev = this.floorNow;
      this.floorNow = Infinity;
      this.floorSince = now;
    }
    const floor = Math.min(this.floorPrev, this.floorNow);
    this.floorNow = Math.min(this.floorNow, ms);
    if (this.probeUntil === null || floor === Infinity) return false;
    if (ms <= floor + Math.max(PROBE_RTT_RISE_MS, floor * PROBE_RTT_RISE_SHARE)) return false;
    this.abortProbe(now);
    return true;
  }

  /** The probe already lost packets (the consumer watches closer than once a second): stop it, as a failed one. */
  abortProbe(now: number): void {
    if (this.probeUntil === null) return;
    this.probeUntil = null;
    this.climbing = false;
    // Measured: Chrome's estimate after a probe overloaded the link is 85 % of the media
    // alone (our duplicates do not count), under a layer that flows fine, and its cut comes
    // in the same RTCP packet as the round trip that ended the probe, or just after. Cuts
    // from here on are measured from the estimate after the probe.
    this.rembTimes.fill(-Infinity);
    this.cleanFor = Math.max(this.cleanFor, Math.min(MAX_PROBE_WAIT_MS, this.cleanFor * 2));
    this.cleanSince = now;
    // Its queue drains as after a step down (measured: a keyframe of the current layer in it
    // too can make that 600 ms), but the loss was ours, not the link's: the clean period
    // already runs.
    this.heldUntil = now + HOLD_AFTER_DOWN_MS;
    this.holdKeepsClean = true;
  }

  private stepDown(to: number, now: number): void {
    this.cap = to;
    this.climbing = false;
    this.heldUntil = now + HOLD_AFTER_DOWN_MS;
    this.holdKeepsClean = false;
    if (now - this.steppedUpAt < FAILED_STEP_MS) this.cleanFor = Math.min(MAX_CLEAN_FOR_MS, this.cleanFor * 2);
    this.lossySeconds = 0;
    this.cleanSince = now;
  }

  /** Once a second: returns the new cap. */
  assess(a: Assessment, now: number): number {
    this.loss = a.sent > 0 ? Math.min(1, a.nacked / a.sent) : 0;
    const judged = a.sent >= 20;
    this.lossySeconds = judged && this.loss > LOSS_DOWN ? this.lossySeconds + 1 : 0;
    if (now < this.heldUntil) {
      if (!this.holdKeepsClean) this.cleanSince = now;
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
        this.climbing = true;
        this.steppedUpAt = now;
        this.cleanSince = now;
      }
      return this.cap;
    }
    if (this.lossySeconds >= 2 || (judged && this.loss > LOSS_DOWN_NOW)) {
      if (a.current > 0 && this.cap >= a.current) this.stepDown(a.current - 1, now);
      this.lossySeconds = 0;
      this.cleanSince = now;
      return this.cap;
    }
    if (this.loss >= LOSS_CLEAN) {
      this.cleanSince = now;
      return this.cap;
    }
    if (this.cap < this.top && now - this.cleanSince >= (this.climbing ? CLEAN_AFTER_STEP_UP_MS : this.cleanFor)) {
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
