/**
 * The control plane of live media on this node: places each live stream's router on an
 * sfu-worker, opens and ends WHIP (publisher) and WHEP (viewer) sessions, keeps stream
 * status and view counts in the database, and turns worker events (connected, closed,
 * media flowing, worker lost) into stream events for players. Holds no packets.
 */
import { randomBytes } from 'node:crypto';
import type { PeerId, RouterId, StreamId } from '../../protocol/ids.ts';
import type { PeerCloseReason, ProducerInfo, SfuEvents } from '../../protocol/sfu.ts';
import { AppError, ConflictError, NotFoundError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { StreamsRepo } from '../db/streams-repo.ts';
import type { WorkerHandle, WorkerPool } from '../sfu/worker-pool.ts';
import { WorkerRequestError } from '../sfu/worker-channel.ts';
import { StreamEvents } from './stream-events.ts';
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
  log: Logger;
}

const RETRY_AFTER_NOT_LIVE = '5';
const RETRY_AFTER_UNAVAILABLE = '2';

export class MediaService {
  readonly events = new StreamEvents();
  private readonly placements = new Map<StreamId, Placement>();
  private readonly sessions = new Map<PeerId, Session>();
  /** Streams whose publisher dropped without saying goodbye: offline when the timer fires. */
  private readonly grace = new Map<StreamId, NodeJS.Timeout>();
  private readonly publishListeners = new Set<(streamId: StreamId) => void>();
  private readonly log: Logger;

  constructor(private readonly o: MediaServiceOptions) {
    this.log = o.log;
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
      await this.closeSession(old, false);
    }
    const created = !placement;
    const p = placement ?? (await this.place(streamId));
    const id = newSessionId();
    let result;
    try {
      result = await this.call(p.worker, () => p.worker.channel.request('publish', { routerId: p.routerId, peerId: id, offer }));
    } catch (err) {
      // A refused offer must not leave an empty router behind.
      if (created && !p.publisher && p.viewers.size === 0) await this.dropPlacement(p, false);
      throw err;
    }
    const session = this.addSession(id, 'whip', p, offer);
    placement = p;
    placement.publisher = session;
    placement.producers = result.producers;
    for (const l of this.publishListeners) l(streamId);
    this.log.info({ streamId, session: id, producers: result.producers }, 'publisher session opened');
    return { session, answer: result.answer };
  }

  /** WHEP: answers a viewer's offer for a stream that is being published. */
  async view(streamId: string, offer: string): Promise<{ session: Session; answer: string }> {
    const stream = await this.o.streams.get(streamId);
    const placement = this.placements.get(stream.id as StreamId);
    if (!placement?.publisher?.connected) {
      throw new AppError('STREAM_NOT_LIVE', 'This stream is not live yet; try again in a few seconds.', { headers: { 'Retry-After': RETRY_AFTER_NOT_LIVE } });
    }
    if (placement.worker.load >= this.o.maxPeersPerWorker) {
      throw new UnavailableError('MEDIA_UNAVAILABLE', 'This stream has as many WebRTC viewers as its server can carry; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    }
    const id = newSessionId();
    const result = await this.call(placement.worker, () => placement.worker.channel.request('view', { routerId: placement.routerId, peerId: id, offer }));
    const session = this.addSession(id, 'whep', placement, offer);
    placement.viewers.set(id, session);
    return { session, answer: result.answer };
  }

  session(id: string, kind: SessionKind): Session {
    const s = this.sessions.get(id as PeerId);
    if (!s || s.kind !== kind) throw new NotFoundError('SESSION_NOT_FOUND', 'This session does not exist (it ended, or the URL is wrong).');
    return s;
  }

  /** DELETE on a session URL. Ending a WHIP session takes the stream offline. */
  async end(id: string, kind: SessionKind): Promise<void> {
    await this.closeSession(this.session(id, kind), true);
  }

  /** PATCH with an SDP fragment: trickled candidates (204) — ICE restarts are refused. */
  async trickle(id: string, kind: SessionKind, fragment: string, ifMatch: string | undefined): Promise<void> {
    const s = this.session(id, kind);
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

  /** Ends all media of a stream (owner pressed stop, or deleted it). */
  async endStream(streamId: StreamId): Promise<void> {
    const p = this.placements.get(streamId);
    this.clearGrace(streamId);
    if (p) await this.dropPlacement(p, true);
  }

  async close(): Promise<void> {
    for (const t of this.grace.values()) clearTimeout(t);
    this.grace.clear();
    for (const p of [...this.placements.values()]) await this.dropPlacement(p, true).catch(() => {});
  }

  private async place(streamId: StreamId): Promise<Placement> {
    const worker = this.o.pool.pick(this.o.maxPeersPerWorker);
    if (!worker) {
      throw new UnavailableError('MEDIA_UNAVAILABLE', 'No media worker can take this stream right now; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE } });
    }
    const routerId = `r-${streamId}-${randomBytes(4).toString('hex')}` as RouterId;
    await this.call(worker, () => worker.channel.request('createRouter', { routerId, streamId }));
    // Another request for the same stream may have placed it meanwhile: keep the first.
    const existing = this.placements.get(streamId);
    if (existing) {
      worker.channel.request('closeRouter', { routerId }).catch(() => {});
      return existing;
    }
    const placement: Placement = { streamId, routerId, worker, generation: worker.generation, publisher: undefined, viewers: new Map(), flowing: false, producers: [] };
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

  private removeSession(s: Session): void {
    if (!this.sessions.delete(s.id)) return;
    const p = s.placement;
    if (p.worker.generation === p.generation) p.worker.load = Math.max(0, p.worker.load - 1);
    if (s.kind === 'whip' && p.publisher === s) p.publisher = undefined;
    if (s.kind === 'whep' && p.viewers.delete(s.id) && s.connected) this.viewersChanged(p);
  }

  /** Ends a session from our side. `final` for a publisher: the stream goes offline now. */
  private async closeSession(s: Session, final: boolean): Promise<void> {
    this.removeSession(s);
    await s.placement.worker.channel.request('closePeer', { peerId: s.id }).catch(() => {});
    if (s.kind === 'whip' && final) {
      this.log.info({ streamId: s.streamId, session: s.id }, 'publisher ended the stream');
      await this.endStream(s.streamId);
    }
  }

  private onPeerConnected(e: SfuEvents['peerConnected']): void {
    const s = this.sessions.get(e.peerId);
    if (!s || s.connected) return;
    s.connected = true;
    const p = s.placement;
    if (s.kind === 'whip') {
      this.clearGrace(s.streamId);
      this.o.streamsRepo.markLive(s.streamId).then(
        () => this.events.emit(s.streamId, { type: 'live' }),
        (err) => this.log.error({ err, streamId: s.streamId }, 'cannot mark stream live'),
      );
      this.log.info({ streamId: s.streamId, session: s.id }, 'publisher connected');
    } else {
      this.viewersChanged(p);
      this.o.streamsRepo.addViews(s.streamId, 1).catch((err) => this.log.error({ err, streamId: s.streamId }, 'cannot count a view'));
    }
  }

  private onPeerClosed(e: SfuEvents['peerClosed']): void {
    const s = this.sessions.get(e.peerId);
    if (!s) return;
    this.log.info({ streamId: s.streamId, session: s.id, kind: s.kind, reason: e.reason, message: e.message }, 'session closed by the media plane');
    this.removeSession(s);
    if (s.kind === 'whip') this.publisherLost(s.placement, e.reason, e.message);
  }

  private onMediaFlowing(e: SfuEvents['mediaFlowing']): void {
    for (const p of this.placements.values()) {
      if (p.routerId !== e.routerId) continue;
      p.flowing = e.flowing;
      this.events.emit(p.streamId, { type: e.flowing ? 'active' : 'inactive' });
    }
  }

  /**
   * The publisher went away without DELETE (network, crash, worker lost). The stream stays
   * live for the grace period so the same encoder can come back to its viewers.
   */
  private publisherLost(p: Placement, reason: PeerCloseReason | 'worker', message: string): void {
    const streamId = p.streamId;
    this.events.emit(streamId, { type: 'inactive' });
    if (reason === 'b-frames') this.events.emit(streamId, { type: 'error', message });
    this.clearGrace(streamId);
    this.grace.set(streamId, setTimeout(() => {
      this.grace.delete(streamId);
      const current = this.placements.get(streamId);
      if (current?.publisher) return;
      this.log.info({ streamId }, 'publisher did not come back: stream offline');
      this.endStream(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot end stream'));
      if (!current) this.markOffline(streamId);
    }, this.o.reconnectGraceSeconds * 1000));
  }

  private workerLost(w: WorkerHandle, generation: number): void {
    for (const p of [...this.placements.values()]) {
      if (p.worker !== w || p.generation !== generation) continue;
      this.placements.delete(p.streamId);
      const hadPublisher = !!p.publisher;
      for (const s of [p.publisher, ...p.viewers.values()]) if (s) this.sessions.delete(s.id);
      p.viewers.clear();
      p.publisher = undefined;
      this.viewersChanged(p);
      this.log.warn({ streamId: p.streamId }, 'stream lost with its sfu-worker');
      if (hadPublisher) this.publisherLost(p, 'worker', 'the media worker restarted');
      else this.markOffline(p.streamId);
    }
  }

  private async dropPlacement(p: Placement, markOffline: boolean): Promise<void> {
    if (this.placements.get(p.streamId) !== p) return;
    this.placements.delete(p.streamId);
    for (const s of [p.publisher, ...p.viewers.values()]) if (s) this.removeSession(s);
    await p.worker.channel.request('closeRouter', { routerId: p.routerId }).catch(() => {});
    if (markOffline) this.markOffline(p.streamId);
  }

  private markOffline(streamId: StreamId): void {
    this.events.emit(streamId, { type: 'inactive' });
    this.events.emit(streamId, { type: 'offline' });
    this.o.streamsRepo.markOffline(streamId).catch((err) => this.log.error({ err, streamId }, 'cannot mark stream offline'));
  }

  private clearGrace(streamId: StreamId): void {
    const t = this.grace.get(streamId);
    if (t) clearTimeout(t);
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
