/**
 * When to try a media connection again, and after how long. Pure functions, so the
 * publisher and the player share one policy and tests can check it without timers.
 */
import { ApiError } from './api-error.ts';

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 10_000;
/** A `Retry-After` larger than this is treated as this (a typo on the server must not park a page for hours). */
const RETRY_AFTER_MAX_MS = 60_000;

/** 1 s, 2 s, 4 s, 8 s, then 10 s for every later attempt (attempt counts from 0). */
export function backoffMs(attempt: number, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): number {
  if (!Number.isFinite(attempt) || attempt < 0) return baseMs;
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** The server's `Retry-After` when it sent one, else the backoff for this attempt. */
export function retryDelayMs(err: unknown, attempt: number): number {
  if (err instanceof ApiError && err.retryAfterSeconds !== undefined) {
    return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, err.retryAfterSeconds * 1000));
  }
  return backoffMs(attempt);
}

/** Codes that say "not now" rather than "never": the network, a busy or restarting server. */
const TRANSIENT = new Set<string>([
  'NETWORK_ERROR',
  'MEDIA_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'RATE_LIMITED',
  'INTERNAL',
]);

export interface RetryContext {
  /** The publisher was live in this run: a 409 is most likely our own session that has not timed out yet. */
  wasLive?: boolean;
}

/**
 * True when a failed WHIP/WHEP attempt deserves another one. Refusals that a new attempt
 * cannot change (wrong stream key, unsupported SDP, unknown stream) stop the loop.
 */
export function isRetryable(err: unknown, ctx: RetryContext = {}): boolean {
  if (!(err instanceof ApiError)) return false;
  if (TRANSIENT.has(err.code)) return true;
  if (err.code === 'STREAM_NOT_LIVE') return true;
  if (err.code === 'STREAM_ALREADY_PUBLISHING') return ctx.wasLive === true;
  if (err.code === 'BAD_RESPONSE') return err.status === 0 || err.status >= 500;
  return err.status >= 500;
}
