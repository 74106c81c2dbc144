import { pino } from 'pino';
import { expect, it } from 'vitest';
import { RedisBus } from '../../server/bus/redis-bus.ts';
import { createBus } from '../../server/bus/index.ts';
import { REDIS_URL, uniquePrefix } from '../helpers/services.ts';
import { describeBus } from './bus.case.ts';

const log = pino({ level: 'silent' });

describeBus('RedisBus', async (n) => {
  const prefix = uniquePrefix('bus');
  return Promise.all(Array.from({ length: n }, () => RedisBus.connect({ url: REDIS_URL, prefix, log })));
});

it('createBus picks Redis when a URL is configured, the local bus otherwise', async () => {
  const redis = await createBus({ url: REDIS_URL, prefix: uniquePrefix('factory'), log });
  const local = await createBus({ url: '', prefix: 'x', log });
  expect([redis.kind, local.kind]).toEqual(['redis', 'local']);
  await Promise.all([redis.close(), local.close()]);
});

it('fails to connect with a clear message when Redis is unreachable', async () => {
  await expect(RedisBus.connect({ url: 'redis://127.0.0.1:1', prefix: 'x', log })).rejects.toThrow(/cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
});
