/**
 * Chat rules that need no I/O: rate limiting (token bucket: a burst, then a sustained
 * rate), text normalisation, banned words and the duplicate-spam filter.
 */
import { MAX_MESSAGE_LENGTH } from '../../protocol/signalling.ts';

export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.updated = now;
  }

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.perSecond);
    this.updated = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

/** Collapses whitespace and strips control characters; the text is stored and sent as plain text. */
export function cleanText(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, '').replace(/\s+/g, ' ').trim();
}

export function tooLong(text: string): boolean {
  return [...text].length > MAX_MESSAGE_LENGTH;
}

/** The first banned word the text contains (whole words, any case), or null. */
export function findBannedWord(text: string, banned: readonly string[]): string | null {
  if (banned.length === 0) return null;
  const words = new Set(text.toLowerCase().normalize('NFKC').split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  const flat = text.toLowerCase().normalize('NFKC');
  for (const b of banned) {
    const w = b.toLowerCase().normalize('NFKC');
    if (/^[\p{L}\p{N}]+$/u.test(w) ? words.has(w) : flat.includes(w)) return b;
  }
  return null;
}

/** Same user, same text (ignoring case and spacing) within the window: spam. */
export class DuplicateFilter {
  private last = '';
  private lastAt = -Infinity;

  constructor(private readonly windowMs: number) {}

  isDuplicate(text: string, now = Date.now()): boolean {
    const key = text.toLowerCase().replace(/\s+/g, '');
    if (key === this.last && now - this.lastAt < this.windowMs) return true;
    this.last = key;
    this.lastAt = now;
    return false;
  }
}
