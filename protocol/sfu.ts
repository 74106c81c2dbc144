/**
 * The channel between the server (control plane) and an sfu-worker process (media plane).
 * Requests are answered once; events flow from the worker. The worker handles every method
 * of SfuMethods (a missing handler is a compile error on its side).
 */
import type { RouterId, StreamId, TransportId } from './ids.ts';

/** How a worker process is configured (passed at spawn). */
export interface WorkerSettings {
  workerId: number;
  /** Address the UDP socket binds (RTC_BIND_ADDRESS). */
  bindAddress: string;
  /** Address written into our ICE candidates when it differs from the bound one (RTC_ANNOUNCED_ADDRESS). */
  announcedAddress: string;
  /**
   * Address other nodes reach this worker on for pipes between nodes (RTC_PIPE_ADDRESS: an
   * internal address); '' = the announced address, else the candidates as gathered.
   */
  pipeAddress: string;
  /** The one UDP port every peer of this worker shares. */
  port: number;
  /** STUN/TURN servers our side uses (rarely needed by a server with a public address). */
  iceServers: string[];
  /** Most WebRTC transports this worker accepts; beyond it createWebRtcTransport answers WORKER_FULL. */
  maxPeers: number;
  /** Seconds a WebRTC transport may take to connect after its answer (a request may ask for less). */
  connectTimeoutSeconds: number;
  /** A connected publisher that sends nothing for this long has lost its network: closed as `media-timeout`. */
  publisherIdleTimeoutSeconds: number;
  /** Bitrate (bps) we ask publishers not to exceed (REMB). */
  maxPublishBitrate: number;
  /** Shared DTLS certificate for every peer of the worker. */
  certificatePemFile: string;
  keyPemFile: string;
  logLevel: string;
}

export interface ProducerInfo {
  kind: MediaKind;
  codec: string;
  payloadType: number;
  clockRate: number;
  profileLevelId?: string;
  /** Simulcast: how many layers (resolutions) the video has, sent as separate sections; absent = 1. */
  layers?: number;
}

export interface WorkerStats {
  /** When the worker took these figures (ms since the epoch, its clock). */
  sampledAt: number;
  routers: number;
  publishers: number;
  viewers: number;
  /** WebRTC transports open (what `maxPeers` limits). */
  peers: number;
  /** Pipes this worker sends a stream into (one per other router fed from here, whatever its viewers). */
  pipesOut: number;
  /** Pipes from other nodes that feed a router here. */
  pipesIn: number;
  /** Lost packets on pipes from other nodes: asked for again (NACK), and recovered that way. */
  pipeNacksSent: number;
  pipeNacksRecovered: number;
  /** RTP packets received from publishers / sent to viewers since start. */
  packetsIn: number;
  packetsOut: number;
  /** Retransmissions answered from the packet cache. */
  nacksAnswered: number;
  keyframeRequests: number;
  /** Simulcast layer switches of viewers, per stream with a router here (since its router opened). */
  layerSwitches: Record<string, number>;
  rssBytes: number;
  cpuUserMicros: number;
  cpuSystemMicros: number;
}

export interface RouterStats {
  routerId: RouterId;
  publishing: boolean;
  viewers: number;
  packetsIn: number;
  packetsOut: number;
  bitrateIn: number;
}

/** Video sections one publisher may send as simulcast layers of one source. */
export const MAX_LAYERS = 3;

/** What a viewer of a simulcast stream is like: it gets the smallest layer that suits it. */
export interface LayerPreferences {
  /** Its player's width in device pixels (null = unknown: the top layer). */
  maxWidth: number | null;
  /** A quality it chose: layer index, 0 = lowest (null = automatic). */
  pinned: number | null;
}

/** A simulcast viewer's layers: which it gets, which it waits for, and what each is. */
export interface LayerState {
  /** Layer forwarded now (-1 before its first keyframe). */
  current: number;
  /** Layer wanted; differs from `current` while the switch waits for a keyframe of it. */
  target: number;
  switches: number;
  /** Highest layer the viewer's link allows now (loss, REMB). */
  cap: number;
  /** The viewer's REMB estimate (bit/s), its loss over the last second (0..1, NACKed / sent), RTT (ms). */
  estimate: number | null;
  loss: number;
  rttMs: number | null;
  layers: Array<{ width: number; height: number; active: boolean; bitrate: number }>;
}

export interface SfuMethods {
  /**
   * `producers`: the tracks of a publisher that is expected back (its connection failed): the
   * router starts with them, so viewers can join and wait for its media.
   */
  createRouter: { req: { routerId: RouterId; streamId: StreamId; producers?: ProducerInfo[] }; res: Record<string, never> };
  /** Closes the router and everything on it (no events). */
  closeRouter: { req: { routerId: RouterId }; res: { load: WorkerLoad } };
  /**
   * A WebRTC transport negotiated from a client's offer in one step (WHIP and WHEP have no
   * separate produce/consume round trip: the offer names the tracks). `produce`: every track
   * the offer sends becomes the router's producer of its kind (a publisher). `consume`: every
   * track the offer receives gets a consumer of the router's producer (a viewer). Closed as
   * `timeout` unless connected within `connectTimeoutMs`. `pipe`: the consumer is the origin
   * end of a pipe to another node (its offer came from that node's createWebRtcPipe): it is
   * counted as a pipe, not a viewer, and its candidates carry the pipe address.
   */
  createWebRtcTransport: {
    req: { routerId: RouterId; transportId: TransportId; offer: string; role: 'produce' | 'consume'; connectTimeoutMs?: number; pipe?: boolean };
    res: { answer: string; producers: ProducerInfo[]; load: WorkerLoad };
  };
  /**
   * Plain RTP out of the router to one UDP address on this host (a recorder): RTP only, no
   * RTCP. Its consumers follow the router's producer of their kind, also across codec changes.
   */
  createPlainTransport: { req: { routerId: RouterId; transportId: TransportId; host: string; port: number }; res: Record<string, never> };
  /**
   * A pipe to another router of the stream on this node: RTP and RTCP over UDP on `host` (a
   * loopback address), bound to a free port that is returned. Both ends are made, then
   * connected to each other; the far end produces, the origin end consumes.
   */
  createPipeTransport: { req: { routerId: RouterId; transportId: TransportId; host: string }; res: { port: number } };
  connectPipeTransport: { req: { transportId: TransportId; host: string; port: number }; res: Record<string, never> };
  /**
   * The far end of a pipe from a router on another node: a WebRTC peer (DTLS-SRTP) that
   * offers to receive `producers` (as the origin router has them) and feeds this router's
   * producers with what arrives, asking the origin again for lost packets (NACK) and for
   * keyframes (PLI). The offer goes to the origin node, whose worker answers it as a
   * `createWebRtcTransport` with `pipe`; the answer comes back in `connectWebRtcPipe`.
   */
  createWebRtcPipe: { req: { routerId: RouterId; transportId: TransportId; producers: ProducerInfo[] }; res: { offer: string } };
  connectWebRtcPipe: { req: { transportId: TransportId; answer: string }; res: Record<string, never> };
  /** The far end of a pipe feeds its router's producers (payload types as the origin end sends them). */
  produce: { req: { transportId: TransportId; producers: ProducerInfo[] }; res: Record<string, never> };
  /**
   * A consumer on a plain transport or on the origin end of a pipe (primed with the cached
   * group of pictures). `keyframeIntervalMs`: while it exists, the producer is
   * asked for a keyframe at once and then at least this often (recorders cut segments there).
   */
  consume: { req: { transportId: TransportId; kind: MediaKind; payloadType: number; keyframeIntervalMs?: number }; res: ConsumerInfo };
  /** Trickle ICE (RFC 8840) on a WebRTC transport: candidate lines for one m-section. */
  addCandidates: { req: { transportId: TransportId; candidates: Array<{ candidate: string; mid: string }> }; res: { added: number } };
  /** Closes a transport and its producers/consumers (no event). */
  closeTransport: { req: { transportId: TransportId }; res: { load: WorkerLoad } };
  requestKeyframe: { req: { routerId: RouterId }; res: Record<string, never> };
  /** A viewer of a simulcast producer: what it is like (player width, chosen quality); answers its layers (null without simulcast). */
  setLayerPreferences: { req: { transportId: TransportId } & LayerPreferences; res: { layers: LayerState | null } };
  getStats: { req: Record<string, never>; res: WorkerStats };
  getRouterStats: { req: { routerId: RouterId }; res: RouterStats };
}

export type MediaKind = 'audio' | 'video';

/** The worker's own count of what limits it, returned with every change to it. */
export interface WorkerLoad {
  /** WebRTC transports (publishers and viewers) open on the worker. */
  peers: number;
}

/** One consumer as its receiver gets it. */
export interface ConsumerInfo {
  kind: MediaKind;
  /** 'h264' | 'vp8' | 'opus', or undefined while the router has no producer of this kind. */
  codec: string | undefined;
  payloadType: number;
  clockRate: number | undefined;
  ssrc: number | undefined;
}

export type TransportCloseReason = 'closed' | 'failed' | 'timeout' | 'media-timeout' | 'b-frames' | 'worker';

export interface SfuEvents {
  /** The worker bound its UDP port and accepts requests. */
  ready: { pid: number; port: number; address: string };
  /** A WebRTC transport completed ICE and DTLS. */
  transportConnected: { transportId: TransportId; routerId: RouterId };
  /** A transport ended for any reason other than closeTransport/closeRouter from the server. */
  transportClosed: { transportId: TransportId; routerId: RouterId; reason: TransportCloseReason; message: string; load: WorkerLoad };
  /** The router's producers started or stopped receiving media (after a blip, or a reconnect). */
  mediaFlowing: { routerId: RouterId; flowing: boolean };
  /**
   * The worker's counters, pushed every second: readers (metrics, benchmarks) take the latest
   * instead of asking, so a worker busy forwarding never makes them wait or time out.
   */
  stats: WorkerStats;
}

export type SfuMethod = keyof SfuMethods;
export type SfuEvent = keyof SfuEvents;

export type SfuErrorCode =
  | 'SDP_MALFORMED'
  | 'SDP_UNSUPPORTED'
  | 'ROUTER_NOT_FOUND'
  | 'TRANSPORT_NOT_FOUND'
  | 'ALREADY_PUBLISHING'
  | 'NOT_PUBLISHING'
  | 'WORKER_FULL'
  | 'BAD_REQUEST'
  | 'INTERNAL';

/** Wire format of the channel (Node IPC, JSON). */
export type ChannelMessage =
  | { t: 'req'; id: number; method: SfuMethod; data: unknown }
  | { t: 'res'; id: number; ok: true; data: unknown }
  | { t: 'res'; id: number; ok: false; error: { code: SfuErrorCode; message: string } }
  | { t: 'evt'; event: SfuEvent; data: unknown };
