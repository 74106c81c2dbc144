/**
 * The control plane of live media on this node: the registry of its LiveStreams (each the
 * owner of its stream's state, see live-stream.ts) and the WHIP/WHEP session API on top of
 * them: authenticates stream keys, opens and ends publisher and viewer sessions, trickles
 * candidates, and admits viewers so that a flood of offers that never connect cannot crowd
 * real viewers out. Holds no packets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerId, StreamId, TransportId } from '../../protocol/ids.ts';
import type { ProducerInfo } from '../../protocol/sfu.ts';
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
  private readonly log: Logger;

  constructor(private readonly o: MediaServiceOptions) {
    this.log = o.log;
    this.pendingPerIp = new AddressSlots(o.maxPendingViewersPerIp);
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
      const live = this.streams.get(stream.id as StreamId);
      if (!live?.onAir || (!live.router && !live.inGrace)) {
        throw new AppError('STREAM_NOT_LIVE', 'This stream is not live yet; try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
      }
      if (!this.canTakeViewer()) throw this.full(live.id);
      // On the least loaded worker (through a pipe from the origin), or, when the worker lost
      // the stream while its publisher is away, on a router that waits for it.
      const { router, release } = await this.call(undefined, () => live.routerForViewer());
      try {
        const sessionId = newSessionId();
        const connectTimeoutMs = this.o.viewerConnectTimeoutSeconds * 1000;
        const result = await this.call(router.worker, () => router.createWebRtcTransport(transportIdOf(sessionId), offer, 'consume', { connectTimeoutMs })).catch((err) => {
          throw err instanceof AppError && err.code === 'MEDIA_UNAVAILABLE' && !this.canTakeViewer() ? this.full(live.id) : err;
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

  /** Called when a publisher's offer was answered: its media follows within a second (the recorder starts now). */
  onPublish(listener: (streamId: StreamId) => void): () => void {
    this.publishListeners.add(listener);
    return () => this.publishListeners.delete(listener);
  }

  /** The stream's router, when it has one on this node. */
  routerOf(streamId: StreamId): StreamRouter | undefined {
    const live = this.streams.get(streamId);
    return live?.router && !live.router.closed ? { router: live.router, producers: live.producers } : undefined;
  }

  /** Some worker of this node has room for another WebRTC viewer (by the workers' own counts). */
  canTakeViewer(): boolean {
    return this.o.pool.pick(this.o.maxPeersPerWorker) !== undefined;
  }

  /** Every worker is full: the viewer is told where the stream's LL-HLS is. */
  private full(streamId: StreamId): AppError {
    const url = this.o.hlsUrlOf?.(streamId) ?? null;
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

  sessionCounts(): { whip: number; whep: number } {
    let whip = 0;
    for (const s of this.sessions.values()) if (s.kind === 'whip') whip++;
    return { whip, whep: this.sessions.size - whip };
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
    for (const live of [...this.streams.values()]) if (live.onAir || live.router) await live.run(() => live.end()).catch(() => {});
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
        log: this.log,
        sessionRemoved: (s) => this.removeSession(s),
        viewerConnected: (s) => this.settlePending(s),
        idle: (l) => this.forget(l),
      });
      this.streams.set(id, live);
    }
    return live;
  }

  /** Drops a stream that has nothing left on this node. */
  private forget(live: LiveStream): void {
    if (this.streams.get(live.id) === live && !live.onAir && !live.router && !live.inGrace) this.streams.delete(live.id);
  }

  private addSession(id: PeerId, kind: SessionKind, live: LiveStream, transport: Session['transport'], offer: string): Session {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1] ?? '';
    const session: Session = { id, kind, streamId: live.id, live, transport, etag: `"${randomBytes(9).toString('base64url')}"`, iceUfrag: ufrag, connected: false, createdAt: Date.now() };
    this.sessions.set(id, session);
    return session;
  }

  /** Forgets a session (its stream already did); a DELETE for it still finds it in `ended` for a while. */
  private removeSession(s: Session): void {
    if (!this.sessions.delete(s.id)) return;
    this.settlePending(s);
    this.ended.add(s.id, { kind: s.kind, streamId: s.streamId, ...(s.keyHash ? { keyHash: s.keyHash } : {}) });
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
