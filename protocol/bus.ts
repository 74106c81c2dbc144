/**
 * Topics of the cross-node bus and their payloads. A message is published under a topic
 * and a key (usually a stream id); subscribers listen to one key or to all keys ('*').
 * Payloads must be JSON values: they cross process boundaries.
 */
import type { StreamId } from './ids.ts';
import type { StreamStatus } from './api.ts';
import type { ServerMessage } from './signalling.ts';

export interface StreamStatusEvent {
  streamId: StreamId;
  status: StreamStatus;
  at: string;
  /** Node that observed the change (it already told its own listeners). */
  origin: string;
}

/** Why a broadcast is ended from outside its publisher. */
export type StreamEndReason = 'stopped' | 'key-rotated' | 'deleted';

/** End this broadcast (and for `deleted`, make its media unreachable) wherever it runs. */
export interface StreamEndCommand {
  streamId: StreamId;
  reason: StreamEndReason;
  /** Node that issued it (it already acted on it). */
  origin: string;
}

/** A chat event for every socket of a stream, on every node. */
export interface ChatBusEvent {
  event: ServerMessage;
  /** The channel (streamer) the event belongs to: moderation and settings update every node's cache. */
  streamerId: string;
}

/** One node's audience of one stream, published every few seconds. */
export interface PresenceReport {
  node: string;
  chat: number;
  webrtc: number;
}

/** A pipe from an origin to another node ended on the origin's side (the edge reopens it if it still has viewers). */
export interface PipeClosedEvent {
  streamId: StreamId;
  pipeId: string;
  /** The edge node it fed. */
  node: string;
  reason: string;
}

export interface BusTopics {
  /** Chat messages, reactions, moderation, settings, system events. Key: stream id. */
  'chat.event': ChatBusEvent;
  /** Audience counts per node. Key: stream id. */
  'chat.presence': PresenceReport;
  /** A stream went live, reconnecting or offline. Key: stream id. */
  'stream.status': StreamStatusEvent;
  /** The owner stopped, deleted or re-keyed a stream: every node ends its media. Key: stream id. */
  'stream.end': StreamEndCommand;
  /** A pipe between nodes closed on its origin. Key: stream id. */
  'stream.pipe': PipeClosedEvent;
  /** Free-form messages for tests and diagnostics. Key: anything. */
  'debug.echo': { n: number; text: string; from: string };
}

export type BusTopic = keyof BusTopics;
