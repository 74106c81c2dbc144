import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { NodeId } from '../../protocol/ids.ts';
import { RedisDirectory } from '../../server/cluster/redis-directory.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { REDIS_URL, uniquePrefix } from '../helpers/services.ts';
import { describeDirectory } from './directory.case.ts';

const log = pino({ level: 'silent' });

describeDirectory('RedisDirectory', async (n) => {
  const prefix = uniquePrefix('dir');
  return Promise.all(Array.from({ length: n }, () => RedisDirectory.connect({ url: REDIS_URL, prefix, log })));
});

it('fails every call at once while Redis is away, and works again when it is back', async () => {
  const redis = await startPrivateRedis();
  const dir = await RedisDirectory.connect({ url: redis.url, prefix: uniquePrefix('dir'), log });
  try {
    await dir.putNode({ id: 'n1' as NodeId, url: 'http://n1', mediaAddress: '', peers: 0, capacity: 1, streams: 0, secretId: 'x', startedAt: 0 }, 10_000);
    await redis.stop();
    const started = Date.now();
    await expect(dir.nodes()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
    await redis.start();
    // Redis kept nothing (no persistence): the next heartbeat writes the entry again.
    for (let i = 0; i < 50; i++) {
      const ok = await dir.putNode({ id: 'n1' as NodeId, url: 'http://n1', mediaAddress: '', peers: 0, capacity: 1, streams: 0, secretId: 'x', startedAt: 0 }, 10_000).then(() => true, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await dir.nodes()).map((n) => n.id)).toEqual(['n1']);
  } finally {
    await dir.close();
    await redis.stop();
  }
});
