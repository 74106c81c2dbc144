/**
 * Reception statistics of one incoming RTP stream (RFC 3550 A.1, A.3, A.8), for the receiver
 * reports we send publishers: loss, extended highest sequence number, jitter, LSR/DLSR.
 */
import type { ReportBlock } from './rtcp.ts';

export class ReceiveStats {
  private base = -1;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = 0;
  private jitter = 0;
  private lastSrNtpMiddle = 0;
  private lastSrAt = 0;

  constructor(
    readonly ssrc: number,
    readonly kind: 'audio' | 'video',
    private readonly clockRate: number,
  ) {}

  /** Per packet: sequence number, RTP timestamp, arrival time in ms. */
  onPacket(seq: number, ts: number, arrivalMs: number): void {
    if (this.base < 0) {
      this.base = seq;
      this.maxSeq = seq;
    } else {
      const delta = (seq - this.maxSeq) & 0xffff;
      if (delta > 0 && delta < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      }
    }
    this.received++;
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - ts;
    if (this.received > 1) {
      let d = transit - this.transit;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
  }

  onSenderReport(ntpHigh: number, ntpLow: number, atMs: number): void {
    this.lastSrNtpMiddle = (((ntpHigh & 0xffff) << 16) | (ntpLow >>> 16)) >>> 0;
    this.lastSrAt = atMs;
  }

  /** A report block for now; also resets the "since last report" counters. */
  report(nowMs: number): ReportBlock | null {
    if (this.base < 0) return null;
    const extendedMax = this.cycles + this.maxSeq;
    const expected = extendedMax - this.base + 1;
    const lost = expected - this.received;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    return {
      ssrc: this.ssrc,
      fractionLost: fraction,
      cumulativeLost: lost,
      extendedHighestSeq: extendedMax >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSr: this.lastSrNtpMiddle,
      delaySinceLastSr: this.lastSrAt > 0 ? Math.floor(((nowMs - this.lastSrAt) / 1000) * 65536) >>> 0 : 0,
    };
  }

  get packetsReceived(): number {
    return this.received;
  }
}
