import { pino } from 'pino';
import { expect, it } from 'vitest';
import { createRateLimitStore } from '../../server/rate-limit/rate-limit-store.ts';
import { RedisRateLimitStore } from '../../server/rate-limit/redis-rate-limit-store.ts';
import { REDIS_URL, uniquePrefix } from '../helpers/services.ts';
import { describeRateLimitStore } from './rate-limit-store.case.ts';

const log = pino({ level: 'silent' });

describeRateLimitStore('RedisRateLimitStore', () => RedisRateLimitStore.connect({ url: REDIS_URL, prefix: uniquePrefix('rl'), log }));

it('two nodes sharing Redis count into one limit', async () => {
  const prefix = uniquePrefix('rl-shared');
  const [a, b] = await Promise.all([createRateLimitStore({ url: REDIS_URL, prefix, log }), createRateLimitStore({ url: REDIS_URL, prefix, log })]);
  expect([a.kind, b.kind]).toEqual(['redis', 'redis']);
  const counts = await Promise.all([a.hit('k', 5_000), b.hit('k', 5_000), a.hit('k', 5_000)]);
  expect(counts.map((c) => c.count).sort()).toEqual([1, 2, 3]);
  await Promise.all([a.close(), b.close()]);
  expect((await createRateLimitStore({ url: '', prefix, log })).kind).toBe('local');
});

it('fails to connect with a clear message when Redis is unreachable', async () => {
  await expect(RedisRateLimitStore.connect({ url: 'redis://127.0.0.1:1', prefix: 'x', log })).rejects.toThrow(/cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
});
