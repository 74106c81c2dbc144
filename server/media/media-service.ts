/**
 * The control plane of live media on this node: the registry of its LiveStreams (each the
 * owner of its stream's state, see live-stream.ts) and the WHIP/WHEP session API on top of
 * them: authenticates stream keys, opens and ends publisher and viewer sessions, trickles
 * candidates, and admits viewers so that a flood of offers that never connect cannot crowd
 * real viewers out. A viewer of a stream published on another node is served here through
 * one pipe from that node (found in the cluster directory); other nodes ask this one for
 * pipes of the streams published here. Holds no packets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId, PeerId, StreamId, TransportId } from '../../protocol/ids.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { LayerPreferences, LayerState, ProducerInfo } from '../../protocol/sfu.ts';
import { AppError, AuthError, ConflictError, NotFoundError, RateLimitError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { RouterHandle, WorkerHandle } from '../sfu/worker-handle.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import { WorkerRequestError } from '../sfu/worker-channel.ts';
import { AddressSlots } from '../http/address-slots.ts';
import { StreamEvents } from './stream-events.ts';
import { EndedSessions } from './ended-sessions.ts';
import { LiveStream, RETRY_AFTER_UNAVAILABLE, type Session, type SessionKind } from './live-stream.ts';
import { parseSdpFragment } from './sdp-fragment.ts';

export type { Session, SessionKind };

/** Where a stream's media is, for components that attach to its router (the recorder). */
export interface StreamRouter {
  router: RouterHandle;
  producers: ProducerInfo[];
}

export interface MediaServiceOptions {
  pool: WorkerPool;
  streams: StreamService;
  cluster: Cluster;
  bus: Bus;
  maxPeersPerWorker: number;
  reconnectGraceSeconds: number;
  /** A viewer's ICE/DTLS must complete within this (unconnected sessions cost a slot). */
  viewerConnectTimeoutSeconds: number;
  /** Unconnected WHEP sessions one client address may hold. */
  maxPendingViewersPerIp: number;
  /** Unconnected WHEP sessions per worker; beyond it the oldest one makes room for the newest. */
  maxPendingViewersPerWorker: number;
  /** The stream's live LL-HLS playlist while it is recorded (named to viewers WebRTC cannot take). */
  hlsUrlOf?: (streamId: StreamId) => string | null;
  log: Logger;
}

const RETRY_AFTER_NOT_LIVE = '5';
/** A viewer turned to LL-HLS by a full node tries WebRTC again after this long (it polls, it does not hammer). */
const RETRY_AFTER_FULL = '15';

export class MediaService {
  readonly events = new StreamEvents();
  private readonly streams = new Map<StreamId, LiveStream>();
  private readonly sessions = new Map<PeerId, Session>();
  private readonly ended = new EndedSessions();
  private readonly pendingPerIp: AddressSlots;
  /** Unconnected viewer sessions per worker, oldest first. */
  private readonly pendingByWorker = new Map<WorkerHandle, Set<Session>>();
  private readonly publishListeners = new Set<(streamId: StreamId) => void>();
  private readonly handOverListeners = new Set<(streamId: StreamId) => void>();
  private readonly log: Logger;
  private subscription: Subscription | undefined;
  private forgetNodeGone: (() => void) | undefined;

  constructor(private readonly o: MediaServiceOptions) {
    this.log = o.log;
    this.pendingPerIp = new AddressSlots(o.maxPendingViewersPerIp);
  }

  /** Listens for pipes that other nodes closed, and for nodes that left the cluster. */
  async start(): Promise<void> {
    this.subscription = await this.o.bus.subscribe('stream.pipe', '*', (e, key) => {
      if (e.node !== this.o.cluster.id) return;
      this.streams.get(key as StreamId)?.pipeClosedByOrigin(e.pipeId, e.reason);
    });
    this.forgetNodeGone = this.o.cluster.onNodeGone((node) => {
      for (const live of this.streams.values()) if (live.pipes.size > 0) void live.run(() => live.nodeGone(node)).catch(() => {});
    });
  }

  /**
   * WHIP: authenticates the stream key, places the stream and answers the offer.
   * `replaces` is the id of the caller's previous session of this stream (a reconnect after
   * a network blip): it is ended quietly and the new session continues the stream.
   */
  async publish(streamKey: string, offer: string, replaces?: string): Promise<{ session: Session; answer: string }> {
    const stream = await this.o.streams.findByKey(streamKey);
    if (!stream) throw new AppError('STREAM_KEY_INVALID', 'The stream key is wrong or was rotated: copy the current one from "My streams".');
    const live = this.liveStream(stream.id as StreamId);
    return live.run(async () => {
      if (!live.publisher) await this.refuseIfPublishedElsewhere(live.id);
      if (live.isEdge) await live.becomeOrigin();
      const old = live.publisher;
      if (old) {
        // Named by `replaces`, or a publisher whose media stopped (most likely the same encoder
        // reconnecting after a network blip, before its old connection timed out): the new
        // session takes over. Anyone else is a second encoder.
        const named = replaces === old.id;
        if (!named && (live.flowing || !old.connected)) {
          throw new ConflictError('STREAM_ALREADY_PUBLISHING', 'Another encoder is publishing this stream right now. Stop it first, or rotate the stream key.');
        }
        this.log.info({ streamId: live.id, old: old.id, named }, 'publisher replaced by a reconnecting one');
        await live.closeSession(old);
      }
      const created = !live.router;
      const router = await this.call(undefined, () => live.ensureRouter());
      const id = newSessionId();
      let result;
      try {
        result = await this.call(router.worker, () => router.createWebRtcTransport(transportIdOf(id), offer, 'produce'));
      } catch (err) {
        // A refused offer must not leave an empty router behind.
        if (created && !live.publisher && live.viewers.size === 0 && !live.onAir) await live.end();
        throw err;
      }
      const session = this.addSession(id, 'whip', live, result.transport, offer);
      session.keyHash = stream.streamKeyHash;
      live.adopt(session);
      await live.setProducers(result.producers);
      for (const l of this.publishListeners) l(live.id);
      this.log.info({ streamId: live.id, session: id, producers: result.producers }, 'publisher session opened');
      return { session, answer: result.answer };
    });
  }

  /**
   * WHEP: answers a viewer's offer for a stream that is live, or reconnecting (the viewer
   * then waits for the publisher's media). Unconnected sessions are capped per client address
   * and per worker, so a flood of offers that never connect cannot crowd real viewers out.
   */
  async view(streamId: string, offer: string, ip: string): Promise<{ session: Session; answer: string }> {
    // The address's share first: a flood is refused before it costs a database query.
    const releasePending = this.pendingPerIp.acquire(ip);
    if (!releasePending) {
      throw new RateLimitError('RATE_LIMITED', `Your address already has ${this.pendingPerIp.max} playback sessions that have not connected; let them connect or end them first.`, 2);
    }
    try {
      const stream = await this.o.streams.get(streamId);
      const live = await this.liveForViewer(stream.id as StreamId);
      if (!this.canTakeViewer()) throw await this.full(live.id);
      // On the least loaded worker (through a pipe from the origin), or, when the worker lost
      // the stream while its publisher is away, on a router that waits for it.
      const { router, release } = await this.call(undefined, () => live.routerForViewer());
      try {
        const sessionId = newSessionId();
        const connectTimeoutMs = this.o.viewerConnectTimeoutSeconds * 1000;
        const result = await this.call(router.worker, () => router.createWebRtcTransport(transportIdOf(sessionId), offer, 'consume', { connectTimeoutMs })).catch(async (err) => {
          throw err instanceof AppError && err.code === 'MEDIA_UNAVAILABLE' && !this.canTakeViewer() ? await this.full(live.id) : err;
        });
        if (!live.carries(router)) {
          void result.transport.close();
          throw new UnavailableError('MEDIA_UNAVAILABLE', 'The media server is restarting; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
        }
        const session = this.addSession(sessionId, 'whep', live, result.transport, offer);
        session.releasePending = releasePending;
        live.adopt(session);
        this.addPending(session);
        return { session, answer: result.answer };
      } finally {
        release();
      }
    } catch (err) {
      releasePending();
      throw err;
    }
  }

  /**
   * A pipe to another node (an internal request from it): the origin end on one of this node's
   * workers, answering that node's offer. 409 when the stream is not published here.
   */
  async openPipe(streamId: string, offer: string, node: NodeId): Promise<{ session: Session; answer: string }> {
    const live = this.streams.get(streamId as StreamId);
    if (!live?.onAir || live.isEdge) {
      throw new AppError('STREAM_NOT_LIVE', 'This stream is not published on this node (the directory may be a heartbeat behind).', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
    }
    let answer = '';
    const session = await this.call(undefined, () =>
      live.openPipe(node, async (router) => {
        const id = newSessionId();
        const result = await this.call(router.worker, () => router.createWebRtcTransport(transportIdOf(id), offer, 'consume', { pipe: true }));
        if (!live.carries(router)) {
          void result.transport.close();
          throw new UnavailableError('MEDIA_UNAVAILABLE', 'The media server is restarting; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
        }
        answer = result.answer;
        return this.addSession(id, 'pipe', live, result.transport, offer);
      }),
    );
    this.log.info({ streamId: live.id, pipe: session.id, node, worker: session.transport.router.worker.index }, 'pipe to another node opened');
    return { session, answer };
  }

  /**
   * Another node took this stream's encoder, which this node lost (it is `reconnecting` here):
   * the stream moves there without going offline. 409 when the encoder is back here.
   */
  async handOver(streamId: string): Promise<void> {
    const live = this.streams.get(streamId as StreamId);
    if (!live?.onAir) return;
    await live.run(() => live.handOver());
    for (const l of this.handOverListeners) l(live.id);
  }

  /** A stream published here moved to another node (its recording ends here; the new origin records). */
  onHandOver(listener: (streamId: StreamId) => void): () => void {
    this.handOverListeners.add(listener);
    return () => this.handOverListeners.delete(listener);
  }

  /** The edge that asked for a pipe no longer wants it. */
  async closePipe(id: string, node: NodeId): Promise<void> {
    const s = this.sessions.get(id as PeerId);
    if (!s || s.kind !== 'pipe' || s.node !== node) throw new NotFoundError('SESSION_NOT_FOUND', 'No pipe to your node has this id.');
    await s.live.closeSession(s, 'closed by the edge');
  }

  session(id: string, kind: SessionKind): Session {
    const s = this.sessions.get(id as PeerId);
    if (!s || s.kind !== kind) throw new NotFoundError('SESSION_NOT_FOUND', 'This session does not exist (it ended, or the URL is wrong).');
    return s;
  }

  /**
   * DELETE on a session URL. Ending a WHIP session ends the broadcast; it needs the stream
   * key it was opened with, as the POST did. A session that ended moments ago is gone as
   * asked: 200, not 404.
   */
  async end(id: string, kind: SessionKind, streamKey: string | undefined): Promise<void> {
    const open = this.sessions.get(id as PeerId);
    if (open && open.kind === kind) {
      if (kind === 'whip') this.checkStreamKey(open.keyHash, streamKey);
      const live = open.live;
      if (kind === 'whep') return live.closeSession(open);
      return live.run(async () => {
        await live.closeSession(open);
        this.log.info({ streamId: open.streamId, session: open.id }, 'publisher ended the stream');
        await live.end();
      });
    }
    const gone = this.ended.get(id as PeerId);
    if (!gone || gone.kind !== kind) throw new NotFoundError('SESSION_NOT_FOUND', 'This session does not exist (it ended, or the URL is wrong).');
    if (kind === 'whip') this.checkStreamKey(gone.keyHash, streamKey);
  }

  /** PATCH with an SDP fragment: trickled candidates (204) — ICE restarts are refused. */
  async trickle(id: string, kind: SessionKind, fragment: string, ifMatch: string | undefined, streamKey: string | undefined): Promise<void> {
    const s = this.session(id, kind);
    if (kind === 'whip') this.checkStreamKey(s.keyHash, streamKey);
    const frag = parseSdpFragment(fragment);
    if (!frag.ok) throw new AppError('SDP_MALFORMED', `The SDP fragment cannot be parsed: ${frag.reason}.`);
    const restart = ifMatch === '*' || (frag.iceUfrag !== undefined && frag.iceUfrag !== s.iceUfrag);
    if (restart) throw new AppError('ICE_RESTART_UNSUPPORTED', 'ICE restarts are not supported: end this session and POST a new offer.');
    if (ifMatch !== undefined && ifMatch !== s.etag) throw new AppError('PRECONDITION_FAILED', 'If-Match does not match this session\'s ETag.');
    if (frag.candidates.length === 0) return;
    await this.call(s.transport.router.worker, () => s.transport.addCandidates(frag.candidates));
  }

  /**
   * A WHEP viewer says what it is like (its player's width in device pixels, a quality it
   * chose); with simulcast it gets the smallest layer that suits it. Answers the layers.
   */
  async setViewerLayers(id: string, prefs: LayerPreferences): Promise<LayerState | null> {
    const s = this.session(id, 'whep');
    return this.call(s.transport.router.worker, () => s.transport.setLayerPreferences(prefs));
  }

  /** Called when a publisher's offer was answered: its media follows within a second (the recorder starts now). */
  onPublish(listener: (streamId: StreamId) => void): () => void {
    this.publishListeners.add(listener);
    return () => this.publishListeners.delete(listener);
  }

  /** The stream's router when it is published on this node (an edge's is fed from elsewhere). */
  routerOf(streamId: StreamId): StreamRouter | undefined {
    const live = this.streams.get(streamId);
    return live?.router && !live.router.closed && !live.isEdge ? { router: live.router, producers: live.producers } : undefined;
  }

  /** The stream's live LL-HLS playlist, when it is recorded (here, or on its origin node: any node answers it). */
  async hlsUrl(streamId: StreamId): Promise<string | null> {
    const local = this.o.hlsUrlOf?.(streamId) ?? null;
    if (local) return local;
    const here = this.streams.get(streamId);
    if (here?.onAir) return null; // published here, not recorded
    const origin = here?.upstream?.origin ?? (await this.o.cluster.originOf(streamId).catch(() => undefined));
    return origin?.hls && origin.node !== this.o.cluster.id ? `/hls/${streamId}/master.m3u8` : null;
  }

  /** Some worker of this node has room for another WebRTC viewer (by the workers' own counts). */
  canTakeViewer(): boolean {
    return this.o.pool.pick(this.o.maxPeersPerWorker) !== undefined;
  }

  /** Every worker is full: the viewer is told where the stream's LL-HLS is. */
  private async full(streamId: StreamId): Promise<AppError> {
    const url = await this.hlsUrl(streamId);
    return new UnavailableError(
      'WEBRTC_FULL',
      url
        ? 'This stream has as many WebRTC viewers as the server can carry: watch it over LL-HLS (a second or two of delay) until there is room.'
        : 'This stream has as many WebRTC viewers as the server can carry; try again shortly.',
      { headers: { 'Retry-After': RETRY_AFTER_FULL }, hls: url ? { url } : null },
    );
  }

  /** Streams with a router on this node's workers. */
  liveStreamIds(): StreamId[] {
    return [...this.streams.values()].filter((l) => l.router).map((l) => l.id);
  }

  sessionCounts(): { whip: number; whep: number; pipe: number } {
    const n = { whip: 0, whep: 0, pipe: 0 };
    for (const s of this.sessions.values()) n[s.kind]++;
    return n;
  }

  hasSession(id: PeerId): boolean {
    return this.sessions.has(id);
  }

  /** Current WebRTC viewers of a stream on this node. */
  viewerCount(streamId: StreamId): number {
    return this.streams.get(streamId)?.viewerCount() ?? 0;
  }

  isActive(streamId: StreamId): boolean {
    return !!this.streams.get(streamId)?.isActive;
  }

  /**
   * Ends all media of a stream on this node now (the owner pressed stop, deleted it or rotated
   * its key) and marks it offline when it is still on air.
   */
  async endStream(streamId: StreamId): Promise<void> {
    const live = this.liveStream(streamId);
    await live.run(() => live.end());
  }

  /** The owner marked the stream live by hand (no media): its status and a `live` event. */
  async startByHand(streamId: StreamId): Promise<void> {
    const live = this.liveStream(streamId);
    await live.run(() => live.startByHand());
  }

  async close(): Promise<void> {
    this.forgetNodeGone?.();
    await this.subscription?.unsubscribe().catch(() => {});
    for (const live of [...this.streams.values()]) if (live.onAir || live.router) await live.run(() => live.end()).catch(() => {});
  }

  /**
   * The stream a viewer joins here: published on this node (live, or reconnecting), carried here
   * already (an edge), or published on another node (this node becomes an edge for it).
   */
  private async liveForViewer(id: StreamId): Promise<LiveStream> {
    const here = this.streams.get(id);
    if (here?.onAir && (here.router || here.inGrace)) return here;
    if (here?.isEdge && here.router) return here;
    const origin = await this.o.cluster.originOf(id);
    if (!origin || origin.node === this.o.cluster.id) {
      throw new AppError('STREAM_NOT_LIVE', 'This stream is not live yet; try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
    }
    const live = this.liveStream(id);
    // Not queued (it awaits nothing): a queued task that ran alone would leave the stream idle,
    // and the registry would forget it before the viewer's join.
    live.becomeEdge(origin);
    return live;
  }

  /**
   * A second encoder on another node of the cluster gets the same conflict as one on this node.
   * The stream's own encoder coming back through this node (the origin lost it: `reconnecting`)
   * takes the stream over: the origin lets it go without ending it.
   */
  private async refuseIfPublishedElsewhere(id: StreamId): Promise<void> {
    // The directory away: publish here; this node's heartbeat claims the stream when it is back.
    const origin = await this.o.cluster.originOf(id).catch(() => undefined);
    if (!origin || origin.node === this.o.cluster.id) return;
    const node = await this.o.cluster.node(origin.node).catch(() => undefined);
    if (!node) return; // its node is gone: this node takes the stream over
    if (origin.status === 'reconnecting') {
      await this.o.cluster.requestHandOver(origin);
      this.log.info({ streamId: id, from: origin.node }, 'the encoder came back through this node: the stream moved here');
      return;
    }
    throw new ConflictError('STREAM_ALREADY_PUBLISHING', `Another encoder is publishing this stream through node ${origin.node} right now. Stop it first, or rotate the stream key.`);
  }

  private liveStream(id: StreamId): LiveStream {
    let live = this.streams.get(id);
    if (!live) {
      live = new LiveStream(id, {
        pool: this.o.pool,
        streams: this.o.streams,
        events: this.events,
        maxPeersPerWorker: this.o.maxPeersPerWorker,
        reconnectGraceSeconds: this.o.reconnectGraceSeconds,
        cluster: this.o.cluster,
        log: this.log,
        sessionRemoved: (s, reason) => this.removeSession(s, reason),
        viewerConnected: (s) => this.settlePending(s),
        idle: (l) => this.forget(l),
      });
      this.streams.set(id, live);
    }
    return live;
  }

  /** Drops a stream that has nothing left on this node. */
  private forget(live: LiveStream): void {
    if (this.streams.get(live.id) === live && !live.onAir && !live.router && !live.inGrace) {
      this.streams.delete(live.id);
      void live.upstream?.close();
    }
  }

  private addSession(id: PeerId, kind: SessionKind, live: LiveStream, transport: Session['transport'], offer: string): Session {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1] ?? '';
    const session: Session = { id, kind, streamId: live.id, live, transport, etag: `"${randomBytes(9).toString('base64url')}"`, iceUfrag: ufrag, connected: false, createdAt: Date.now() };
    this.sessions.set(id, session);
    return session;
  }

  /** Forgets a session (its stream already did); a DELETE for it still finds it in `ended` for a while. A pipe's edge is told. */
  private removeSession(s: Session, reason: string): void {
    if (!this.sessions.delete(s.id)) return;
    this.settlePending(s);
    if (s.kind === 'pipe' && s.node && reason !== 'closed by the edge') {
      this.o.bus.publish('stream.pipe', s.streamId, { streamId: s.streamId, pipeId: s.id, node: s.node, reason }).catch((err) => this.log.warn({ err: (err as Error).message, pipe: s.id }, 'cannot tell an edge node its pipe closed (it notices the peer leave)'));
    }
    if (s.kind !== 'pipe') this.ended.add(s.id, { kind: s.kind, streamId: s.streamId, ...(s.keyHash ? { keyHash: s.keyHash } : {}) });
  }

  private pendingOn(worker: WorkerHandle): Set<Session> {
    let set = this.pendingByWorker.get(worker);
    if (!set) {
      this.pendingByWorker.set(worker, (set = new Set()));
      worker.onClose(() => this.pendingByWorker.delete(worker));
    }
    return set;
  }

  /** A viewer connected or went away: it no longer counts as pending. */
  private settlePending(s: Session): void {
    if (!s.releasePending) return;
    s.releasePending();
    s.releasePending = undefined;
    this.pendingByWorker.get(s.transport.router.worker)?.delete(s);
  }

  /**
   * Counts a new unconnected session on its worker. Beyond the worker's share the oldest
   * ones (they had the most time to connect) make room, so a new viewer always gets in while
   * a flood churns itself out.
   */
  private addPending(s: Session): void {
    const pending = this.pendingOn(s.transport.router.worker);
    pending.add(s);
    while (pending.size > this.o.maxPendingViewersPerWorker) {
      const oldest = pending.values().next().value!;
      pending.delete(oldest);
      this.log.info({ streamId: oldest.streamId, session: oldest.id, ageMs: Date.now() - oldest.createdAt }, 'unconnected viewer session dropped to make room');
      void oldest.live.closeSession(oldest);
    }
  }

  private checkStreamKey(keyHash: string | undefined, streamKey: string | undefined): void {
    const given = streamKey ? Buffer.from(this.o.streams.keyHash(streamKey)) : undefined;
    const wanted = Buffer.from(keyHash ?? '');
    if (!given || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new AuthError('STREAM_KEY_INVALID', 'A WHIP session URL needs the stream key it was opened with (Authorization: Bearer <stream key>).', {
        headers: { 'WWW-Authenticate': 'Bearer realm="glint-whip"' },
      });
    }
  }

  /** Runs a worker request, mapping its failures to HTTP errors. */
  private async call<T>(worker: WorkerHandle | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof WorkerRequestError)) throw err;
      switch (err.code) {
        case 'SDP_MALFORMED':
          throw new AppError('SDP_MALFORMED', `The SDP offer is malformed: ${err.message}.`);
        case 'SDP_UNSUPPORTED':
          throw new AppError('SDP_UNSUPPORTED', `The offer cannot be accepted: ${err.message}.`);
        case 'ALREADY_PUBLISHING':
          throw new ConflictError('STREAM_ALREADY_PUBLISHING', 'Another encoder is publishing this stream right now.');
        case 'NOT_PUBLISHING':
          throw new AppError('STREAM_NOT_LIVE', 'This stream is not live yet; try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
        case 'TRANSPORT_NOT_FOUND':
          throw new NotFoundError('SESSION_NOT_FOUND', 'This session does not exist anymore.');
        case 'BAD_REQUEST':
          throw new AppError('SDP_MALFORMED', err.message);
        case 'WORKER_FULL':
          throw new UnavailableError('MEDIA_UNAVAILABLE', 'This stream has as many WebRTC viewers as its server can carry; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
        case 'TIMEOUT':
        case 'CHANNEL_CLOSED':
        case 'ROUTER_NOT_FOUND':
          this.log.warn({ worker: worker?.index, code: err.code, err: err.message }, 'media worker could not take the request');
          throw new UnavailableError('MEDIA_UNAVAILABLE', 'The media server is busy or restarting; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
        default:
          throw err;
      }
    }
  }
}

function newSessionId(): PeerId {
  return randomBytes(16).toString('base64url') as PeerId;
}

/** A WebRTC session's transport has the session's id. */
function transportIdOf(id: PeerId): TransportId {
  return id as string as TransportId;
}
