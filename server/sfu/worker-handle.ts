/**
 * The server's handles on what lives in one sfu-worker process, in the manner of mediasoup's
 * Node layer: a WorkerHandle per process (a restarted worker is a new one), the RouterHandles
 * made on it, and their transports. Each handle owns its id, its `close()` and its events;
 * worker events are routed to the handle they are addressed to. When the process exits, its
 * routers close with reason `worker` (their transports close with them, quietly: the
 * router's `close` event says it).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { RouterId, StreamId, TransportId } from '../../protocol/ids.ts';
import type { ConsumerInfo, LayerPreferences, LayerState, MediaKind, ProducerInfo, SfuEvents, TransportCloseReason, WorkerLoad, WorkerStats } from '../../protocol/sfu.ts';
import { WorkerChannel } from './worker-channel.ts';

/** Listeners of one event. */
class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();
  add(l: (...args: A) => void): () => void {
    this.set.add(l);
    return () => this.set.delete(l);
  }
  emit(...args: A): void {
    for (const l of [...this.set]) l(...args);
  }
}

export type RouterCloseReason = 'worker';

export class WorkerHandle {
  readonly channel: WorkerChannel;
  /** The worker accepts requests (its `ready` came, it has not exited). */
  ready = false;
  closed = false;
  /** The worker's latest pushed counters; undefined until the first. */
  stats: WorkerStats | undefined;
  /** WebRTC transports open on it, as the worker last reported (responses, events and stats). */
  load = 0;
  private readonly routers = new Map<RouterId, RouterHandle>();
  private readonly transports = new Map<TransportId, WebRtcTransportHandle>();
  private readonly closeListeners = new Listeners<[]>();

  constructor(
    /** The worker's slot on this node (0 … RTC_WORKERS-1), kept by its restarts. */
    readonly index: number,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    this.channel = new WorkerChannel(child);
    this.channel.on('stats', (s) => {
      this.stats = s;
      this.load = s.peers;
    });
    this.channel.on('transportConnected', (e) => this.transports.get(e.transportId)?.connected());
    this.channel.on('transportClosed', (e) => {
      this.load = e.load.peers;
      this.transports.get(e.transportId)?.closedByWorker(e);
    });
    this.channel.on('mediaFlowing', (e) => this.routers.get(e.routerId)?.mediaFlowing(e.flowing));
  }

  /** A router for a stream; `producers`: the tracks of a publisher that is expected back. */
  async createRouter(streamId: StreamId, producers?: ProducerInfo[]): Promise<RouterHandle> {
    const routerId = `r-${streamId}-${randomBytes(4).toString('hex')}` as RouterId;
    await this.channel.request('createRouter', { routerId, streamId, ...(producers?.length ? { producers } : {}) });
    const router = new RouterHandle(routerId, streamId, this);
    if (this.closed) {
      router.workerClosed();
      return router;
    }
    this.routers.set(routerId, router);
    return router;
  }

  onClose(listener: () => void): () => void {
    return this.closeListeners.add(listener);
  }

  /** The process exited: everything on it is gone. */
  workerClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.load = 0;
    this.channel.close(reason);
    for (const r of [...this.routers.values()]) r.workerClosed();
    this.closeListeners.emit();
  }

  /** @internal bookkeeping of the handles made on this worker */
  track(t: WebRtcTransportHandle): void {
    this.transports.set(t.id, t);
  }
  /** @internal */
  untrack(t: WebRtcTransportHandle | RouterHandle): void {
    if (t instanceof RouterHandle) this.routers.delete(t.id);
    else this.transports.delete(t.id);
  }
  /** @internal */
  setLoad(load: WorkerLoad): void {
    this.load = load.peers;
  }
}

export class RouterHandle {
  closed = false;
  private readonly transports = new Set<WebRtcTransportHandle | LocalTransportHandle>();
  private readonly flowingListeners = new Listeners<[boolean]>();
  private readonly closeListeners = new Listeners<[RouterCloseReason]>();

  constructor(
    readonly id: RouterId,
    readonly streamId: StreamId,
    readonly worker: WorkerHandle,
  ) {}

  /**
   * A WebRTC transport negotiated from a client's offer: `produce` for a publisher, whose
   * tracks become the router's producers; `consume` for a viewer.
   */
  async createWebRtcTransport(
    id: TransportId,
    offer: string,
    role: 'produce' | 'consume',
    o: { connectTimeoutMs?: number; pipe?: boolean } = {},
  ): Promise<{ transport: WebRtcTransportHandle; answer: string; producers: ProducerInfo[] }> {
    const transport = new WebRtcTransportHandle(id, this);
    // Tracked before the request: its events may arrive right behind the response.
    this.worker.track(transport);
    this.transports.add(transport);
    try {
      const res = await this.worker.channel.request('createWebRtcTransport', {
        routerId: this.id, transportId: id, offer, role, ...(o.connectTimeoutMs ? { connectTimeoutMs: o.connectTimeoutMs } : {}), ...(o.pipe ? { pipe: true } : {}),
      });
      this.worker.setLoad(res.load);
      if (this.closed) transport.routerClosed();
      return { transport, answer: res.answer, producers: res.producers };
    } catch (err) {
      transport.routerClosed();
      throw err;
    }
  }

  /**
   * The far end of a pipe from this stream's router on another node: it feeds this router's
   * producers (`producers`, as the origin has them). Send `offer` to the origin, then connect
   * the answer; `connected` / `close` follow as for any WebRTC transport.
   */
  async createWebRtcPipe(id: TransportId, producers: ProducerInfo[]): Promise<{ transport: WebRtcPipeHandle; offer: string }> {
    const transport = new WebRtcPipeHandle(id, this);
    this.worker.track(transport);
    this.transports.add(transport);
    try {
      const { offer } = await this.worker.channel.request('createWebRtcPipe', { routerId: this.id, transportId: id, producers });
      if (this.closed) transport.routerClosed();
      return { transport, offer };
    } catch (err) {
      transport.routerClosed();
      throw err;
    }
  }

  /** Plain RTP out to host:port (a recorder); consumers are added on it. Re-using an id re-points it. */
  async createPlainTransport(id: TransportId, host: string, port: number): Promise<PlainTransportHandle> {
    await this.worker.channel.request('createPlainTransport', { routerId: this.id, transportId: id, host, port });
    const transport = new PlainTransportHandle(id, this);
    this.transports.add(transport);
    if (this.closed) transport.routerClosed();
    return transport;
  }

  /** One end of a pipe to another router of the stream on this node, bound on `host` (loopback). */
  async createPipeTransport(id: TransportId, host: string): Promise<PipeTransportHandle> {
    const { port } = await this.worker.channel.request('createPipeTransport', { routerId: this.id, transportId: id, host });
    const transport = new PipeTransportHandle(id, this, host, port);
    this.transports.add(transport);
    if (this.closed) transport.routerClosed();
    return transport;
  }

  requestKeyframe(): Promise<void> {
    return this.worker.channel.request('requestKeyframe', { routerId: this.id }).then(() => undefined);
  }

  onMediaFlowing(listener: (flowing: boolean) => void): () => void {
    return this.flowingListeners.add(listener);
  }

  /** It closed underneath its owner (its worker exited); not after close(). */
  onClose(listener: (reason: RouterCloseReason) => void): () => void {
    return this.closeListeners.add(listener);
  }

  /** Closes it and everything on it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.end();
    const res = await this.worker.channel.request('closeRouter', { routerId: this.id }).catch(() => undefined);
    if (res) this.worker.setLoad(res.load);
  }

  /** @internal */
  mediaFlowing(flowing: boolean): void {
    if (!this.closed) this.flowingListeners.emit(flowing);
  }
  /** @internal */
  workerClosed(): void {
    if (this.closed) return;
    this.end();
    this.closeListeners.emit('worker');
  }
  /** @internal */
  forget(t: WebRtcTransportHandle | LocalTransportHandle): void {
    this.transports.delete(t);
  }

  private end(): void {
    this.closed = true;
    for (const t of [...this.transports]) t.routerClosed();
    this.worker.untrack(this);
  }
}

export class WebRtcTransportHandle {
  closed = false;
  private readonly connectedListeners = new Listeners<[]>();
  private readonly closeListeners = new Listeners<[TransportCloseReason, string]>();

  constructor(
    readonly id: TransportId,
    readonly router: RouterHandle,
  ) {}

  addCandidates(candidates: Array<{ candidate: string; mid: string }>): Promise<{ added: number }> {
    return this.router.worker.channel.request('addCandidates', { transportId: this.id, candidates });
  }

  /** A viewer of a simulcast stream: what it is like; answers its layers (null without simulcast). */
  async setLayerPreferences(prefs: LayerPreferences): Promise<LayerState | null> {
    return (await this.router.worker.channel.request('setLayerPreferences', { transportId: this.id, ...prefs })).layers;
  }

  /** ICE and DTLS completed. */
  onConnected(listener: () => void): () => void {
    return this.connectedListeners.add(listener);
  }

  /** It ended on the worker's side (failure, timeout, the peer's goodbye); not after close(). */
  onClose(listener: (reason: TransportCloseReason, message: string) => void): () => void {
    return this.closeListeners.add(listener);
  }

  /** Ends it (no close event). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.end();
    const res = await this.router.worker.channel.request('closeTransport', { transportId: this.id }).catch(() => undefined);
    if (res) this.router.worker.setLoad(res.load);
  }

  /** @internal */
  connected(): void {
    if (!this.closed) this.connectedListeners.emit();
  }
  /** @internal */
  closedByWorker(e: SfuEvents['transportClosed']): void {
    if (this.closed) return;
    this.end();
    this.closeListeners.emit(e.reason, e.message);
  }
  /** @internal its router or worker closed: quietly */
  routerClosed(): void {
    if (!this.closed) this.end();
  }

  private end(): void {
    this.closed = true;
    this.router.worker.untrack(this);
    this.router.forget(this);
  }
}

/** The far end of a pipe from another node: a WebRTC peer this node's worker opened to the origin's. */
export class WebRtcPipeHandle extends WebRtcTransportHandle {
  /** Applies the origin's answer; `connected` follows (or `close` with `timeout` / `failed`). */
  async connect(answer: string): Promise<void> {
    await this.router.worker.channel.request('connectWebRtcPipe', { transportId: this.id, answer });
  }
}

/** A transport the server makes and closes itself (no events of its own): plain RTP or a pipe end. */
abstract class LocalTransportHandle {
  closed = false;

  constructor(
    readonly id: TransportId,
    readonly router: RouterHandle,
  ) {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.routerClosed();
    await this.router.worker.channel.request('closeTransport', { transportId: this.id }).catch(() => {});
  }

  /** @internal */
  routerClosed(): void {
    this.closed = true;
    this.router.forget(this);
  }
}

export class PlainTransportHandle extends LocalTransportHandle {
  /** A consumer of the router's producer of `kind`; see SfuMethods.consume. */
  consume(kind: MediaKind, payloadType: number, keyframeIntervalMs?: number): Promise<ConsumerInfo> {
    return this.router.worker.channel.request('consume', { transportId: this.id, kind, payloadType, ...(keyframeIntervalMs ? { keyframeIntervalMs } : {}) });
  }
}

export class PipeTransportHandle extends LocalTransportHandle {
  constructor(
    id: TransportId,
    router: RouterHandle,
    /** Where its socket listens, for the other end to connect to. */
    readonly host: string,
    readonly port: number,
  ) {
    super(id, router);
  }

  /** Points it at the other end. */
  async connect(other: PipeTransportHandle): Promise<void> {
    await this.router.worker.channel.request('connectPipeTransport', { transportId: this.id, host: other.host, port: other.port });
  }

  /** The far end: what arrives feeds its router's producers. */
  async produce(producers: ProducerInfo[]): Promise<void> {
    await this.router.worker.channel.request('produce', { transportId: this.id, producers });
  }

  /** The origin end: a consumer of its router's producer of `kind`. */
  consume(kind: MediaKind, payloadType: number): Promise<ConsumerInfo> {
    return this.router.worker.channel.request('consume', { transportId: this.id, kind, payloadType });
  }
}
