import { describe, expect, it } from 'vitest';
import { cleanText, DuplicateFilter, findBannedWord, TokenBucket, tooLong } from './rules.ts';

describe('chat rules', () => {
  it('allows a burst, then the sustained rate, and says how long to wait', () => {
    const b = new TokenBucket(3, 2, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(500);
    expect(b.take(499)).toBe(2);
    expect(b.take(600)).toBe(0);
  });

  it('cleans control and direction-override characters and collapses spaces', () => {
    expect(cleanText('  hi\u0000 \u202Ethere\n\n you ')).toBe('hi there you');
    expect(tooLong('x'.repeat(500))).toBe(false);
    expect(tooLong('😀'.repeat(501))).toBe(true);
  });

  it('finds banned words as whole words in any case, and phrases anywhere', () => {
    expect(findBannedWord('This is SPAM!', ['spam'])).toBe('spam');
    expect(findBannedWord('spammer here', ['spam'])).toBeNull();
    expect(findBannedWord('buy cheap coins now', ['cheap coins'])).toBe('cheap coins');
    expect(findBannedWord('anything', [])).toBeNull();
  });

  it('flags the same text from the same user within the window', () => {
    const d = new DuplicateFilter(30_000);
    expect(d.isDuplicate('Hello there', 0)).toBe(false);
    expect(d.isDuplicate('hello  THERE', 1000)).toBe(true);
    expect(d.isDuplicate('something else', 2000)).toBe(false);
    expect(d.isDuplicate('something else', 40_000)).toBe(false);
  });
});
