/**
 * The cluster directory: which nodes are alive (with their internal URL, media address and
 * load) and which node is the origin of each live stream. Entries expire unless refreshed:
 * a node that dies is forgotten with its streams after its TTL, and a directory that lost
 * everything (a Redis restart) is whole again after one heartbeat of every node.
 * Contract, checked by test/cluster/directory.case.ts for every implementation:
 * - an entry is readable until its TTL passes without a refresh, and not after;
 * - `claimStream` never overwrites another node's entry (unless forced): it answers the
 *   owner instead; `releaseStream` removes an entry only for its owner;
 * - every call rejects at once while the backend cannot be reached (no queueing).
 */
import type { NodeEntry, StreamOrigin } from '../../protocol/cluster.ts';
import type { NodeId, StreamId } from '../../protocol/ids.ts';

export type { NodeEntry, StreamOrigin };

export interface ClusterDirectory {
  readonly kind: 'local' | 'redis';
  /** Writes (or refreshes) a node's entry for `ttlMs`. */
  putNode(entry: NodeEntry, ttlMs: number): Promise<void>;
  removeNode(id: NodeId): Promise<void>;
  /** Every node whose entry has not expired. */
  nodes(): Promise<NodeEntry[]>;
  node(id: NodeId): Promise<NodeEntry | undefined>;
  /**
   * Writes (or refreshes) a stream's origin for `ttlMs` unless another node holds it; answers
   * the entry that holds it afterwards (ours when written). `force` takes it over.
   */
  claimStream(origin: StreamOrigin, ttlMs: number, force?: boolean): Promise<StreamOrigin>;
  /** The stream's origin, when one has claimed it. */
  stream(id: StreamId): Promise<StreamOrigin | undefined>;
  /** Removes the stream's entry when `node` holds it. */
  releaseStream(id: StreamId, node: NodeId): Promise<void>;
  close(): Promise<void>;
}
