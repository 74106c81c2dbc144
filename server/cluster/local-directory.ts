/**
 * The directory of a single node (no REDIS_URL): the same contract in memory. Nothing else
 * can read it, so a stream's origin is always this node.
 */
import type { NodeId, StreamId } from '../../protocol/ids.ts';
import type { ClusterDirectory, NodeEntry, StreamOrigin } from './directory.ts';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export class LocalDirectory implements ClusterDirectory {
  readonly kind = 'local' as const;
  private readonly nodeEntries = new Map<NodeId, Expiring<NodeEntry>>();
  private readonly streams = new Map<StreamId, Expiring<StreamOrigin>>();

  constructor(private readonly now: () => number = Date.now) {}

  async putNode(entry: NodeEntry, ttlMs: number): Promise<void> {
    this.nodeEntries.set(entry.id, { value: structuredClone(entry), expiresAt: this.now() + ttlMs });
  }

  async removeNode(id: NodeId): Promise<void> {
    this.nodeEntries.delete(id);
  }

  async nodes(): Promise<NodeEntry[]> {
    const out: NodeEntry[] = [];
    for (const id of [...this.nodeEntries.keys()]) {
      const entry = this.live(this.nodeEntries, id);
      if (entry) out.push(entry);
    }
    return out;
  }

  async node(id: NodeId): Promise<NodeEntry | undefined> {
    return this.live(this.nodeEntries, id);
  }

  async claimStream(origin: StreamOrigin, ttlMs: number, force = false): Promise<StreamOrigin> {
    const held = this.live(this.streams, origin.streamId);
    if (held && held.node !== origin.node && !force) return held;
    this.streams.set(origin.streamId, { value: structuredClone(origin), expiresAt: this.now() + ttlMs });
    return structuredClone(origin);
  }

  async stream(id: StreamId): Promise<StreamOrigin | undefined> {
    return this.live(this.streams, id);
  }

  async releaseStream(id: StreamId, node: NodeId): Promise<void> {
    if (this.live(this.streams, id)?.node === node) this.streams.delete(id);
  }

  async close(): Promise<void> {
    this.nodeEntries.clear();
    this.streams.clear();
  }

  private live<K, T>(map: Map<K, Expiring<T>>, key: K): T | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return structuredClone(e.value);
  }
}
