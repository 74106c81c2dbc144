/**
 * In-process bus for a single node. Delivery is asynchronous and JSON-copied, exactly as
 * over Redis, so code that works here does not rely on synchronous or shared delivery.
 * Instances created with the same `LocalHub` see each other (used by tests to model nodes).
 */
import type { BusTopic, BusTopics } from '../../protocol/bus.ts';
import { HandlerSet, type Bus, type BusHandler, type Subscription } from './bus.ts';
import type { Logger } from '../logger.ts';

export class LocalHub {
  readonly members = new Set<LocalBus>();
}

export class LocalBus implements Bus {
  readonly kind = 'local' as const;
  private readonly handlers = new HandlerSet();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly hub: LocalHub = new LocalHub(),
  ) {
    hub.members.add(this);
  }

  async publish<T extends BusTopic>(topic: T, key: string, payload: BusTopics[T]): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    if (key === '*') throw new Error("'*' is for subscribing to every key, not a key to publish under");
    const text = JSON.stringify(payload);
    for (const member of this.hub.members) {
      // One macrotask per message keeps per-publisher order and never runs handlers inside publish().
      setImmediate(() => member.deliver(topic, key, text));
    }
  }

  async subscribe<T extends BusTopic>(topic: T, key: string, handler: BusHandler<T>): Promise<Subscription> {
    if (this.closed) throw new Error('bus closed');
    const channel = `${topic}:${key}`;
    const h = handler as BusHandler<BusTopic>;
    this.handlers.add(channel, h);
    return {
      unsubscribe: async () => {
        this.handlers.remove(channel, h);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.members.delete(this);
  }

  private deliver(topic: string, key: string, text: string): void {
    if (this.closed) return;
    const onError = (err: unknown) => this.log.error({ err, topic }, 'bus handler failed');
    const payload: unknown = JSON.parse(text);
    this.handlers.dispatch(`${topic}:${key}`, payload, key, onError);
    this.handlers.dispatch(`${topic}:*`, payload, key, onError);
  }
}
