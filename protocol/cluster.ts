/**
 * What nodes of a cluster tell each other: the directory's entries (nodes and the streams
 * they are the origin of) and the bodies of the internal routes between nodes.
 */
import type { NodeId, StreamId } from './ids.ts';
import type { ProducerInfo } from './sfu.ts';

/** One live node, as its heartbeat last wrote it. */
export interface NodeEntry {
  id: NodeId;
  /** Internal HTTP URL other nodes reach it on (pipes, HLS proxying). */
  url: string;
  /** Address its workers take pipes on ('' = whatever their candidates say). */
  mediaAddress: string;
  /** WebRTC transports open on its workers, and the most they take together. */
  peers: number;
  capacity: number;
  /** Streams it is the origin of. */
  streams: number;
  /** A fingerprint of its cluster secret (never the secret): nodes that differ cannot talk. */
  secretId: string;
  startedAt: number;
}

/** Where a stream is published: its origin node, the worker its publisher is on, what it sends. */
export interface StreamOrigin {
  streamId: StreamId;
  node: NodeId;
  worker: number;
  producers: ProducerInfo[];
  /** `reconnecting`: its publisher is away (grace period); pipes still open and wait for it. */
  status: 'live' | 'reconnecting';
  /** Recorded on that node: its LL-HLS answers on every node (passed to it). */
  hls: boolean;
}

/** `POST /internal/streams/:id/pipes`: an edge's offer for a pipe from the origin. */
export interface PipeRequest {
  offer: string;
}

export interface PipeAnswer {
  /** The pipe's id on the origin (for its DELETE, and in `stream.pipe` bus events). */
  pipeId: string;
  answer: string;
}

/** Headers of a signed request between nodes. */
export const CLUSTER_HEADERS = {
  node: 'x-glint-node',
  time: 'x-glint-time',
  signature: 'x-glint-signature',
  /** Set on an HLS request one node passes to another: it is answered there, never passed on. */
  forwarded: 'x-glint-forwarded-by',
} as const;
