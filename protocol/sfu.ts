/**
 * The channel between the server (control plane) and an sfu-worker process (media plane).
 * Requests are answered once; events flow from the worker. The worker handles every method
 * of SfuMethods (a missing handler is a compile error on its side).
 */
import type { PeerId, RouterId, StreamId } from './ids.ts';

/** How a worker process is configured (passed at spawn). */
export interface WorkerSettings {
  workerId: number;
  /** Address the UDP socket binds (RTC_BIND_ADDRESS). */
  bindAddress: string;
  /** Address written into our ICE candidates when it differs from the bound one (RTC_ANNOUNCED_ADDRESS). */
  announcedAddress: string;
  /** The one UDP port every peer of this worker shares. */
  port: number;
  /** STUN/TURN servers our side uses (rarely needed by a server with a public address). */
  iceServers: string[];
  /** Most peers this worker accepts; beyond it publish/view answer WORKER_FULL. */
  maxPeers: number;
  /** Seconds a peer may take to connect after its answer (a view request may ask for less). */
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

export type PeerRole = 'publisher' | 'viewer';

export interface ProducerInfo {
  kind: 'audio' | 'video';
  codec: string;
  payloadType: number;
  clockRate: number;
  profileLevelId?: string;
}

export interface WorkerStats {
  /** When the worker took these figures (ms since the epoch, its clock). */
  sampledAt: number;
  routers: number;
  publishers: number;
  viewers: number;
  /** RTP packets received from publishers / sent to viewers since start. */
  packetsIn: number;
  packetsOut: number;
  /** Retransmissions answered from the packet cache. */
  nacksAnswered: number;
  keyframeRequests: number;
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

export interface SfuMethods {
  /**
   * `producers`: the tracks of a publisher that is expected back (its connection failed): the
   * router starts with them, so viewers can join and wait for its media.
   */
  createRouter: { req: { routerId: RouterId; streamId: StreamId; producers?: ProducerInfo[] }; res: Record<string, never> };
  closeRouter: { req: { routerId: RouterId }; res: Record<string, never> };
  /** WHIP: the publisher's offer in, our answer out. */
  publish: { req: { routerId: RouterId; peerId: PeerId; offer: string }; res: { answer: string; producers: ProducerInfo[] } };
  /** WHEP: a viewer's offer in, our answer out; closed as `timeout` unless connected within `connectTimeoutMs`. */
  view: { req: { routerId: RouterId; peerId: PeerId; offer: string; connectTimeoutMs?: number }; res: { answer: string } };
  /** Trickle ICE (RFC 8840): candidate lines for one m-section. */
  addCandidates: { req: { peerId: PeerId; candidates: Array<{ candidate: string; mid: string }> }; res: { added: number } };
  closePeer: { req: { peerId: PeerId }; res: Record<string, never> };
  requestKeyframe: { req: { routerId: RouterId }; res: Record<string, never> };
  getStats: { req: Record<string, never>; res: WorkerStats };
  getRouterStats: { req: { routerId: RouterId }; res: RouterStats };
  /**
   * Plain RTP of the router's tracks to a recorder on this host (like a mediasoup
   * PlainTransport): video to `videoPort`, audio to `audioPort` (RTP only, no RTCP).
   * Asks the publisher for a keyframe at once and keeps one coming at least every
   * `keyframeIntervalMs` while attached. Adding the same `recorderId` again replaces its ports.
   */
  addRecorder: { req: AddRecorderRequest; res: { tracks: RecorderTrack[] } };
  removeRecorder: { req: { routerId: RouterId; recorderId: string }; res: Record<string, never> };
}

export interface AddRecorderRequest {
  routerId: RouterId;
  recorderId: string;
  host: string;
  videoPort: number;
  audioPort: number;
  /** Payload types the recorder's SDP declares. */
  videoPayloadType: number;
  audioPayloadType: number;
  keyframeIntervalMs: number;
}

/** One track as a recorder receives it. */
export interface RecorderTrack {
  kind: 'audio' | 'video';
  /** 'h264' | 'vp8' | 'opus' */
  codec: string;
  payloadType: number;
  clockRate: number;
  ssrc: number;
}

export type PeerCloseReason = 'closed' | 'failed' | 'timeout' | 'media-timeout' | 'b-frames' | 'worker';

export interface SfuEvents {
  /** The worker bound its UDP port and accepts requests. */
  ready: { pid: number; port: number; address: string };
  peerConnected: { peerId: PeerId; routerId: RouterId; role: PeerRole };
  /** A peer ended for any reason other than closePeer/closeRouter from the server. */
  peerClosed: { peerId: PeerId; routerId: RouterId; role: PeerRole; reason: PeerCloseReason; message: string };
  /** The publisher's media started or stopped flowing (after a blip, or a reconnect). */
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
  | 'PEER_NOT_FOUND'
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
