import type { Logger } from '../logger.ts';
import type { Bus } from './bus.ts';
import { LocalBus } from './local-bus.ts';
import { RedisBus } from './redis-bus.ts';

export type { Bus } from './bus.ts';

/** Redis when a URL is configured, else the in-process bus. Nothing else branches on it. */
export async function createBus(options: { url: string; prefix: string; log: Logger }): Promise<Bus> {
  return options.url ? RedisBus.connect(options) : new LocalBus(options.log);
}
