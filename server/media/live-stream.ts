/**
 * One live stream on this node, and the one owner of its state: its publisher session, its
 * root router and the branches on other workers, its viewers, the pipes it sends to other
 * nodes, whether it is on air, and the reconnect grace. Every change that spans an `await`
 * runs in its serial queue, and it is the only writer of the stream's stored status (through
 * StreamService) and of its entry in the cluster directory, so status and events follow one
 * order: `live`, `reconnecting`, `offline`, each once.
 *
 * On the origin node (the publisher's) the root router is fed by the publisher. On an edge
 * node (viewers of a stream published elsewhere) it is fed by one pipe from the origin node
 * (see upstream.ts), and the stream's status is the origin's business.
 *
 * A broadcast ends when its publisher says so: DELETE on its session, or closing its
 * connection cleanly (DTLS close_notify). When the connection *fails* (ICE, consent, media
 * timeout, worker lost) the stream is `reconnecting` for the grace period: viewers may keep
 * or take sessions and get media as soon as the publisher is back.
 */
import { randomBytes } from 'node:crypto';
import type { StreamOrigin } from '../../protocol/cluster.ts';
import type { NodeId, PeerId, StreamId, TransportId } from '../../protocol/ids.ts';
import type { ProducerInfo, TransportCloseReason } from '../../protocol/sfu.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { ConflictError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { PipeTransportHandle, RouterHandle, WebRtcTransportHandle, WorkerHandle } from '../sfu/worker-handle.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import type { StreamEvents } from './stream-events.ts';
import { Upstream } from './upstream.ts';

/** A publisher (WHIP), a viewer (WHEP), or the origin end of a pipe to another node. */
export type SessionKind = 'whip' | 'whep' | 'pipe';

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
  /** A pipe: the node it feeds. */
  node?: NodeId;
}

/** On air on this node: live, or waiting for its publisher to come back. */
export type OnAir = 'live' | 'reconnecting';

export interface LiveStreamDeps {
  pool: WorkerPool;
  streams: StreamService;
  events: StreamEvents;
  maxPeersPerWorker: number;
  reconnectGraceSeconds: number;
  /** This node in the cluster: the directory of stream origins, and pipes from other nodes. */
  cluster: Cluster;
  log: Logger;
  /** A session ended (whoever ended it): the registry forgets it; a pipe's edge is told. */
  sessionRemoved(s: Session, reason: string): void;
  /** A viewer connected: it no longer counts as pending. */
  viewerConnected(s: Session): void;
  /** Its queue ran empty: the registry forgets it when nothing is left (no router, not on air, no grace). */
  idle(live: LiveStream): void;
}

export const RETRY_AFTER_UNAVAILABLE = '2';
/** An edge keeps its pipe from the origin this long after its last viewer left (reloads, zapping). */
const EDGE_LINGER_MS = 5_000;
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
  /** Its root router on this node: fed by the publisher here, or (an edge) by the upstream pipe. */
  router: RouterHandle | undefined;
  /** On an edge node: the pipe from the origin node (undefined on the origin). */
  upstream: Upstream | undefined;
  /** Pipes to other nodes (the origin ends), by id. */
  readonly pipes = new Map<PeerId, Session>();
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

  /** Media is arriving: from the connected publisher here, or (an edge) through the pipe from the origin. */
  get isActive(): boolean {
    return (this.isEdge || !!this.publisher?.connected) && this.flowing;
  }

  /** Connected WebRTC viewers. */
  viewerCount(): number {
    let n = 0;
    for (const v of this.viewers.values()) if (v.connected) n++;
    return n;
  }

  /** True on an edge node: the stream is published on another node. */
  get isEdge(): boolean {
    return this.upstream !== undefined;
  }

  /**
   * This node serves viewers of a stream published on `origin` (another node). The root
   * router is fed by a pipe from there (opened by the first viewer's join, in the queue).
   */
  becomeEdge(origin: StreamOrigin): void {
    if (this.onAir || this.publisher) return; // published here meanwhile
    if (!this.upstream) {
      this.upstream = new Upstream(this.id, origin, {
        cluster: this.d.cluster,
        log: this.log,
        graceMs: this.d.reconnectGraceSeconds * 1000,
        retry: () => void this.run(() => this.reopenUpstream()).catch((err) => this.log.warn({ err }, 'cannot reopen the pipe from the origin node')),
        lost: () => this.setFlowing(false),
      });
    }
    if (!this.upstream.isOpen) this.upstream.origin = origin;
    if (!this.router) this.producers = origin.producers;
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
      if (this.router === router) this.setFlowing(flowing);
    });
    router.onClose(() => void this.run(() => this.routerLost(router)));
    if (this.upstream && !this.upstream.isOpen) {
      try {
        await this.upstream.open(router);
      } catch (err) {
        // No media for it: a router nobody watches is not kept.
        if (!this.hasAudience()) {
          this.router = undefined;
          await router.close();
        } else {
          this.upstream.lost((err as Error).message);
        }
        throw err;
      }
    }
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
    const fed = !this.upstream || this.upstream.isOpen || this.upstream.reopening;
    const origin = this.router && !this.router.closed && fed ? this.router : undefined;
    const worker = this.d.pool.pick(this.d.maxPeersPerWorker);
    if (origin && (!worker || worker === origin.worker)) return this.hold(origin);
    const branch = worker && this.branches.get(worker);
    if (branch && !branch.router.closed && branch.originEnd && !branch.originEnd.closed) return this.hold(branch.router);
    return this.run(async () => {
      const originRouter = this.upstream ? await this.feedFromOrigin() : await this.ensureRouter();
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
    if (this.onAir) await this.announce();
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
    if (this.branches.get(branch.worker) !== branch || this.joining.has(branch.router) || this.uses(branch.router)) return;
    this.branches.delete(branch.worker);
    this.log.info({ worker: branch.worker.index }, 'last viewer on a worker left: pipe closed');
    await branch.originEnd?.close();
    await branch.router.close();
  }

  /** Queued: a branch's worker exited: its viewers are gone, the origin end of its pipe is closed. */
  private async branchLost(branch: Branch): Promise<void> {
    if (this.branches.get(branch.worker) !== branch) return;
    this.branches.delete(branch.worker);
    for (const v of [...this.viewers.values(), ...this.pipes.values()]) if (v.transport.router === branch.router) this.removeSession(v, 'worker');
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
    } else if (s.kind === 'whep') {
      this.viewers.set(s.id, s);
      s.transport.onConnected(() => this.viewerConnected(s));
      s.transport.onClose((reason, message) => void this.transportClosed(s, reason, message));
    } else {
      this.pipes.set(s.id, s);
      s.transport.onConnected(() => {
        s.connected = true;
        this.log.info({ pipe: s.id, node: s.node, worker: s.transport.router.worker.index }, 'pipe to another node connected');
      });
      s.transport.onClose((reason, message) => void this.transportClosed(s, reason, message));
    }
  }

  /** Forgets a session (whoever ended it); `reason` reaches a pipe's edge node. */
  removeSession(s: Session, reason = 'closed'): void {
    if (s.kind === 'whip' && this.publisher === s) this.publisher = undefined;
    const wasViewer = s.kind === 'whep' && this.viewers.delete(s.id);
    const wasPipe = s.kind === 'pipe' && this.pipes.delete(s.id);
    this.d.sessionRemoved(s, reason);
    if (wasViewer && s.connected) this.viewersChanged();
    const router = s.transport.router;
    if (!wasViewer && !wasPipe) return;
    const branch = this.branches.get(router.worker);
    if (branch?.router === router && !this.uses(router)) void this.run(() => this.closeBranchIfUnused(branch));
    // An edge whose last viewer left closes its pipe from the origin (and forgets the stream)
    // unless someone joins again soon (a page reload).
    if (wasViewer && this.upstream && !this.hasAudience()) {
      setTimeout(() => void this.run(() => this.leaveIfUnwatched()), EDGE_LINGER_MS).unref();
    }
  }

  /** Ends a session from our side (queued for a publisher); the stream's state is the caller's business. */
  async closeSession(s: Session, reason = 'closed'): Promise<void> {
    this.removeSession(s, reason);
    await s.transport.close();
  }

  /** Queued: the origin end of a pipe on this origin's workers, answering an edge node's offer. */
  async openPipe(node: NodeId, create: (router: RouterHandle) => Promise<Session>): Promise<Session> {
    if (!this.onAir || this.isEdge) throw new UnavailableError('STREAM_NOT_LIVE', 'This stream is not published on this node.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    const { router, release } = await this.routerForViewer();
    try {
      const s = await create(router);
      s.node = node;
      this.adopt(s);
      return s;
    } finally {
      release();
    }
  }

  /** Queued: a node left the cluster: the pipes to it are closed. */
  async nodeGone(node: NodeId): Promise<void> {
    for (const p of [...this.pipes.values()]) if (p.node === node) await this.closeSession(p, 'node gone');
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
    if (this.upstream && !this.onAir) return this.leaveEdge();
    this.clearGrace();
    const hadMedia = !!this.router || !!this.onAir;
    await this.dropRouter();
    this.onAir = undefined;
    await this.d.cluster.withdraw(this.id);
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
    await this.announce();
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
    this.removeSession(s, reason);
    if (s.kind === 'whip') return this.publisherLost(reason, message);
  }

  /** Queued: its router's worker exited; every session on it is gone. */
  private routerLost(router: RouterHandle): Promise<void> | void {
    if (this.router !== router) return;
    this.router = undefined;
    this.flowing = false;
    // Viewers on other workers stay: their pipes come back with the next origin router.
    for (const s of [this.publisher, ...this.viewers.values(), ...this.pipes.values()]) if (s && s.transport.router === router) this.removeSession(s, 'worker');
    for (const branch of this.branches.values()) branch.originEnd = undefined;
    this.viewersChanged();
    this.log.warn('stream lost with its sfu-worker');
    if (this.onAir) return this.publisherLost('worker', 'the media worker restarted');
    if (this.upstream && this.hasAudience()) {
      // An edge: viewers on other workers wait for a new root router and pipe.
      this.upstream.lost('the media worker restarted');
      return;
    }
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
      void this.announce();
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
    for (const s of [this.publisher, ...this.viewers.values(), ...this.pipes.values()]) if (s) this.removeSession(s, 'ended');
    await Promise.all([router?.close(), ...branches.map((b) => b.router.close())]);
  }

  /** Viewers on this node, or pipes to other nodes, or joins in progress. */
  hasAudience(): boolean {
    return this.viewers.size > 0 || this.pipes.size > 0 || this.joining.size > 0;
  }

  /** A viewer or a pipe is on `router`. */
  private uses(router: RouterHandle): boolean {
    for (const s of this.viewers.values()) if (s.transport.router === router) return true;
    for (const s of this.pipes.values()) if (s.transport.router === router) return true;
    return false;
  }

  /** Queued: this origin's entry in the cluster directory (its worker, tracks and status). */
  private async announce(): Promise<void> {
    if (!this.onAir) return;
    const holder = await this.d.cluster.announce({ streamId: this.id, worker: this.router?.worker.index ?? -1, producers: this.producers, status: this.onAir });
    if (holder && holder.node !== this.d.cluster.id) this.log.warn({ holder: holder.node }, 'the directory names another node as this stream\'s origin');
  }

  /**
   * Queued: the edge's root router, with its pipe from the origin opened when it never was
   * (a lost one is reopened by its retries: viewers join and wait meanwhile).
   */
  private async feedFromOrigin(): Promise<RouterHandle> {
    const router = await this.ensureRouter();
    const up = this.upstream;
    if (up && !up.isOpen && !up.reopening) await up.open(router);
    // The origin's tracks changed (a new publisher, another codec): branches carry the new ones.
    if (up?.isOpen) await this.setProducers(up.origin.producers);
    return router;
  }

  /** Queued: the edge's pipe was lost: from wherever the directory now says the stream is, while viewers remain. */
  private async reopenUpstream(): Promise<void> {
    const up = this.upstream;
    if (!up || up.isOpen || this.onAir) return;
    if (!this.hasAudience()) return this.leaveEdge();
    const origin = await this.d.cluster.originOf(this.id).catch(() => undefined);
    if (!origin || origin.node === this.d.cluster.id) {
      if (up.expired) {
        this.log.info('no origin for this stream within the grace period: its viewers here are ended');
        return this.leaveEdge();
      }
      return up.scheduleRetry();
    }
    up.origin = origin;
    try {
      const router = await this.ensureRouter();
      if (!up.isOpen) await up.open(router);
      await this.setProducers(origin.producers);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'the pipe from the origin cannot be reopened yet');
      up.scheduleRetry();
    }
  }

  /** Queued: an edge's last viewer left. */
  private async leaveIfUnwatched(): Promise<void> {
    if (this.upstream && !this.onAir && !this.hasAudience()) await this.leaveEdge();
  }

  /** Queued: this node stops serving the stream (no viewers left, or the stream ended): pipe, router and viewers go. */
  private async leaveEdge(): Promise<void> {
    const up = this.upstream;
    if (!up) return;
    this.upstream = undefined;
    const hadMedia = !!this.router;
    await up.close();
    await this.dropRouter();
    if (hadMedia) this.d.events.emit(this.id, { type: 'inactive' });
    this.log.info('this node no longer carries the stream');
  }

  /** The origin closed this edge's pipe (its worker died, the stream ended or changed codec). */
  pipeClosedByOrigin(pipeId: string, reason: string): void {
    if (this.upstream?.carries(pipeId)) this.upstream.lost(`closed on the origin: ${reason}`);
  }

  /**
   * Queued: the stream's encoder, lost here, came back through another node: this node lets
   * the stream go without ending it (no status change: the new origin marks it live), its
   * viewers and pipes reconnect to wherever the directory says next.
   */
  async handOver(): Promise<void> {
    if (!this.onAir || this.isEdge) return;
    if (this.publisher?.connected) throw new ConflictError('STREAM_ALREADY_PUBLISHING', 'The encoder of this stream is connected to this node again.');
    this.clearGrace();
    this.onAir = undefined;
    const hadMedia = !!this.router;
    await this.dropRouter();
    await this.d.cluster.withdraw(this.id);
    if (hadMedia) this.d.events.emit(this.id, { type: 'inactive' });
    this.log.info('the encoder came back through another node: the stream moved there');
  }

  /** Queued: a publisher reached this edge node: it is the origin from now on (the old one's node is gone). */
  async becomeOrigin(): Promise<void> {
    const up = this.upstream;
    if (!up) return;
    this.upstream = undefined;
    await up.close();
  }

  private clearGrace(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  /** Media of the root router started or stopped: `active` / `inactive`, once per change. */
  private setFlowing(flowing: boolean): void {
    if (this.flowing === flowing) return;
    this.flowing = flowing;
    this.d.events.emit(this.id, { type: flowing ? 'active' : 'inactive' });
  }

  private viewersChanged(): void {
    this.d.events.emit(this.id, { type: 'viewercount', viewercount: this.viewerCount() });
  }
}
