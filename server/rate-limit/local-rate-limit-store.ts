/**
 * In-process counters for one node. Bounded: beyond `maxKeys` the oldest keys are dropped
 * (an attacker spraying keys evicts old counters instead of growing memory without end).
 */
import type { RateLimitStore } from './rate-limit-store.ts';

interface Entry {
  count: number;
  expiresAt: number;
}

export class LocalRateLimitStore implements RateLimitStore {
  readonly kind = 'local' as const;
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxKeys = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const t = this.now();
    let e = this.live(key, t);
    if (!e) e = this.set(key, { count: 0, expiresAt: t + windowMs });
    e.count++;
    return { count: e.count, resetInMs: e.expiresAt - t };
  }

  async undo(key: string): Promise<void> {
    const e = this.live(key, this.now());
    if (e && e.count > 0) e.count--;
  }

  async reset(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async mark(key: string, ms: number): Promise<void> {
    const t = this.now();
    const e = this.live(key, t);
    if (e && e.expiresAt >= t + ms) return;
    this.set(key, { count: e?.count ?? 1, expiresAt: t + ms });
  }

  async ttl(key: string): Promise<number> {
    const t = this.now();
    const e = this.live(key, t);
    return e ? e.expiresAt - t : 0;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private live(key: string, t: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= t) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private set(key: string, e: Entry): Entry {
    this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, e);
    return e;
  }
}
