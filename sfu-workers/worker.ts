/**
 * One sfu-worker: owns the media routers of the streams placed on it and their transports,
 * and answers the server's requests (one handler per SfuMethods entry). Events go back
 * through `emit`, addressed to the router or transport they concern.
 */
import type { RouterId, StreamId, TransportId } from '../protocol/ids.ts';
import type { ProducerInfo, SfuEvent, SfuEvents, SfuMethod, SfuMethods, WorkerLoad, WorkerSettings, WorkerStats } from '../protocol/sfu.ts';
import { MediaRouter, SfuError, type Transport } from './media-router.ts';
import { PipeTransport } from './pipe-transport.ts';
import { PlainTransport } from './plain-transport.ts';
import { parseOffer } from './sdp.ts';
import { WebRtcPipeTransport } from './webrtc-pipe-transport.ts';
import { WebRtcTransport } from './webrtc-transport.ts';

export type SfuHandlers = {
  [M in SfuMethod]: (data: SfuMethods[M]['req']) => Promise<SfuMethods[M]['res']> | SfuMethods[M]['res'];
};

export type Emit = <E extends SfuEvent>(event: E, data: SfuEvents[E]) => void;

export class SfuWorker {
  private readonly routers = new Map<RouterId, MediaRouter>();
  /** Every open transport, with the router it belongs to. */
  private readonly transports = new Map<TransportId, { router: MediaRouter; transport: Transport }>();
  /** Counters of routers already closed, so worker totals never go backwards. */
  private closedPacketsIn = 0;
  private closedPacketsOut = 0;
  private closedNacks = 0;
  private closedKeyframes = 0;
  private readonly closedPipeNacks = { sent: 0, recovered: 0 };

  constructor(
    private readonly settings: WorkerSettings,
    private readonly emit: Emit,
  ) {}

  readonly handlers: SfuHandlers = {
    createRouter: ({ routerId, streamId, producers }) => {
      if (!this.routers.has(routerId)) this.routers.set(routerId, this.newRouter(routerId, streamId, producers));
      return {};
    },
    closeRouter: ({ routerId }) => {
      const router = this.routers.get(routerId);
      if (router) this.dropRouter(router);
      return { load: this.load() };
    },
    createWebRtcTransport: async ({ routerId, transportId, offer, role, connectTimeoutMs, pipe }) => {
      const router = this.router(routerId);
      if (this.transports.has(transportId)) throw new SfuError('BAD_REQUEST', `transport ${transportId} exists`);
      this.checkCapacity();
      const parsed = parseOffer(offer);
      if (!parsed.ok) throw new SfuError('SDP_MALFORMED', parsed.reason);
      if (role === 'produce') {
        const { transport, answer, producers } = await WebRtcTransport.produce(router, transportId, parsed.offer);
        this.transports.set(transportId, { router, transport });
        return { answer, producers, load: this.load() };
      }
      const { transport, answer } = await WebRtcTransport.consume(router, transportId, parsed.offer, connectTimeoutMs, pipe);
      this.transports.set(transportId, { router, transport });
      return { answer, producers: router.producerInfos(), load: this.load() };
    },
    createPlainTransport: async ({ routerId, transportId, host, port }) => {
      const router = this.router(routerId);
      // The same id again re-points it (a recorder restarted on new ports).
      this.closeTransport(transportId);
      const transport = await PlainTransport.create(router, transportId, host, port);
      this.closeTransport(transportId); // a concurrent create for the same id may have won meanwhile
      this.adopt(router, transport);
      return {};
    },
    createPipeTransport: async ({ routerId, transportId, host }) => {
      const router = this.router(routerId);
      if (this.transports.has(transportId)) throw new SfuError('BAD_REQUEST', `transport ${transportId} exists`);
      const transport = await PipeTransport.create(router, transportId, host);
      this.adopt(router, transport);
      return { port: transport.port };
    },
    createWebRtcPipe: async ({ routerId, transportId, producers }) => {
      const router = this.router(routerId);
      if (this.transports.has(transportId)) throw new SfuError('BAD_REQUEST', `transport ${transportId} exists`);
      const { transport, offer } = await WebRtcPipeTransport.create(router, transportId, producers);
      this.transports.set(transportId, { router, transport });
      return { offer };
    },
    connectWebRtcPipe: ({ transportId, answer }) => {
      const t = this.transports.get(transportId)?.transport;
      if (!(t instanceof WebRtcPipeTransport)) throw new SfuError('TRANSPORT_NOT_FOUND', `no pipe from another node ${transportId} on this worker`);
      t.connect(answer);
      return {};
    },
    connectPipeTransport: async ({ transportId, host, port }) => {
      await this.pipe(transportId).connect(host, port);
      return {};
    },
    produce: ({ transportId, producers }) => {
      this.pipe(transportId).produce(producers);
      return {};
    },
    consume: ({ transportId, kind, payloadType, keyframeIntervalMs }) => {
      const t = this.transports.get(transportId)?.transport;
      if (t instanceof PlainTransport) return t.consume(kind, payloadType, keyframeIntervalMs);
      if (t instanceof PipeTransport) return t.consume(kind, payloadType);
      throw new SfuError('TRANSPORT_NOT_FOUND', `no plain or pipe transport ${transportId} on this worker`);
    },
    addCandidates: ({ transportId, candidates }) => {
      const t = this.transports.get(transportId)?.transport;
      if (!(t instanceof WebRtcTransport)) throw new SfuError('TRANSPORT_NOT_FOUND', 'no such session');
      let added = 0;
      for (const { candidate, mid } of candidates) {
        try {
          t.addCandidate(candidate, mid);
          added++;
        } catch (err) {
          if (err instanceof SfuError) throw err;
          throw new SfuError('BAD_REQUEST', `candidate refused: ${(err as Error).message}`);
        }
      }
      return { added };
    },
    closeTransport: ({ transportId }) => {
      this.closeTransport(transportId);
      return { load: this.load() };
    },
    requestKeyframe: ({ routerId }) => {
      this.router(routerId).requestKeyframe();
      return {};
    },
    setLayerPreferences: ({ transportId, maxWidth, pinned }) => {
      const t = this.transports.get(transportId)?.transport;
      if (!(t instanceof WebRtcTransport) || t.producing) throw new SfuError('TRANSPORT_NOT_FOUND', 'no such viewer session');
      return { layers: t.setLayerPreferences({ maxWidth, pinned }) };
    },
    getStats: () => this.stats(),
    getRouterStats: ({ routerId }) => this.router(routerId).stats(),
  };

  /** Closes every router (worker shutdown). */
  close(): void {
    for (const r of [...this.routers.values()]) this.dropRouter(r);
  }

  private newRouter(routerId: RouterId, streamId: StreamId, producers?: ProducerInfo[]): MediaRouter {
    return new MediaRouter(routerId, streamId, this.settings, {
      transportConnected: (t) => this.emit('transportConnected', { transportId: t.id, routerId }),
      transportClosed: (t, reason, message) => {
        if (this.transports.get(t.id)?.transport === t) this.forget(t.id);
        this.emit('transportClosed', { transportId: t.id, routerId, reason, message, load: this.load() });
      },
      mediaFlowing: (flowing) => this.emit('mediaFlowing', { routerId, flowing }),
    }, producers);
  }

  /** A transport made while its router may have closed: added to it, or closed. */
  private adopt(router: MediaRouter, transport: Transport): void {
    try {
      router.addTransport(transport);
    } catch (err) {
      transport.close();
      throw err;
    }
    this.transports.set(transport.id, { router, transport });
  }

  private closeTransport(id: TransportId): void {
    const entry = this.transports.get(id);
    if (!entry) return;
    this.forget(id);
    entry.router.closeTransport(id);
  }

  /** Drops a transport from the worker's table, keeping its pipe counters in the totals. */
  private forget(id: TransportId): void {
    const t = this.transports.get(id)?.transport;
    if (t instanceof WebRtcPipeTransport) {
      this.closedPipeNacks.sent += t.nacksSent;
      this.closedPipeNacks.recovered += t.nacksRecovered;
    }
    this.transports.delete(id);
  }

  private dropRouter(router: MediaRouter): void {
    const c = router.counters();
    this.closedPacketsIn += c.packetsIn;
    this.closedPacketsOut += c.packetsOut;
    this.closedNacks += router.nacksAnswered;
    this.closedKeyframes += router.keyframeRequests;
    for (const [id, entry] of this.transports) if (entry.router === router) this.forget(id);
    router.close();
    this.routers.delete(router.id);
  }

  private pipe(transportId: TransportId): PipeTransport {
    const t = this.transports.get(transportId)?.transport;
    if (!(t instanceof PipeTransport)) throw new SfuError('TRANSPORT_NOT_FOUND', `no pipe transport ${transportId} on this worker`);
    return t;
  }

  private router(routerId: RouterId): MediaRouter {
    const r = this.routers.get(routerId);
    if (!r) throw new SfuError('ROUTER_NOT_FOUND', `no router ${routerId} on this worker`);
    return r;
  }

  private load(): WorkerLoad {
    let peers = 0;
    for (const r of this.routers.values()) peers += r.peerCount;
    return { peers };
  }

  private checkCapacity(): void {
    const { peers } = this.load();
    if (peers >= this.settings.maxPeers) throw new SfuError('WORKER_FULL', `this worker already carries ${peers} peers`);
  }

  /** The worker's counters now (also pushed every second as the `stats` event). */
  stats(): WorkerStats {
    const s: WorkerStats = {
      sampledAt: Date.now(),
      routers: this.routers.size, peers: 0, pipesOut: 0, pipesIn: 0, pipeNacksSent: this.closedPipeNacks.sent, pipeNacksRecovered: this.closedPipeNacks.recovered,
      publishers: 0, viewers: 0,
      packetsIn: this.closedPacketsIn, packetsOut: this.closedPacketsOut,
      nacksAnswered: this.closedNacks, keyframeRequests: this.closedKeyframes, layerSwitches: {},
      rssBytes: process.memoryUsage.rss(), cpuUserMicros: 0, cpuSystemMicros: 0,
    };
    for (const r of this.routers.values()) {
      const c = r.counters();
      s.packetsIn += c.packetsIn;
      s.packetsOut += c.packetsOut;
      s.nacksAnswered += r.nacksAnswered;
      s.keyframeRequests += r.keyframeRequests;
      if (r.layerSwitches > 0) s.layerSwitches[r.streamId] = (s.layerSwitches[r.streamId] ?? 0) + r.layerSwitches;
      s.peers += r.peerCount;
      s.pipesOut += r.pipesOut;
      s.pipesIn += r.pipesIn;
      s.viewers += r.viewerCount;
      if (r.isPublishing) s.publishers++;
    }
    for (const { transport } of this.transports.values()) {
      if (!(transport instanceof WebRtcPipeTransport)) continue;
      s.pipeNacksSent += transport.nacksSent;
      s.pipeNacksRecovered += transport.nacksRecovered;
    }
    const cpu = process.cpuUsage();
    s.cpuUserMicros = cpu.user;
    s.cpuSystemMicros = cpu.system;
    return s;
  }
}
