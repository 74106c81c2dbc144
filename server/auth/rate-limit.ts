/**
 * Counts failures per key in a fixed window (login attempts per account and per address).
 * In-process: each node limits on its own. Bounded: the oldest keys are dropped first.
 */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  maxKeys?: number;
  now?: () => number;
}

export class FailureLimiter {
  private readonly entries = new Map<string, { count: number; resetAt: number }>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly options: FailureLimiterOptions) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until the key may try again, or 0 when it may try now. */
  blockedFor(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    const t = this.now();
    if (t >= e.resetAt) {
      this.entries.delete(key);
      return 0;
    }
    return e.count >= this.options.maxFailures ? e.resetAt - t : 0;
  }

  recordFailure(key: string): void {
    const t = this.now();
    const e = this.entries.get(key);
    if (e && t < e.resetAt) {
      e.count++;
      return;
    }
    if (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { count: 1, resetAt: t + this.options.windowMs });
  }

  reset(key: string): void {
    this.entries.delete(key);
  }
}
