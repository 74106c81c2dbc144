/**
 * Counters with expiry for rate limits that must hold across a cluster (login attempts,
 * registrations): in Redis when it is configured, so every node counts into one limit,
 * else in this process. Contract (test/rate-limit/rate-limit-store.case.ts, run against
 * each implementation):
 * - `hit` is atomic: N concurrent hits of one key return the counts 1..N;
 * - a key's window starts with its first hit and is not extended by later ones;
 * - `mark` sets a key that only lasts (a block, a remembered address); a shorter mark
 *   never cuts a longer one short;
 * - `ttl` says how long a key (hit window or mark) has left, 0 when it has none.
 */
import type { Logger } from '../logger.ts';
import { LocalRateLimitStore } from './local-rate-limit-store.ts';
import { RedisRateLimitStore } from './redis-rate-limit-store.ts';

export interface RateLimitStore {
  readonly kind: 'local' | 'redis';
  /** Counts one more for `key`; the window of `windowMs` starts with the first hit. */
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  /** Takes one hit back (an attempt that turned out fine). */
  undo(key: string): Promise<void>;
  reset(key: string): Promise<void>;
  /** Sets `key` for `ms`, unless it is already set for longer. */
  mark(key: string, ms: number): Promise<void>;
  /** Milliseconds `key` has left; 0 when it is not set. */
  ttl(key: string): Promise<number>;
  close(): Promise<void>;
}

/** Redis when a URL is configured, else in-process. Nothing else branches on it. */
export async function createRateLimitStore(options: { url: string; prefix: string; log: Logger }): Promise<RateLimitStore> {
  return options.url ? RedisRateLimitStore.connect(options) : new LocalRateLimitStore();
}
