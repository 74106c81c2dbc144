/**
 * The bus carries events between the processes of a Glint cluster (chat, viewer counts,
 * stream status). Contract, checked by test/bus/bus.case.ts for every implementation:
 * - every subscriber on every node (the publisher's included) gets each message once;
 * - messages of one publisher under one topic+key arrive in publish order;
 * - payloads arrive as frozen JSON copies (never the publisher's object); the handlers of
 *   one node share one copy;
 * - at-most-once: a node that is disconnected misses what was published meanwhile;
 * - a throwing handler does not affect other handlers;
 * - publish rejects at once when the message cannot be sent (no unbounded buffering).
 */
import type { BusTopic, BusTopics } from '../../protocol/bus.ts';

export type BusHandler<T extends BusTopic> = (payload: BusTopics[T], key: string) => void;

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface Bus {
  readonly kind: 'local' | 'redis';
  publish<T extends BusTopic>(topic: T, key: string, payload: BusTopics[T]): Promise<void>;
  /** `key` '*' receives every key of the topic. Resolves once the subscription is active. */
  subscribe<T extends BusTopic>(topic: T, key: string, handler: BusHandler<T>): Promise<Subscription>;
  close(): Promise<void>;
}

/** Channel registry shared by implementations: channel name -> handlers. */
export class HandlerSet {
  private readonly byChannel = new Map<string, Set<BusHandler<BusTopic>>>();

  /** Returns true when this is the first handler of the channel. */
  add(channel: string, handler: BusHandler<BusTopic>): boolean {
    let set = this.byChannel.get(channel);
    const first = !set;
    if (!set) this.byChannel.set(channel, (set = new Set()));
    set.add(handler);
    return first;
  }

  /** Returns true when the channel has no handlers left. */
  remove(channel: string, handler: BusHandler<BusTopic>): boolean {
    const set = this.byChannel.get(channel);
    if (!set) return false;
    set.delete(handler);
    if (set.size > 0) return false;
    this.byChannel.delete(channel);
    return true;
  }

  channels(): string[] {
    return [...this.byChannel.keys()];
  }

  dispatch(channel: string, payload: unknown, key: string, onError: (err: unknown) => void): void {
    const set = this.byChannel.get(channel);
    if (!set) return;
    deepFreeze(payload);
    for (const handler of set) {
      try {
        handler(payload as never, key);
      } catch (err) {
        onError(err);
      }
    }
  }
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
