/**
 * Redis pub/sub bus: one connection publishes, one subscribes. Channels are
 * `<prefix>:<topic>:<key>`; '*' subscriptions use PSUBSCRIBE. The publishing connection
 * has no offline queue, so publishing while Redis is unreachable fails at once instead of
 * piling up messages in memory.
 */
import { Redis } from 'ioredis';
import type { BusTopic, BusTopics } from '../../protocol/bus.ts';
import { HandlerSet, type Bus, type BusHandler, type Subscription } from './bus.ts';
import type { Logger } from '../logger.ts';

export interface RedisBusOptions {
  url: string;
  prefix: string;
  log: Logger;
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  private readonly handlers = new HandlerSet();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private closed = false;

  private constructor(private readonly o: RedisBusOptions) {
    const common = { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 };
    this.pub = new Redis(o.url, { ...common, enableOfflineQueue: false, connectionName: 'glint-bus-pub' });
    this.sub = new Redis(o.url, { ...common, connectionName: 'glint-bus-sub' });
    for (const conn of [this.pub, this.sub]) {
      conn.on('error', (err) => o.log.warn({ err: err.message }, 'redis bus connection error'));
    }
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, channel, message));
    this.sub.on('pmessage', (pattern: string, channel: string, message: string) => this.onMessage(pattern, channel, message));
  }

  static async connect(o: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(o);
    try {
      await Promise.all([bus.pub.connect(), bus.sub.connect()]);
    } catch (err) {
      bus.pub.disconnect();
      bus.sub.disconnect();
      throw new Error(`cannot connect to Redis at ${redact(o.url)}: ${(err as Error).message}`);
    }
    return bus;
  }

  async publish<T extends BusTopic>(topic: T, key: string, payload: BusTopics[T]): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    if (key === '*') throw new Error("'*' is for subscribing to every key, not a key to publish under");
    await this.pub.publish(this.channel(topic, key), JSON.stringify(payload));
  }

  async subscribe<T extends BusTopic>(topic: T, key: string, handler: BusHandler<T>): Promise<Subscription> {
    if (this.closed) throw new Error('bus closed');
    const channel = this.channel(topic, key);
    const h = handler as BusHandler<BusTopic>;
    if (this.handlers.add(channel, h)) {
      if (key === '*') await this.sub.psubscribe(channel);
      else await this.sub.subscribe(channel);
    }
    return {
      unsubscribe: async () => {
        if (!this.handlers.remove(channel, h) || this.closed) return;
        if (key === '*') await this.sub.punsubscribe(channel);
        else await this.sub.unsubscribe(channel);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }

  private channel(topic: string, key: string): string {
    return `${this.o.prefix}:${topic}:${key}`;
  }

  private onMessage(subscribed: string, channel: string, message: string): void {
    const rest = channel.slice(this.o.prefix.length + 1);
    const sep = rest.indexOf(':');
    const key = rest.slice(sep + 1);
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch {
      this.o.log.warn({ channel }, 'bus message is not JSON; dropped');
      return;
    }
    this.handlers.dispatch(subscribed, payload, key, (err) => this.o.log.error({ err, channel }, 'bus handler failed'));
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
