/**
 * Ends a broadcast on whichever node of the cluster carries it: the owner's request (stop,
 * delete, key rotation) may reach any node, while the publisher's session lives on one.
 * The node that gets the request acts at once and tells the others through the bus.
 */
import { randomUUID } from 'node:crypto';
import type { StreamEndCommand, StreamEndReason } from '../../protocol/bus.ts';
import type { StreamId } from '../../protocol/ids.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import type { MediaService } from './media-service.ts';

export interface StreamControlOptions {
  bus: Bus;
  media: MediaService;
  recording: RecordingService;
  log: Logger;
}

export class StreamControl {
  private readonly node = randomUUID();
  private subscription: Subscription | undefined;

  constructor(private readonly o: StreamControlOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.o.bus.subscribe('stream.end', '*', (cmd) => {
      if (cmd.origin === this.node) return;
      this.apply(cmd).catch((err) => this.o.log.error({ err, streamId: cmd.streamId }, 'cannot end a stream for another node'));
    });
  }

  /** Ends the broadcast here and on every other node; resolves once this node's part is done. */
  async end(streamId: StreamId, reason: StreamEndReason): Promise<void> {
    const cmd: StreamEndCommand = { streamId, reason, origin: this.node };
    await this.apply(cmd);
    await this.o.bus.publish('stream.end', streamId, cmd).catch((err) => this.o.log.warn({ err, streamId, reason }, 'cannot tell the other nodes to end a stream'));
  }

  /** The owner marked the stream live by hand (no media: its status only). */
  async startByHand(streamId: StreamId): Promise<void> {
    await this.o.media.startByHand(streamId);
    this.o.log.info({ streamId }, 'stream marked live by its owner');
  }

  async close(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  private async apply(cmd: StreamEndCommand): Promise<void> {
    if (cmd.reason === 'deleted') this.o.recording.removeStream(cmd.streamId);
    if (this.o.media.liveStreamIds().includes(cmd.streamId)) this.o.log.info({ streamId: cmd.streamId, reason: cmd.reason }, 'ending the broadcast');
    await this.o.media.endStream(cmd.streamId);
  }
}
