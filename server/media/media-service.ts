/**
 * The control plane of live media on this node: places each live stream's router on an
 * sfu-worker, opens and ends WHIP (publisher) and WHEP (viewer) sessions, keeps stream
 * status and view counts in the database, and turns worker events (connected, closed,
 * media flowing, worker lost) into stream events for players. Holds no packets.
 *
 * A broadcast ends when its publisher says so: DELETE on its session, or closing its
 * connection cleanly (DTLS close_notify). When the connection *fails* (ICE, consent, media
 * timeout, worker lost) the stream is `reconnecting` for the grace period: viewers may keep
 * or take sessions and get media as soon as the publisher is back.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerId, RouterId, StreamId } from '../../protocol/ids.ts';
import type { PeerCloseReason, ProducerInfo, SfuEvents } from '../../protocol/sfu.ts';
import { AppError, AuthError, ConflictError, NotFoundError, RateLimitError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { StreamsRepo } from '../db/streams-repo.ts';
import type { WorkerHandle, WorkerPool } from '../sfu/worker-pool.ts';
import { WorkerRequestError } from '../sfu/worker-channel.ts';
import { AddressSlots } from '../http/address-slots.ts';
import { StreamEvents } from './stream-events.ts';
import { EndedSessions } from './ended-sessions.ts';
import { parseSdpFragment } from './sdp-fragment.ts';

export type SessionKind = 'whip' | 'whep';

export interface Session {
  id: PeerId;
  kind: SessionKind;
  streamId: StreamId;
  placement: Placement;
  etag: string;
  iceUfrag: string;
  connected: boolean;
  createdAt: number;
  /** WHIP: SHA-256 of the stream key that opened it; its DELETE and PATCH must present the key. */
  keyHash?: string;
  /** WHEP until connected: gives back its place among the unconnected sessions of its address. */
  releasePending?: () => void;
}

/** Where one live stream runs: its router on one worker (of one generation). */
interface Placement {
  streamId: StreamId;
  routerId: RouterId;
  worker: WorkerHandle;
  generation: number;
  publisher: Session | undefined;
  viewers: Map<PeerId, Session>;
  /** The publisher's media is arriving (false during a blip or before the first packet). */
  flowing: boolean;
  /** What the current (or last) publisher sends. */
  producers: ProducerInfo[];
}

/** Where a stream's media is, for components that attach to its router (the recorder). */
export interface RouterPlacement {
  routerId: RouterId;
  worker: WorkerHandle;
  generation: number;
  producers: ProducerInfo[];
}

export interface MediaServiceOptions {
  pool: WorkerPool;
  streams: StreamService;
  streamsRepo: StreamsRepo;
  maxPeersPerWorker: number;
  reconnectGraceSeconds: number;
  /** A viewer's ICE/DTLS must complete within this (unconnected sessions cost a slot). */
  viewerConnectTimeoutSeconds: number;
  /** Unconnected WHEP sessions one client address may hold. */
  maxPendingViewersPerIp: number;
  /** Unconnected WHEP sessions per worker; beyond it the oldest one makes room for the newest. */
  maxPendingViewersPerWorker: number;
  log: Logger;
}

/** A stream this node publishes: live, or waiting for its publisher to come back. */
type OnAir = 'live' | 'reconnecting';

interface Grace {
  timer: NodeJS.Timeout;
  /** The tracks of the publisher that is expected back (for a router made meanwhile). */
  producers: ProducerInfo[];
}

const RETRY_AFTER_NOT_LIVE = '5';
const RETRY_AFTER_UNAVAILABLE = '2';

export class MediaService {
  readonly events = new StreamEvents();
  private readonly placements = new Map<StreamId, Placement>();
  private readonly sessions = new Map<PeerId, Session>();
  private readonly onAir = new Map<StreamId, OnAir>();
  /** Streams whose publisher's connection failed: offline when the timer fires. */
  private readonly grace = new Map<StreamId, Grace>();
  private readonly ended = new EndedSessions();
  private readonly pendingPerIp: AddressSlots;
  /** Unconnected viewer sessions per worker, oldest first. */
  private readonly pendingByWorker = new Map<WorkerHandle, Set<Session>>();
  private readonly publishListeners = new Set<(streamId: StreamId) => void>();
  private readonly log: Logger;

  constructor(private readonly o: MediaServiceOptions) {
    this.log = o.log;
    this.pendingPerIp = new AddressSlots(o.maxPendingViewersPerIp);
    o.pool.on('peerConnected', (e) => this.onPeerConnected(e));
    o.pool.on('peerClosed', (e) => this.onPeerClosed(e));
    o.pool.on('mediaFlowing', (e) => this.onMediaFlowing(e));
    o.pool.onWorkerLost((w, generation) => this.workerLost(w, generation));
  }

  /**
   * WHIP: authenticates the stream key, places the stream and answers the offer.
   * `replaces` is the id of the caller's previous session of this stream (a reconnect after
   * a network blip): it is ended quietly and the new session continues the stream.
   */
  async publish(streamKey: string, offer: string, replaces?: string): Promise<{ session: Session; answer: string }> {
    const stream = await this.o.streams.findByKey(streamKey);
    if (!stream) throw new AppError('STREAM_KEY_INVALID', 'The stream key is wrong or was rotated: copy the current one from "My streams".');
    const streamId = stream.id as StreamId;
    let placement = this.placements.get(streamId);
    const old = placement?.publisher;
    if (old) {
      // Named by `replaces`, or a publisher whose media stopped (most likely the same encoder
      // reconnecting after a network blip, before its old connection timed out): the new
      // session takes over. Anyone else is a second encoder.
      const named = replaces === old.id;
      if (!named && (placement!.flowing || !old.connected)) {
        throw new ConflictError('STREAM_ALREADY_PUBLISHING', 'Another encoder is publishing this stream right now. Stop it first, or rotate the stream key.');
      }
      this.log.info({ streamId, old: old.id, named }, 'publisher replaced by a reconnecting one');
      await this.closeSession(old);
    }
    const created = !placement;
    const p = placement ?? (await this.place(streamId, this.grace.get(streamId)?.producers));
    const id = newSessionId();
    let result;
    try {
      result = await this.call(p.worker, () => p.worker.channel.request('publish', { routerId: p.routerId, peerId: id, offer }));
    } catch (err) {
      // A refused offer must not leave an empty router behind.
      if (created && !p.publisher && p.viewers.size === 0 && !this.onAir.has(streamId)) await this.dropPlacement(p);
      throw err;
    }
    const session = this.addSession(id, 'whip', p, offer);
    session.keyHash = stream.streamKeyHash;
    placement = p;
    placement.publisher = session;
    placement.producers = result.producers;
    for (const l of this.publishListeners) l(streamId);
    this.log.info({ streamId, session: id, producers: result.producers }, 'publisher session opened');
    return { session, answer: result.answer };
  }

  /**
   * WHEP: answers a viewer's offer for a stream that is live, or reconnecting (the viewer
   * then waits for the publisher's media). Unconnected sessions are capped per client address
   * and per worker, so a flood of offers that never connect cannot crowd real viewers out.
   */
  async view(streamId: string, offer: string, ip: string): Promise<{ session: Session; answer: string }> {
    const stream = await this.o.streams.get(streamId);
    const id = stream.id as StreamId;
    const grace = this.grace.get(id);
    if (!this.onAir.has(id) || (!this.placements.has(id) && !grace)) {
      throw new AppError('STREAM_NOT_LIVE', 'This stream is not live yet; try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
    }
    const releasePending = this.pendingPerIp.acquire(ip);
    if (!releasePending) {
      throw new RateLimitError('RATE_LIMITED', `Your address already has ${this.pendingPerIp.max} playback sessions that have not connected; let them connect or end them first.`, 2);
    }
    try {
      // The worker lost the stream while its publisher is away: a router that waits for it.
      const placement = this.placements.get(id) ?? (await this.place(id, grace!.producers));
      if (placement.worker.load >= this.o.maxPeersPerWorker) {
        throw new UnavailableError('MEDIA_UNAVAILABLE', 'This stream has as many WebRTC viewers as its server can carry; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
      }
      const sessionId = newSessionId();
      const connectTimeoutMs = this.o.viewerConnectTimeoutSeconds * 1000;
      const result = await this.call(placement.worker, () => placement.worker.channel.request('view', { routerId: placement.routerId, peerId: sessionId, offer, connectTimeoutMs }));
      const session = this.addSession(sessionId, 'whep', placement, offer);
      session.releasePending = releasePending;
      placement.viewers.set(sessionId, session);
      this.addPending(session);
      return { session, answer: result.answer };
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
    const live = this.sessions.get(id as PeerId);
    if (live && live.kind === kind) {
      if (kind === 'whip') this.checkStreamKey(live.keyHash, streamKey);
      await this.closeSession(live);
      if (kind === 'whip') {
        this.log.info({ streamId: live.streamId, session: live.id }, 'publisher ended the stream');
        await this.endStream(live.streamId);
      }
      return;
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
    await this.call(s.placement.worker, () => s.placement.worker.channel.request('addCandidates', { peerId: s.id, candidates: frag.candidates }));
  }

  /** Called when a publisher's offer was answered: its media follows within a second (the recorder starts now). */
  onPublish(listener: (streamId: StreamId) => void): () => void {
    this.publishListeners.add(listener);
    return () => this.publishListeners.delete(listener);
  }

  /** The stream's router, when it has one on this node. */
  placementOf(streamId: StreamId): RouterPlacement | undefined {
    const p = this.placements.get(streamId);
    return p && { routerId: p.routerId, worker: p.worker, generation: p.generation, producers: p.producers };
  }

  /** Streams placed on this node's workers. */
  liveStreamIds(): StreamId[] {
    return [...this.placements.keys()];
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
    const p = this.placements.get(streamId);
    if (!p) return 0;
    let n = 0;
    for (const v of p.viewers.values()) if (v.connected) n++;
    return n;
  }

  isActive(streamId: StreamId): boolean {
    const p = this.placements.get(streamId);
    return !!p?.publisher?.connected && p.flowing;
  }

  /** Ends all media of a stream now (its publisher said goodbye, the owner pressed stop, deleted it or rotated its key). */
  async endStream(streamId: StreamId): Promise<void> {
    this.clearGrace(streamId);
    const p = this.placements.get(streamId);
    if (p) await this.dropPlacement(p);
    if (this.onAir.delete(streamId) || p) this.markOffline(streamId);
  }

  async close(): Promise<void> {
    for (const streamId of new Set([...this.placements.keys(), ...this.onAir.keys()])) await this.endStream(streamId).catch(() => {});
  }

  private async place(streamId: StreamId, producers?: ProducerInfo[]): Promise<Placement> {
    const worker = this.o.pool.pick(this.o.maxPeersPerWorker);
    if (!worker) {
      throw new UnavailableError('MEDIA_UNAVAILABLE', 'No media worker can take this stream right now; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    }
    const routerId = `r-${streamId}-${randomBytes(4).toString('hex')}` as RouterId;
    await this.call(worker, () => worker.channel.request('createRouter', { routerId, streamId, ...(producers?.length ? { producers } : {}) }));
    // Another request for the same stream may have placed it meanwhile: keep the first.
    const existing = this.placements.get(streamId);
    if (existing) {
      worker.channel.request('closeRouter', { routerId }).catch(() => {});
      return existing;
    }
    const placement: Placement = { streamId, routerId, worker, generation: worker.generation, publisher: undefined, viewers: new Map(), flowing: false, producers: producers ?? [] };
    this.placements.set(streamId, placement);
    return placement;
  }

  private addSession(id: PeerId, kind: SessionKind, placement: Placement, offer: string): Session {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1] ?? '';
    const session: Session = { id, kind, streamId: placement.streamId, placement, etag: `"${randomBytes(9).toString('base64url')}"`, iceUfrag: ufrag, connected: false, createdAt: Date.now() };
    this.sessions.set(id, session);
    placement.worker.load++;
    return session;
  }

  /** Forgets a session (whoever ended it); a DELETE for it still finds it in `ended` for a while. */
  private removeSession(s: Session): void {
    if (!this.sessions.delete(s.id)) return;
    this.settlePending(s);
    this.ended.add(s.id, { kind: s.kind, streamId: s.streamId, ...(s.keyHash ? { keyHash: s.keyHash } : {}) });
    const p = s.placement;
    if (p.worker.generation === p.generation) p.worker.load = Math.max(0, p.worker.load - 1);
    if (s.kind === 'whip' && p.publisher === s) p.publisher = undefined;
    if (s.kind === 'whep' && p.viewers.delete(s.id) && s.connected) this.viewersChanged(p);
  }

  /** Ends a session from our side; the stream's state is the caller's business. */
  private async closeSession(s: Session): Promise<void> {
    this.removeSession(s);
    await s.placement.worker.channel.request('closePeer', { peerId: s.id }).catch(() => {});
  }

  private pendingOn(worker: WorkerHandle): Set<Session> {
    let set = this.pendingByWorker.get(worker);
    if (!set) this.pendingByWorker.set(worker, (set = new Set()));
    return set;
  }

  /** A viewer connected or went away: it no longer counts as pending. */
  private settlePending(s: Session): void {
    if (!s.releasePending) return;
    s.releasePending();
    s.releasePending = undefined;
    this.pendingByWorker.get(s.placement.worker)?.delete(s);
  }

  /**
   * Counts a new unconnected session on its worker. Beyond the worker's share the oldest
   * ones (they had the most time to connect) make room, so a new viewer always gets in while
   * a flood churns itself out.
   */
  private addPending(s: Session): void {
    const pending = this.pendingOn(s.placement.worker);
    pending.add(s);
    while (pending.size > this.o.maxPendingViewersPerWorker) {
      const oldest = pending.values().next().value!;
      pending.delete(oldest);
      this.log.info({ streamId: oldest.streamId, session: oldest.id, ageMs: Date.now() - oldest.createdAt }, 'unconnected viewer session dropped to make room');
      void this.closeSession(oldest);
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

  private onPeerConnected(e: SfuEvents['peerConnected']): void {
    const s = this.sessions.get(e.peerId);
    if (!s || s.connected) return;
    s.connected = true;
    const p = s.placement;
    if (s.kind === 'whip') {
      this.clearGrace(s.streamId);
      this.onAir.set(s.streamId, 'live');
      this.o.streamsRepo.markLive(s.streamId).then(
        () => this.events.emit(s.streamId, { type: 'live' }),
        (err) => this.log.error({ err, streamId: s.streamId }, 'cannot mark stream live'),
      );
      this.log.info({ streamId: s.streamId, session: s.id }, 'publisher connected');
    } else {
      this.settlePending(s);
      this.viewersChanged(p);
      this.o.streamsRepo.addViews(s.streamId, 1).catch((err) => this.log.error({ err, streamId: s.streamId }, 'cannot count a view'));
    }
  }

  private onPeerClosed(e: SfuEvents['peerClosed']): void {
    const s = this.sessions.get(e.peerId);
    if (!s) return;
    this.log.info({ streamId: s.streamId, session: s.id, kind: s.kind, reason: e.reason, message: e.message }, 'session closed by the media plane');
    this.removeSession(s);
    if (s.kind === 'whip') this.publisherLost(s.streamId, s.placement, e.reason, e.message);
  }

  private onMediaFlowing(e: SfuEvents['mediaFlowing']): void {
    for (const p of this.placements.values()) {
      if (p.routerId !== e.routerId) continue;
      p.flowing = e.flowing;
      this.events.emit(p.streamId, { type: e.flowing ? 'active' : 'inactive' });
    }
  }

  /**
   * The publisher's session ended without a DELETE. A clean close (DTLS close_notify) is its
   * goodbye: the broadcast ends now. A failure (network, consent, media timeout, worker
   * lost) starts the grace period: `reconnecting` until the same encoder is back, or offline.
   */
  private publisherLost(streamId: StreamId, p: Placement | undefined, reason: PeerCloseReason, message: string): void {
    if (reason === 'b-frames') this.events.emit(streamId, { type: 'error', message });
    const state = this.onAir.get(streamId);
    if (!state) {
      // It never went live (never connected): there is nothing to wait for.
      if (p && !p.publisher && p.viewers.size === 0) void this.dropPlacement(p);
      return;
    }
    if (reason === 'closed') {
      this.log.info({ streamId }, 'publisher closed its connection: the broadcast ended');
      void this.endStream(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot end stream'));
      return;
    }
    this.events.emit(streamId, { type: 'inactive' });
    if (state === 'live') {
      this.onAir.set(streamId, 'reconnecting');
      this.o.streamsRepo.markReconnecting(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot mark stream reconnecting'));
      this.events.emit(streamId, { type: 'reconnecting' });
      this.log.info({ streamId, reason, graceSeconds: this.o.reconnectGraceSeconds }, 'publisher connection lost: waiting for it to come back');
    }
    // One grace period from the first loss: failed reconnect attempts do not extend it.
    if (this.grace.has(streamId)) return;
    const producers = p?.producers ?? [];
    const timer = setTimeout(() => {
      this.grace.delete(streamId);
      if (this.placements.get(streamId)?.publisher?.connected) return;
      this.log.info({ streamId }, 'publisher did not come back: stream offline');
      this.endStream(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot end stream'));
    }, this.o.reconnectGraceSeconds * 1000);
    this.grace.set(streamId, { timer, producers });
  }

  private workerLost(w: WorkerHandle, generation: number): void {
    this.pendingByWorker.delete(w);
    for (const p of [...this.placements.values()]) {
      if (p.worker !== w || p.generation !== generation) continue;
      this.placements.delete(p.streamId);
      for (const s of [p.publisher, ...p.viewers.values()]) if (s) this.removeSession(s);
      this.viewersChanged(p);
      this.log.warn({ streamId: p.streamId }, 'stream lost with its sfu-worker');
      if (this.onAir.has(p.streamId)) this.publisherLost(p.streamId, p, 'worker', 'the media worker restarted');
    }
  }

  private async dropPlacement(p: Placement): Promise<void> {
    if (this.placements.get(p.streamId) !== p) return;
    this.placements.delete(p.streamId);
    for (const s of [p.publisher, ...p.viewers.values()]) if (s) this.removeSession(s);
    await p.worker.channel.request('closeRouter', { routerId: p.routerId }).catch(() => {});
  }

  private markOffline(streamId: StreamId): void {
    this.events.emit(streamId, { type: 'inactive' });
    this.events.emit(streamId, { type: 'offline' });
    this.o.streamsRepo.markOffline(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot mark stream offline'));
  }

  private clearGrace(streamId: StreamId): void {
    const g = this.grace.get(streamId);
    if (g) clearTimeout(g.timer);
    this.grace.delete(streamId);
  }

  private viewersChanged(p: Placement): void {
    this.events.emit(p.streamId, { type: 'viewercount', viewercount: this.viewerCount(p.streamId) });
  }

  /** Runs a worker request, mapping its failures to HTTP errors. */
  private async call<T>(worker: WorkerHandle, run: () => Promise<T>): Promise<T> {
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
        case 'PEER_NOT_FOUND':
          throw new NotFoundError('SESSION_NOT_FOUND', 'This session does not exist anymore.');
        case 'BAD_REQUEST':
          throw new AppError('SDP_MALFORMED', err.message);
        case 'WORKER_FULL':
        case 'TIMEOUT':
        case 'CHANNEL_CLOSED':
        case 'ROUTER_NOT_FOUND':
          this.log.warn({ worker: worker.id, code: err.code, err: err.message }, 'media worker could not take the request');
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
