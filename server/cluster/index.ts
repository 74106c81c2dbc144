import type { Logger } from '../logger.ts';
import type { ClusterDirectory } from './directory.ts';
import { LocalDirectory } from './local-directory.ts';
import { RedisDirectory } from './redis-directory.ts';

export type { ClusterDirectory } from './directory.ts';

/** Redis when a URL is configured (a cluster), else this node alone in memory. Nothing else branches on it. */
export async function createDirectory(options: { url: string; prefix: string; log: Logger }): Promise<ClusterDirectory> {
  return options.url ? RedisDirectory.connect(options) : new LocalDirectory();
}
