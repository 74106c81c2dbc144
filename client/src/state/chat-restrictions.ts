import { batch, computed, signal } from '@preact/signals';
import type { ChatErrorCode } from '../../../protocol/signalling.ts';
import type { Timers } from '../lib/timers.ts';

export interface Restriction {
  code: ChatErrorCode;
  /** When it ends (ms since epoch); null until something lifts it (a ban, followers-only...). */
  until: number | null;
}

/** Strength of a restriction: a weaker one never hides a stronger one still in force. */
const RANK: Partial<Record<ChatErrorCode, number>> = {
  BANNED: 5,
  TIMED_OUT: 4,
  TOKEN_EXPIRED: 3,
  TOKEN_INVALID: 3,
  FOLLOWERS_ONLY: 2,
  SUBSCRIBERS_ONLY: 2,
  SLOW_MODE: 1,
  RATE_LIMITED: 1,
};
const TIMED = new Set<ChatErrorCode>(['RATE_LIMITED', 'SLOW_MODE', 'TIMED_OUT']);

/**
 * What keeps a chatter from writing (or reacting) right now, with a clock that ticks once
 * a second while a countdown is running and lifts timed restrictions when they end.
 */
export function createRestrictions(timers: Timers) {
  const restriction = signal<Restriction | null>(null);
  const reactionsUntil = signal(0);
  /** The time countdowns are shown against. */
  const now = signal(timers.now());
  /** Reactions are off while banned or timed out, or after too many of them. */
  const reactionsBlocked = computed(() => reactionsUntil.value > now.value || (RANK[restriction.value?.code ?? 'UNAUTHENTICATED'] ?? 0) >= 4);
  let tickTimer: unknown = null;
  let closed = false;

  /** Applies a refusal that blocks the input; other codes are ignored. */
  function restrict(code: ChatErrorCode, retryAfterMs: number | undefined): void {
    const rank = RANK[code];
    if (rank === undefined) return;
    const t = timers.now();
    const current = restriction.peek();
    const currentLive = current && (current.until === null || current.until > t);
    if (currentLive && (RANK[current.code] ?? 0) > rank) return;
    const until = TIMED.has(code) ? t + Math.max(1_000, retryAfterMs ?? 1_000) : null;
    // Several refusals of one burst: keep the longest wait.
    if (currentLive && current.code === code && current.until !== null && until !== null && current.until > until) return;
    batch(() => {
      restriction.value = { code, until };
      now.value = t;
    });
    schedule();
  }

  /** Lifts the restriction if it is one of `codes` (an unban, a mode turned off, a new login). */
  function lift(...codes: ChatErrorCode[]): void {
    const r = restriction.peek();
    if (r && codes.includes(r.code)) restriction.value = null;
  }

  function blockReactions(ms: number): void {
    batch(() => {
      reactionsUntil.value = timers.now() + ms;
      now.value = timers.now();
    });
    schedule();
  }

  function schedule(): void {
    if (tickTimer || closed) return;
    const t = timers.now();
    const soonest = Math.min(restriction.peek()?.until ?? Infinity, reactionsUntil.peek() > t ? reactionsUntil.peek() : Infinity);
    if (soonest === Infinity) return;
    tickTimer = timers.setTimeout(
      () => {
        tickTimer = null;
        const at = timers.now();
        batch(() => {
          now.value = at;
          const r = restriction.peek();
          if (r?.until != null && r.until <= at) restriction.value = null;
        });
        schedule();
      },
      Math.max(20, Math.min(1_000, soonest - t)),
    );
  }

  function close(): void {
    closed = true;
    if (tickTimer) timers.clearTimeout(tickTimer);
    tickTimer = null;
  }

  return { restriction, now, reactionsBlocked, restrict, lift, blockReactions, close };
}
