/**
 * Topics of the cross-node bus and their payloads. A message is published under a topic
 * and a key (usually a stream id); subscribers listen to one key or to all keys ('*').
 * Payloads must be JSON values: they cross process boundaries.
 */
import type { StreamId } from './ids.ts';

export interface StreamStatusEvent {
  streamId: StreamId;
  status: 'live' | 'offline';
  at: string;
}

export interface BusTopics {
  /** A stream went live or offline. Key: stream id. */
  'stream.status': StreamStatusEvent;
  /** Free-form messages for tests and diagnostics. Key: anything. */
  'debug.echo': { n: number; text: string; from: string };
}

export type BusTopic = keyof BusTopics;
