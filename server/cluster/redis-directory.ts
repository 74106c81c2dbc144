/**
 * The directory in Redis, shared by every node of a cluster. Keys expire by Redis's own
 * clock (no skew between nodes): `<prefix>:cluster:node:<id>` per node, with the set
 * `<prefix>:cluster:nodes` listing ids (members whose key expired are pruned on read), and
 * `<prefix>:cluster:stream:<id>` per live stream. Claims and releases compare the owner in
 * a script, so two nodes never overwrite each other. The connection has no offline queue and
 * a command timeout: while Redis is away every call fails at once, and callers answer 503.
 */
import { Redis } from 'ioredis';
import type { NodeId, StreamId } from '../../protocol/ids.ts';
import type { Logger } from '../logger.ts';
import type { ClusterDirectory, NodeEntry, StreamOrigin } from './directory.ts';

export interface RedisDirectoryOptions {
  url: string;
  prefix: string;
  log: Logger;
}

/** Sets the stream's entry unless another node holds it (ARGV: json, node, ttl ms, force); returns the holder's json. */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held and ARGV[4] ~= '1' and cjson.decode(held).node ~= ARGV[2] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return ARGV[1]`;
const RELEASE = `
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held).node == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisDirectory implements ClusterDirectory {
  readonly kind = 'redis' as const;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static async connect(o: RedisDirectoryOptions): Promise<RedisDirectory> {
    const redis = new Redis(o.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      commandTimeout: 2_000,
      connectionName: 'glint-directory',
    });
    redis.on('error', (err) => o.log.debug({ err: err.message }, 'redis directory connection error'));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot connect to Redis for the cluster directory: ${(err as Error).message}`);
    }
    return new RedisDirectory(redis, `${o.prefix}:cluster`);
  }

  async putNode(entry: NodeEntry, ttlMs: number): Promise<void> {
    await this.redis.multi().set(this.nodeKey(entry.id), JSON.stringify(entry), 'PX', Math.ceil(ttlMs)).sadd(`${this.prefix}:nodes`, entry.id).exec().then(failed);
  }

  async removeNode(id: NodeId): Promise<void> {
    await this.redis.multi().del(this.nodeKey(id)).srem(`${this.prefix}:nodes`, id).exec().then(failed);
  }

  async nodes(): Promise<NodeEntry[]> {
    const ids = await this.redis.smembers(`${this.prefix}:nodes`);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.nodeKey(id as NodeId)));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) await this.redis.srem(`${this.prefix}:nodes`, ...gone);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as NodeEntry);
  }

  async node(id: NodeId): Promise<NodeEntry | undefined> {
    const v = await this.redis.get(this.nodeKey(id));
    return v === null ? undefined : (JSON.parse(v) as NodeEntry);
  }

  async claimStream(origin: StreamOrigin, ttlMs: number, force = false): Promise<StreamOrigin> {
    const json = JSON.stringify(origin);
    const held = (await this.redis.eval(CLAIM, 1, this.streamKey(origin.streamId), json, origin.node, String(Math.ceil(ttlMs)), force ? '1' : '0')) as string;
    return JSON.parse(held) as StreamOrigin;
  }

  async stream(id: StreamId): Promise<StreamOrigin | undefined> {
    const v = await this.redis.get(this.streamKey(id));
    return v === null ? undefined : (JSON.parse(v) as StreamOrigin);
  }

  async releaseStream(id: StreamId, node: NodeId): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.streamKey(id), node);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private nodeKey(id: NodeId): string {
    return `${this.prefix}:node:${id}`;
  }

  private streamKey(id: StreamId): string {
    return `${this.prefix}:stream:${id}`;
  }
}

/** A MULTI whose commands failed rejects like a single command would. */
function failed(results: Array<[Error | null, unknown]> | null): void {
  const err = results?.find(([e]) => e)?.[0];
  if (err) throw err;
  if (!results) throw new Error('the directory transaction was discarded');
}
