import { expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.ts';

it('blocks a key after max failures until the window ends, and forgets the oldest keys first', () => {
  let now = 1_000;
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 100, maxKeys: 2, now: () => now });
  expect(l.blockedFor('a')).toBe(0);
  l.recordFailure('a');
  expect(l.blockedFor('a')).toBe(0);
  l.recordFailure('a');
  expect(l.blockedFor('a')).toBe(100);
  now += 60;
  expect(l.blockedFor('a')).toBe(40);
  now += 40;
  expect(l.blockedFor('a')).toBe(0);
  l.recordFailure('a');
  l.recordFailure('a');
  l.reset('a');
  expect(l.blockedFor('a')).toBe(0);
  l.recordFailure('x');
  l.recordFailure('x');
  l.recordFailure('y');
  l.recordFailure('z'); // evicts x, the oldest
  expect(l.blockedFor('x')).toBe(0);
});
