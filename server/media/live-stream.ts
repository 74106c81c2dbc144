/**
 * One live stream on this node, and the one owner of its state: its publisher session, its
 * router (on one worker; pipes will add more), its viewers, whether it is on air, and the
 * reconnect grace. Every change that spans an `await` runs in its serial queue, and it is
 * the only writer of the stream's stored status (through StreamService), so status and
 * events follow one order: `live`, `reconnecting`, `offline`, each once.
 *
 * A broadcast ends when its publisher says so: DELETE on its session, or closing its
 * connection cleanly (DTLS close_notify). When the connection *fails* (ICE, consent, media
 * timeout, worker lost) the stream is `reconnecting` for the grace period: viewers may keep
 * or take sessions and get media as soon as the publisher is back.
 */
import { randomBytes } from 'node:crypto';
import type { PeerId, StreamId, TransportId } from '../../protocol/ids.ts';
import type { ProducerInfo, TransportCloseReason } from '../../protocol/sfu.ts';
import { UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { PipeTransportHandle, RouterHandle, WebRtcTransportHandle, WorkerHandle } from '../sfu/worker-handle.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import type { StreamEvents } from './stream-events.ts';

export type SessionKind = 'whip' | 'whep';

export interface Session {
  id: PeerId;
  kind: SessionKind;
  streamId: StreamId;
  live: LiveStream;
  transport: WebRtcTransportHandle;
  etag: string;
  iceUfrag: string;
  connected: boolean;
  createdAt: number;
  /** WHIP: SHA-256 of the stream key that opened it; its DELETE and PATCH must present the key. */
  keyHash?: string;
  /** WHEP until connected: gives back its place among the unconnected sessions of its address. */
  releasePending?: () => void;
}

/** On air on this node: live, or waiting for its publisher to come back. */
export type OnAir = 'live' | 'reconnecting';

export interface LiveStreamDeps {
  pool: WorkerPool;
  streams: StreamService;
  events: StreamEvents;
  maxPeersPerWorker: number;
  reconnectGraceSeconds: number;
  log: Logger;
  /** A session ended (whoever ended it): the registry forgets it. */
  sessionRemoved(s: Session): void;
  /** A viewer connected: it no longer counts as pending. */
  viewerConnected(s: Session): void;
  /** Its queue ran empty: the registry forgets it when nothing is left (no router, not on air, no grace). */
  idle(live: LiveStream): void;
}

export const RETRY_AFTER_UNAVAILABLE = '2';
/** Pipes between workers of one node run over loopback. */
const PIPE_HOST = '127.0.0.1';

/**
 * A branch: a router of the stream on another worker of this node, fed by a pipe from the
 * node's root router ("edge" names a node fed from another node).
 */
interface Branch {
  worker: WorkerHandle;
  router: RouterHandle;
  /** The pipe's two ends (undefined while it is being made, or after the origin was lost). */
  originEnd: PipeTransportHandle | undefined;
  farEnd: PipeTransportHandle | undefined;
}

export class LiveStream {
  onAir: OnAir | undefined;
  /** Its router on this node (the origin: the publisher's). */
  router: RouterHandle | undefined;
  /** Its routers on other workers of this node, one pipe from the origin each. */
  private readonly branches = new Map<WorkerHandle, Branch>();
  /** Viewers still being negotiated, per router: a branch is not closed under them. */
  private readonly joining = new Map<RouterHandle, number>();
  publisher: Session | undefined;
  readonly viewers = new Map<PeerId, Session>();
  /** The publisher's media is arriving (false during a blip or before the first packet). */
  flowing = false;
  /** What the current (or last) publisher sends: a router made while it is away starts with it. */
  producers: ProducerInfo[] = [];
  private graceTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Tasks queued or running. */
  private busy = 0;
  private readonly log: Logger;

  constructor(
    readonly id: StreamId,
    private readonly d: LiveStreamDeps,
  ) {
    this.log = d.log.child({ streamId: id });
  }

  /** Runs `task` after every change queued before it. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.busy++;
    const next = this.queue.then(task).finally(() => {
      // With nothing queued and nothing left on this node, the registry may forget it.
      if (--this.busy === 0) this.d.idle(this);
    });
    this.queue = next.catch(() => {});
    return next;
  }

  get inGrace(): boolean {
    return this.graceTimer !== undefined;
  }

  get isActive(): boolean {
    return !!this.publisher?.connected && this.flowing;
  }

  /** Connected WebRTC viewers. */
  viewerCount(): number {
    let n = 0;
    for (const v of this.viewers.values()) if (v.connected) n++;
    return n;
  }

  /** Queued: the router of this stream on this node, placed on the least loaded worker when it has none. */
  async ensureRouter(): Promise<RouterHandle> {
    if (this.router && !this.router.closed) return this.router;
    const worker = this.d.pool.pick(this.d.maxPeersPerWorker);
    if (!worker) {
      throw new UnavailableError('MEDIA_UNAVAILABLE', 'No media worker can take this stream right now; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    }
    const router = await worker.createRouter(this.id, this.inGrace ? this.producers : undefined);
    if (router.closed) throw new UnavailableError('MEDIA_UNAVAILABLE', 'The media server is restarting; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    this.router = router;
    router.onMediaFlowing((flowing) => {
      if (this.router !== router) return;
      this.flowing = flowing;
      this.d.events.emit(this.id, { type: flowing ? 'active' : 'inactive' });
    });
    router.onClose(() => void this.run(() => this.routerLost(router)));
    // Viewers kept on other workers while the origin was gone get their pipes back.
    for (const branch of this.branches.values()) await this.pipe(branch).catch((err) => this.log.warn({ err, worker: branch.worker.index }, 'cannot reopen a pipe'));
    return router;
  }

  /**
   * The router a new viewer joins: the one on the least loaded worker with room. A worker
   * that does not carry the stream yet gets a router fed by one pipe from the origin (one
   * copy per worker, not per viewer). The router is held for the viewer until `release()`
   * (its session is adopted by then, or it failed): a branch whose last viewer just left is
   * not closed under a viewer joining it.
   */
  async routerForViewer(): Promise<{ router: RouterHandle; release: () => void }> {
    const origin = this.router && !this.router.closed ? this.router : undefined;
    const worker = this.d.pool.pick(this.d.maxPeersPerWorker);
    if (origin && (!worker || worker === origin.worker)) return this.hold(origin);
    const branch = worker && this.branches.get(worker);
    if (branch && !branch.router.closed && branch.originEnd && !branch.originEnd.closed) return this.hold(branch.router);
    return this.run(async () => {
      const originRouter = await this.ensureRouter();
      if (!worker || worker === originRouter.worker || worker.closed) return this.hold(originRouter);
      return this.hold((await this.openBranch(worker)).router);
    });
  }

  private hold(router: RouterHandle): { router: RouterHandle; release: () => void } {
    this.joining.set(router, (this.joining.get(router) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.joining.get(router) ?? 1) - 1;
      if (n > 0) return void this.joining.set(router, n);
      this.joining.delete(router);
      const branch = this.branches.get(router.worker);
      if (branch?.router === router) void this.run(() => this.closeBranchIfUnused(branch));
    };
    return { router, release };
  }

  /** True when a router is one of the stream's current routers on this node. */
  carries(router: RouterHandle): boolean {
    if (router.closed) return false;
    return router === this.router || this.branches.get(router.worker)?.router === router;
  }

  /** Queued: the publisher's tracks changed (first publish, reconnect, new codec): pipes carry the new ones. */
  async setProducers(producers: ProducerInfo[]): Promise<void> {
    const changed = JSON.stringify(producers) !== JSON.stringify(this.producers);
    this.producers = producers;
    if (!changed) return;
    for (const branch of this.branches.values()) await this.pipe(branch).catch((err) => this.log.warn({ err, worker: branch.worker.index }, 'cannot reopen a pipe'));
  }

  /** Queued: a router on `worker` fed by a pipe from the origin. */
  private async openBranch(worker: WorkerHandle): Promise<Branch> {
    let branch = this.branches.get(worker);
    if (branch && !branch.router.closed && branch.originEnd && !branch.originEnd.closed) return branch;
    if (!branch || branch.router.closed) {
      const router = await worker.createRouter(this.id);
      const created: Branch = { worker, router, originEnd: undefined, farEnd: undefined };
      branch = created;
      this.branches.set(worker, created);
      router.onClose(() => void this.run(() => this.branchLost(created)));
      this.log.info({ worker: worker.index, origin: this.router?.worker.index }, 'stream spread to another worker: pipe opened');
    }
    await this.pipe(branch);
    return branch;
  }

  /** Queued: (re)opens the pipe from the origin router to a branch. */
  private async pipe(branch: Branch): Promise<void> {
    const origin = this.router;
    if (!origin || origin.closed || branch.router.closed) return;
    void branch.originEnd?.close();
    void branch.farEnd?.close();
    const tag = randomBytes(6).toString('base64url');
    try {
      branch.farEnd = await branch.router.createPipeTransport(`pipe-${tag}-in` as TransportId, PIPE_HOST);
      branch.originEnd = await origin.createPipeTransport(`pipe-${tag}-out` as TransportId, PIPE_HOST);
      await branch.originEnd.connect(branch.farEnd);
      await branch.farEnd.connect(branch.originEnd);
      await branch.farEnd.produce(this.producers);
      for (const p of this.producers) await branch.originEnd.consume(p.kind, p.payloadType);
    } catch (err) {
      void branch.originEnd?.close();
      void branch.farEnd?.close();
      branch.originEnd = undefined;
      throw err;
    }
  }

  /** Queued: a branch's last viewer left: its pipe and router close. */
  private async closeBranchIfUnused(branch: Branch): Promise<void> {
    if (this.branches.get(branch.worker) !== branch || this.joining.has(branch.router)) return;
    for (const v of this.viewers.values()) if (v.transport.router === branch.router) return;
    this.branches.delete(branch.worker);
    this.log.info({ worker: branch.worker.index }, 'last viewer on a worker left: pipe closed');
    await branch.originEnd?.close();
    await branch.router.close();
  }

  /** Queued: a branch's worker exited: its viewers are gone, the origin end of its pipe is closed. */
  private async branchLost(branch: Branch): Promise<void> {
    if (this.branches.get(branch.worker) !== branch) return;
    this.branches.delete(branch.worker);
    for (const v of [...this.viewers.values()]) if (v.transport.router === branch.router) this.removeSession(v);
    this.viewersChanged();
    await branch.originEnd?.close();
  }

  /**
   * Takes a session into the stream (its transport's events are the stream's from now on).
   * The publisher's events change the stream's state: they go through the queue. A viewer's
   * are bookkeeping with no await: handled at once, never behind a slow change.
   */
  adopt(s: Session): void {
    if (s.kind === 'whip') {
      this.publisher = s;
      s.transport.onConnected(() => void this.run(() => this.publisherConnected(s)));
      s.transport.onClose((reason, message) => void this.run(() => this.transportClosed(s, reason, message)));
    } else {
      this.viewers.set(s.id, s);
      s.transport.onConnected(() => this.viewerConnected(s));
      s.transport.onClose((reason, message) => void this.transportClosed(s, reason, message));
    }
  }

  /** Forgets a session (whoever ended it). */
  removeSession(s: Session): void {
    if (s.kind === 'whip' && this.publisher === s) this.publisher = undefined;
    const wasViewer = s.kind === 'whep' && this.viewers.delete(s.id);
    this.d.sessionRemoved(s);
    if (wasViewer && s.connected) this.viewersChanged();
    const branch = wasViewer ? this.branches.get(s.transport.router.worker) : undefined;
    if (branch?.router === s.transport.router && ![...this.viewers.values()].some((v) => v.transport.router === branch.router)) {
      void this.run(() => this.closeBranchIfUnused(branch));
    }
  }

  /** Ends a session from our side (queued for a publisher); the stream's state is the caller's business. */
  async closeSession(s: Session): Promise<void> {
    this.removeSession(s);
    await s.transport.close();
  }

  /** Queued: an owner marked the stream live by hand (no media): status and event only. */
  async startByHand(): Promise<void> {
    if (this.onAir) return;
    await this.d.streams.markLive(this.id);
    this.d.events.emit(this.id, { type: 'live' });
  }

  /**
   * Queued: ends all media of the stream now (its publisher said goodbye, the owner pressed
   * stop, deleted it or rotated its key) and marks it offline — once in the cluster.
   */
  async end(): Promise<void> {
    this.clearGrace();
    const hadMedia = !!this.router || !!this.onAir;
    await this.dropRouter();
    this.onAir = undefined;
    const wasOnAir = await this.d.streams.markOffline(this.id).catch((err) => {
      this.log.error({ err }, 'cannot mark stream offline');
      return false;
    });
    if (hadMedia || wasOnAir) {
      this.d.events.emit(this.id, { type: 'inactive' });
      this.d.events.emit(this.id, { type: 'offline' });
    }
  }

  /** Queued: the publisher's connection completed: the stream is live. */
  private async publisherConnected(s: Session): Promise<void> {
    if (s.connected || s.transport.closed) return;
    s.connected = true;
    this.clearGrace();
    this.onAir = 'live';
    this.log.info({ session: s.id }, 'publisher connected');
    try {
      await this.d.streams.markLive(this.id);
      this.d.events.emit(this.id, { type: 'live' });
    } catch (err) {
      this.log.error({ err }, 'cannot mark stream live');
    }
  }

  private viewerConnected(s: Session): void {
    if (s.connected || s.transport.closed) return;
    s.connected = true;
    this.d.viewerConnected(s);
    this.viewersChanged();
    this.d.streams.addViews(this.id, 1).catch((err) => this.log.error({ err }, 'cannot count a view'));
  }

  /** The media plane ended a session (failure, timeout, the peer's goodbye); queued for the publisher. */
  private transportClosed(s: Session, reason: TransportCloseReason, message: string): Promise<void> | void {
    this.log.info({ session: s.id, kind: s.kind, reason, message }, 'session closed by the media plane');
    this.removeSession(s);
    if (s.kind === 'whip') return this.publisherLost(reason, message);
  }

  /** Queued: its router's worker exited; every session on it is gone. */
  private routerLost(router: RouterHandle): Promise<void> | void {
    if (this.router !== router) return;
    this.router = undefined;
    this.flowing = false;
    // Viewers on other workers stay: their pipes come back with the next origin router.
    for (const s of [this.publisher, ...this.viewers.values()]) if (s && s.transport.router === router) this.removeSession(s);
    for (const branch of this.branches.values()) branch.originEnd = undefined;
    this.viewersChanged();
    this.log.warn('stream lost with its sfu-worker');
    if (this.onAir) return this.publisherLost('worker', 'the media worker restarted');
    return this.dropRouter();
  }

  /**
   * The publisher's session ended without a DELETE. A clean close (DTLS close_notify) is its
   * goodbye: the broadcast ends now. A failure (network, consent, media timeout, worker
   * lost) starts the grace period: `reconnecting` until the same encoder is back, or offline.
   */
  private publisherLost(reason: TransportCloseReason, message: string): Promise<void> | void {
    if (reason === 'b-frames') this.d.events.emit(this.id, { type: 'error', message });
    if (!this.onAir) {
      // It never went live (never connected): there is nothing to wait for.
      if (this.router && !this.publisher && this.viewers.size === 0) return this.dropRouter();
      return;
    }
    if (reason === 'closed') {
      this.log.info('publisher closed its connection: the broadcast ended');
      return this.end();
    }
    this.d.events.emit(this.id, { type: 'inactive' });
    if (this.onAir === 'live') {
      this.onAir = 'reconnecting';
      this.d.streams.markReconnecting(this.id).catch((err) => this.log.error({ err }, 'cannot mark stream reconnecting'));
      this.d.events.emit(this.id, { type: 'reconnecting' });
      this.log.info({ reason, graceSeconds: this.d.reconnectGraceSeconds }, 'publisher connection lost: waiting for it to come back');
    }
    // One grace period from the first loss: failed reconnect attempts do not extend it.
    if (this.graceTimer) return;
    this.graceTimer = setTimeout(() => {
      void this.run(async () => {
        this.graceTimer = undefined;
        if (this.publisher?.connected) return;
        this.log.info('publisher did not come back: stream offline');
        await this.end();
      }).catch((err) => this.log.error({ err }, 'cannot end stream'));
    }, this.d.reconnectGraceSeconds * 1000);
  }

  private async dropRouter(): Promise<void> {
    const router = this.router;
    const branches = [...this.branches.values()];
    this.branches.clear();
    this.router = undefined;
    this.flowing = false;
    for (const s of [this.publisher, ...this.viewers.values()]) if (s) this.removeSession(s);
    await Promise.all([router?.close(), ...branches.map((b) => b.router.close())]);
  }

  private clearGrace(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private viewersChanged(): void {
    this.d.events.emit(this.id, { type: 'viewercount', viewercount: this.viewerCount() });
  }
}
