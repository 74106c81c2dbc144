/**
 * One sfu-worker: owns the routers of the streams placed on it and answers the server's
 * requests (one handler per SfuMethods entry). Events go back through `emit`.
 */
import type { PeerId, RouterId, StreamId } from '../protocol/ids.ts';
import type { ProducerInfo, SfuEvent, SfuEvents, SfuMethod, SfuMethods, WorkerSettings, WorkerStats } from '../protocol/sfu.ts';
import { NegotiationError } from './peer-connection.ts';
import { Router, SfuError } from './router.ts';
import { choosePublishCodecs, parseOffer } from './sdp.ts';

export type SfuHandlers = {
  [M in SfuMethod]: (data: SfuMethods[M]['req']) => Promise<SfuMethods[M]['res']> | SfuMethods[M]['res'];
};

export type Emit = <E extends SfuEvent>(event: E, data: SfuEvents[E]) => void;

export class SfuWorker {
  private readonly routers = new Map<RouterId, Router>();
  private readonly peerRouter = new Map<PeerId, Router>();
  /** Counters of routers already closed, so worker totals never go backwards. */
  private closedPacketsIn = 0;
  private closedPacketsOut = 0;
  private closedNacks = 0;
  private closedKeyframes = 0;

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
      return {};
    },
    publish: async ({ routerId, peerId, offer }) => {
      const router = this.router(routerId);
      this.checkCapacity();
      const parsed = parseOffer(offer);
      if (!parsed.ok) throw new SfuError('SDP_MALFORMED', parsed.reason);
      const chosen = choosePublishCodecs(parsed.offer);
      if (!chosen.ok) throw new SfuError('SDP_UNSUPPORTED', chosen.reason);
      const answer = await this.negotiating(() => router.publish(peerId, parsed.offer, chosen.choices));
      this.peerRouter.set(peerId, router);
      return { answer, producers: router.producers() };
    },
    view: async ({ routerId, peerId, offer, connectTimeoutMs }) => {
      const router = this.router(routerId);
      this.checkCapacity();
      const parsed = parseOffer(offer);
      if (!parsed.ok) throw new SfuError('SDP_MALFORMED', parsed.reason);
      const answer = await this.negotiating(() => router.view(peerId, parsed.offer, connectTimeoutMs));
      this.peerRouter.set(peerId, router);
      return { answer };
    },
    addCandidates: ({ peerId, candidates }) => {
      const router = this.peerRouter.get(peerId);
      if (!router || !router.hasPeer(peerId)) throw new SfuError('PEER_NOT_FOUND', 'no such session');
      let added = 0;
      for (const { candidate, mid } of candidates) {
        try {
          router.addCandidate(peerId, candidate, mid);
          added++;
        } catch (err) {
          if (err instanceof SfuError) throw err;
          throw new SfuError('BAD_REQUEST', `candidate refused: ${(err as Error).message}`);
        }
      }
      return { added };
    },
    closePeer: ({ peerId }) => {
      this.peerRouter.get(peerId)?.closePeerById(peerId);
      this.peerRouter.delete(peerId);
      return {};
    },
    requestKeyframe: ({ routerId }) => {
      this.router(routerId).requestKeyframe();
      return {};
    },
    getStats: () => this.stats(),
    getRouterStats: ({ routerId }) => this.router(routerId).stats(),
    addRecorder: async (req) => ({ tracks: await this.router(req.routerId).addRecorder(req) }),
    removeRecorder: ({ routerId, recorderId }) => {
      this.routers.get(routerId)?.removeRecorder(recorderId);
      return {};
    },
  };

  /** Closes every router (worker shutdown). */
  close(): void {
    for (const r of [...this.routers.values()]) this.dropRouter(r);
  }

  private newRouter(routerId: RouterId, streamId: StreamId, producers?: ProducerInfo[]): Router {
    return new Router(routerId, streamId, this.settings, {
      peerConnected: (peerId, role) => this.emit('peerConnected', { peerId, routerId, role }),
      peerClosed: (peerId, role, reason, message) => {
        this.peerRouter.delete(peerId);
        this.emit('peerClosed', { peerId, routerId, role, reason, message });
      },
      mediaFlowing: (flowing) => this.emit('mediaFlowing', { routerId, flowing }),
    }, producers);
  }

  private dropRouter(router: Router): void {
    const c = router.counters();
    this.closedPacketsIn += c.packetsIn;
    this.closedPacketsOut += c.packetsOut;
    this.closedNacks += router.nacksAnswered;
    this.closedKeyframes += router.keyframeRequests;
    for (const { peerId } of router.peerIds()) this.peerRouter.delete(peerId);
    router.close();
    this.routers.delete(router.id);
  }

  private router(routerId: RouterId): Router {
    const r = this.routers.get(routerId);
    if (!r) throw new SfuError('ROUTER_NOT_FOUND', `no router ${routerId} on this worker`);
    return r;
  }

  private checkCapacity(): void {
    let peers = 0;
    for (const r of this.routers.values()) peers += r.peerCount;
    if (peers >= this.settings.maxPeers) throw new SfuError('WORKER_FULL', `this worker already carries ${peers} peers`);
  }

  private async negotiating(run: () => Promise<string>): Promise<string> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof NegotiationError) throw new SfuError('SDP_UNSUPPORTED', err.message);
      throw err;
    }
  }

  /** The worker's counters now (also pushed every second as the `stats` event). */
  stats(): WorkerStats {
    const s: WorkerStats = {
      sampledAt: Date.now(),
      routers: this.routers.size, publishers: 0, viewers: 0,
      packetsIn: this.closedPacketsIn, packetsOut: this.closedPacketsOut,
      nacksAnswered: this.closedNacks, keyframeRequests: this.closedKeyframes,
      rssBytes: process.memoryUsage.rss(), cpuUserMicros: 0, cpuSystemMicros: 0,
    };
    for (const r of this.routers.values()) {
      const c = r.counters();
      s.packetsIn += c.packetsIn;
      s.packetsOut += c.packetsOut;
      s.nacksAnswered += r.nacksAnswered;
      s.keyframeRequests += r.keyframeRequests;
      s.viewers += r.viewerCount;
      if (r.isPublishing) s.publishers++;
    }
    const cpu = process.cpuUsage();
    s.cpuUserMicros = cpu.user;
    s.cpuSystemMicros = cpu.system;
    return s;
  }
}
