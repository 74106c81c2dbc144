import { expect, it } from 'vitest';
import { LocalRateLimitStore } from '../../server/rate-limit/local-rate-limit-store.ts';
import { describeRateLimitStore } from './rate-limit-store.case.ts';

describeRateLimitStore('LocalRateLimitStore', async () => new LocalRateLimitStore());

it('forgets the oldest keys first beyond its bound', async () => {
  const store = new LocalRateLimitStore(2);
  await store.hit('x', 10_000);
  await store.hit('y', 10_000);
  await store.hit('z', 10_000);
  expect(await store.ttl('x')).toBe(0);
  expect(await store.ttl('z')).toBeGreaterThan(0);
});
