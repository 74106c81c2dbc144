/**
 * On an edge node (one that serves viewers of a stream published on another node): the pipe
 * from the origin node that feeds this node's root router. Our worker offers to receive the
 * origin's producers, the offer goes to the origin over a signed internal request, and its
 * worker answers as for a viewer (a consumer marked as a pipe). DTLS-SRTP protects it; NACK
 * and PLI cross it; the origin sends one copy per edge node whatever its viewers here.
 *
 * When the pipe is lost (the origin's worker or node died, the publisher changed codec) it is
 * reopened, from wherever the directory then says the stream is published, while this node
 * still has viewers: they keep their sessions and get media again. With no origin for the
 * grace period the edge gives up (its owner ends it).
 */
import { randomBytes } from 'node:crypto';
import type { StreamOrigin } from '../../protocol/cluster.ts';
import type { StreamId, TransportId } from '../../protocol/ids.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { Logger } from '../logger.ts';
import type { RouterHandle, WebRtcPipeHandle } from '../sfu/worker-handle.ts';

export interface UpstreamDeps {
  cluster: Cluster;
  log: Logger;
  /** How long to keep trying without an origin before giving up. */
  graceMs: number;
  /** Runs a retry in the stream's queue (it reopens through the owner, who knows the router). */
  retry(): void;
  /** The pipe was lost: its viewers hear `inactive` now, not when the router notices the silence. */
  lost(): void;
}

/** A lost pipe is asked for again after this long (then every time this passes). */
const RETRY_MS = 1_000;

export class Upstream {
  private transport: WebRtcPipeHandle | undefined;
  private pipeId: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** When the pipe was lost (undefined while it is open, or before it ever was). */
  private lostAt: number | undefined;
  private closed = false;

  constructor(
    readonly streamId: StreamId,
    /** Where the stream is published (as the directory said when the pipe was last opened). */
    public origin: StreamOrigin,
    private readonly d: UpstreamDeps,
  ) {}

  /** The pipe is open (connected or connecting). */
  get isOpen(): boolean {
    return !!this.transport && !this.transport.closed;
  }

  /** It was open and is lost: viewers wait for it to come back (joins too). */
  get reopening(): boolean {
    return this.lostAt !== undefined;
  }

  /** No origin came back within the grace period. */
  get expired(): boolean {
    return this.lostAt !== undefined && Date.now() - this.lostAt > this.d.graceMs;
  }

  /** Queued by the owner: opens the pipe into `router`. Throws (503, or the origin's 409) when it cannot. */
  async open(router: RouterHandle): Promise<void> {
    if (this.closed || this.isOpen) return;
    const id = `node-${this.origin.node.slice(0, 40)}-${randomBytes(6).toString('base64url')}` as TransportId;
    const { transport, offer } = await router.createWebRtcPipe(id, this.origin.producers);
    let pipeId: string | undefined;
    try {
      const reply = await this.d.cluster.requestPipe(this.origin, offer);
      pipeId = reply.pipeId;
      await transport.connect(reply.answer);
    } catch (err) {
      void transport.close();
      if (pipeId) void this.d.cluster.closePipe(this.origin, pipeId);
      throw err;
    }
    if (this.closed || transport.closed) {
      void transport.close();
      void this.d.cluster.closePipe(this.origin, pipeId);
      return;
    }
    this.transport = transport;
    this.pipeId = pipeId;
    this.lostAt = undefined;
    this.d.log.info({ origin: this.origin.node, pipe: pipeId, worker: router.worker.index }, 'pipe from the origin node opened');
    transport.onClose((reason, message) => this.lost(`${reason}: ${message}`));
  }

  /** True when `pipeId` is this edge's pipe on the origin. */
  carries(pipeId: string): boolean {
    return this.pipeId === pipeId;
  }

  /** The pipe is gone (our end failed, or the origin closed it): reopened in a moment. */
  lost(reason: string): void {
    if (this.closed) return;
    if (this.transport) {
      this.d.log.warn({ origin: this.origin.node, pipe: this.pipeId, reason }, 'pipe from the origin node lost: reopening');
      this.d.lost();
    }
    void this.transport?.close();
    this.transport = undefined;
    this.pipeId = undefined;
    this.lostAt ??= Date.now();
    this.scheduleRetry();
  }

  /** Asks for a retry in RETRY_MS (once at a time). */
  scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.d.retry();
    }, RETRY_MS);
  }

  /** Closes the pipe on both ends (the edge has no viewers left, or the stream ended). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const { transport, pipeId } = this;
    this.transport = undefined;
    this.pipeId = undefined;
    await transport?.close();
    if (pipeId) await this.d.cluster.closePipe(this.origin, pipeId);
  }
}
