/**
 * Counters in Redis, shared by every node: `<prefix>:rl:<key>`. Each operation is one
 * script, so concurrent hits from several nodes count exactly. No offline queue: while
 * Redis is unreachable the calls fail at once (the caller answers 503) instead of queueing.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { RateLimitStore } from './rate-limit-store.ts';

const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}`;
const UNDO = `if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;
const MARK = `if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  local c = redis.call('GET', KEYS[1]) or '1'
  redis.call('SET', KEYS[1], c, 'PX', ARGV[1])
end
return 1`;

export interface RedisRateLimitStoreOptions {
  url: string;
  prefix: string;
  log: Logger;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  private constructor(private readonly o: RedisRateLimitStoreOptions) {
    this.redis = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, enableOfflineQueue: false, connectionName: 'glint-rate-limits' });
    this.redis.on('error', (err) => o.log.warn({ err: err.message }, 'redis rate-limit connection error'));
  }

  static async connect(o: RedisRateLimitStoreOptions): Promise<RedisRateLimitStore> {
    const store = new RedisRateLimitStore(o);
    try {
      await store.redis.connect();
    } catch (err) {
      store.redis.disconnect();
      throw new Error(`cannot connect to Redis at ${o.url.replace(/\/\/[^@/]*@/, '//***@')}: ${(err as Error).message}`);
    }
    return store;
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const [count, ttl] = (await this.redis.eval(HIT, 1, this.key(key), String(Math.max(1, Math.ceil(windowMs))))) as [number, number];
    return { count, resetInMs: Math.max(0, ttl) };
  }

  async undo(key: string): Promise<void> {
    await this.redis.eval(UNDO, 1, this.key(key));
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }

  async mark(key: string, ms: number): Promise<void> {
    await this.redis.eval(MARK, 1, this.key(key), String(Math.max(1, Math.ceil(ms))));
  }

  async ttl(key: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.key(key)));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private key(key: string): string {
    return `${this.o.prefix}:rl:${key}`;
  }
}
