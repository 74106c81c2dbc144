import { batch, signal } from '@preact/signals';
import { ApiError, describeError } from '../lib/api-error.ts';
import type { FetchFn } from '../lib/http.ts';
import type { CreatePeerConnection, PeerConnectionLike, TransceiverLike } from '../lib/peer.ts';
import { retryDelayMs, isRetryable } from '../lib/retry.ts';
import { publisherFigures, type LayerFigures, type PublisherFigures, type PublisherSample } from '../lib/rtc-stats.ts';
import { deleteSession, waitForIceGathering } from '../lib/sdp-session.ts';
import { IceServerCache } from '../lib/ice-servers.ts';
import { preferH264, publishOffer } from '../lib/whip.ts';
import type { LocalMedia } from './create-local-media.ts';

export type PublisherStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'error';

export interface PublisherDeps {
  fetch: FetchFn;
  /** Absolute WHIP endpoint (same origin as the page). */
  whipUrl: string;
  /** The current stream key; asked before every attempt, so a rotated key is picked up. */
  streamKey: () => Promise<string>;
  createPeerConnection: CreatePeerConnection;
  /** What is broadcast: the camera/microphone or screen tracks. */
  media: Pick<LocalMedia, 'videoTrack' | 'audioTrack' | 'error' | 'start' | 'stop' | 'setSink' | 'source'>;
  /** The browser's video codecs (RTCRtpSender.getCapabilities), for preferring H.264. */
  videoCodecs?: () => readonly RTCRtpCodec[] | null;
  /** Makes the stream that groups simulcast layers (one a=msid); without it one layer is sent. */
  createMediaStream?: (tracks: MediaStreamTrack[]) => MediaStream;
  iceGatheringTimeoutMs?: number;
  /** How long a new connection may take to reach `connected` before it counts as failed. */
  connectTimeoutMs?: number;
  /** How long `disconnected` may last before the connection is replaced. */
  disconnectedGraceMs?: number;
  statsIntervalMs?: number;
  /** How long to wait for the DELETE of a session before going on. */
  deleteTimeoutMs?: number;
}

/**
 * The simulcast layers sent from a camera of at least SIMULCAST_MIN_HEIGHT lines, lowest
 * first (the server takes the video sections in this order): a quarter, half and the full
 * size, each from its own clone of the camera track in its own transceiver (libdatachannel
 * routes by SSRC, so rid simulcast beside audio would deliver no video).
 */
export const SIMULCAST_LAYERS = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 2_000_000 },
] as const;
export const SIMULCAST_MIN_HEIGHT = 540;
/** Samples (one a second) the top layer must say `bandwidth` before it is turned off. */
const CONGESTED_SAMPLES = 3;
/** Chrome starts every connection at a few hundred kbit/s and says `bandwidth` while it ramps up: not congestion. */
const WARM_UP_MS = 10_000;
/** How long the top layer stays off before it is tried again. */
const TOP_LAYER_RETRY_MS = 30_000;

/** One PeerConnection and the WHIP session it belongs to. */
interface Connection {
  pc: PeerConnectionLike;
  /** The (top) video sender. */
  video: TransceiverLike;
  /** Simulcast: every layer's transceiver, lowest first (empty for one layer), and the track clones they send. */
  layers: TransceiverLike[];
  clones: MediaStreamTrack[];
  /** Samples in a row the top layer was limited by bandwidth; when it was turned off. */
  congested: number;
  topOffAt: number | null;
  /** When it connected (Date.now()), for the warm-up. */
  liveSince: number;
  /** The browser's recent bandwidth estimates (availableOutgoingBitrate), oldest first. */
  estimates: number[];
  layerBytes: Array<{ bytes: number; at: number } | null>;
  audio: TransceiverLike;
  sessionUrl: string | null;
  connectTimer: ReturnType<typeof setTimeout> | null;
  disconnectTimer: ReturnType<typeof setTimeout> | null;
  sample: PublisherSample | null;
}

export type Publisher = ReturnType<typeof createPublisher>;

/**
 * The Studio's WHIP broadcast of the local media. It replaces its PeerConnection by itself
 * when the connection fails (or stays `disconnected` too long): a new PeerConnection with
 * the same tracks POSTs again naming the session it replaces (`?replaces=<id>`), so the
 * server ends the old one quietly and viewers see no offline/live flip. Backs off 1 s,
 * 2 s, 4 s ... 10 s.
 * Device switches while live reach the senders through `replaceTrack` (no renegotiation).
 */
export function createPublisher(deps: PublisherDeps) {
  const { media } = deps;
  const gatherMs = deps.iceGatheringTimeoutMs ?? 1_000;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 15_000;
  const disconnectedGraceMs = deps.disconnectedGraceMs ?? 3_000;
  const statsIntervalMs = deps.statsIntervalMs ?? 1_000;
  const deleteTimeoutMs = deps.deleteTimeoutMs ?? 3_000;

  const status = signal<PublisherStatus>('idle');
  const error = signal<string | null>(null);
  /** Failed attempts since the connection was last up (shown while reconnecting). */
  const attempt = signal(0);
  const figures = signal<PublisherFigures | null>(null);

  let conn: Connection | null = null;
  /** The session of the connection that failed: the next POST replaces it. */
  let staleSessionUrl: string | null = null;
  /**
   * PeerConnections that failed, kept open until the server has handed their session over
   * (or we stop): closing one sends a DTLS close_notify, which the server takes as the
   * broadcaster saying goodbye and ends the broadcast for everyone.
   */
  let retired: Connection[] = [];
  /** The stream key the sessions were opened with: their DELETE presents it too. */
  let sessionKey: string | undefined;
  /** Bumped by goLive/stop/close: async work of an older run drops its results. */
  let run = 0;
  let wasLive = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let statsTimer: ReturnType<typeof setInterval> | null = null;
  const iceServers = new IceServerCache(deps.fetch, deps.whipUrl);
  let closed = false;

  // A new camera, microphone or screen goes onto the live senders before the old track stops.
  media.setSink(async (kind, track) => {
    const c = conn;
    if (!c) return;
    if (kind === 'audio' || c.layers.length === 0) return c[kind].sender.replaceTrack(track);
    // Simulcast: the new track on the top layer, clones of it on the others. A screen is
    // one layer: the lower ones are paused while it is shared.
    const old = c.clones;
    c.clones = [];
    const top = c.layers.length - 1;
    for (let i = 0; i < c.layers.length; i++) {
      const t = i === top || !track ? track : track.clone();
      if (t && t !== track) c.clones.push(t);
      await c.layers[i]!.sender.replaceTrack(t);
    }
    for (const t of old) t.stop();
    const screen = media.source.peek() === 'screen';
    for (let i = 0; i < top; i++) await setLayerActive(c, i, !screen);
  });

  /** Whether the connection should send simulcast: a camera (not a screen) of at least 540 lines. */
  function simulcastFor(track: MediaStreamTrack | null): boolean {
    if (!track || !deps.createMediaStream || media.source.peek() === 'screen') return false;
    return (track.getSettings?.().height ?? 0) >= SIMULCAST_MIN_HEIGHT;
  }

  async function keepResolution(t: TransceiverLike): Promise<void> {
    const sender = t.sender;
    if (!sender.getParameters || !sender.setParameters) return;
    try {
      const params = sender.getParameters();
      params.degradationPreference = 'maintain-resolution';
      await sender.setParameters(params);
    } catch {
      // Not supported by this browser: it keeps its default (balanced).
    }
  }

  async function setLayerActive(c: Connection, layer: number, active: boolean): Promise<void> {
    const sender = c.layers[layer]?.sender;
    if (!sender?.getParameters || !sender.setParameters) return;
    try {
      const params = sender.getParameters();
      if (!params.encodings?.[0] || params.encodings[0].active === active) return;
      params.encodings[0].active = active;
      await sender.setParameters(params);
    } catch {
      // A closing connection.
    }
  }

  // ------------------------------------------------------------ broadcast

  /** Starts broadcasting the current tracks (opening the camera first if there are none). */
  async function goLive(): Promise<void> {
    const now = status.peek();
    if (closed || now === 'connecting' || now === 'live' || now === 'reconnecting') return;
    const mine = ++run;
    wasLive = false;
    batch(() => {
      status.value = 'connecting';
      error.value = null;
      attempt.value = 0;
      figures.value = null;
    });
    if (!media.videoTrack.peek() && !media.audioTrack.peek()) await media.start();
    if (mine !== run) return;
    if (!media.videoTrack.peek() && !media.audioTrack.peek()) {
      batch(() => {
        status.value = 'error';
        error.value = media.error.peek() ?? 'There is nothing to broadcast: allow the camera or share your screen.';
      });
      return;
    }
    startStats();
    void connect(mine);
  }

  async function connect(mine: number): Promise<void> {
    let c: Connection | null = null;
    try {
      const key = await deps.streamKey();
      if (mine !== run) return;
      sessionKey = key;
      const servers = await iceServers.get();
      if (mine !== run) return;

      const pc = deps.createPeerConnection({ bundlePolicy: 'max-bundle', iceServers: servers });
      const camera = media.videoTrack.peek();
      const layers: TransceiverLike[] = [];
      const clones: MediaStreamTrack[] = [];
      if (camera && simulcastFor(camera)) {
        const stream = deps.createMediaStream!([camera]);
        SIMULCAST_LAYERS.forEach((encoding, i) => {
          const t = i === SIMULCAST_LAYERS.length - 1 ? camera : camera.clone();
          if (t !== camera) clones.push(t);
          layers.push(pc.addTransceiver(t, { direction: 'sendonly', streams: [stream], sendEncodings: [{ ...encoding }] }));
        });
      }
      const video = layers[layers.length - 1] ?? pc.addTransceiver(camera ?? 'video', { direction: 'sendonly' });
      const audio = pc.addTransceiver(media.audioTrack.peek() ?? 'audio', { direction: 'sendonly' });
      for (const t of layers.length > 0 ? layers : [video]) preferH264(t, deps.videoCodecs?.() ?? null);
      c = { pc, video, layers, clones, congested: 0, topOffAt: null, liveSince: Infinity, estimates: [], layerBytes: [], audio, sessionUrl: null, connectTimer: null, disconnectTimer: null, sample: null };
      conn = c;
      const current = c;
      pc.addEventListener('connectionstatechange', () => onConnectionState(mine, current));

      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, gatherMs);
      if (mine !== run || conn !== c) return;
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('The browser produced no SDP offer.');

      // A DELETE of the failed session would take the stream offline for its viewers;
      // naming it lets the server hand the stream over to this session instead.
      const url = staleSessionUrl ? replacingUrl(deps.whipUrl, staleSessionUrl) : deps.whipUrl;
      const answer = await publishOffer(deps.fetch, url, key, sdp);
      staleSessionUrl = null;
      closeRetired(); // the server ended their sessions quietly: closing them now says nothing
      c.sessionUrl = answer.sessionUrl;
      if (mine !== run || conn !== c) {
        // Stopped while the POST was on its way: end the session it created.
        void deleteSession(deps.fetch, answer.sessionUrl, { timeoutMs: deleteTimeoutMs, bearer: key });
        return;
      }
      iceServers.learn(answer.iceServers);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.answer });
      // Each layer keeps its size and drops frames when short of CPU or bandwidth: the layers
      // are what adapts the resolution (viewers move between them), not the encoder.
      for (const t of c.layers) await keepResolution(t);
      if (pc.connectionState !== 'connected') {
        c.connectTimer = setTimeout(
          () => fail(mine, current, new ApiError('NETWORK_ERROR', 'The media connection could not be established.')),
          connectTimeoutMs,
        );
      }
      onConnectionState(mine, current);
    } catch (err) {
      if (mine !== run) return;
      if (c && conn !== c) return;
      fail(mine, c, err);
    }
  }

  function onConnectionState(mine: number, c: Connection): void {
    if (mine !== run || conn !== c) return;
    switch (c.pc.connectionState) {
      case 'connected':
        clearTimers(c);
        wasLive = true;
        if (c.liveSince === Infinity) c.liveSince = Date.now();
        batch(() => {
          status.value = 'live';
          error.value = null;
          attempt.value = 0;
        });
        break;
      case 'disconnected':
        c.disconnectTimer ??= setTimeout(
          () => fail(mine, c, new ApiError('NETWORK_ERROR', 'The connection to the media server was interrupted.')),
          disconnectedGraceMs,
        );
        break;
      case 'failed':
        fail(mine, c, new ApiError('NETWORK_ERROR', 'The connection to the media server failed.'));
        break;
      default:
        break;
    }
  }

  /** Drops the connection; tries again later when the error allows it, else shows it. */
  function fail(mine: number, c: Connection | null, err: unknown): void {
    if (mine !== run || (c && conn !== c)) return;
    if (c) {
      clearTimers(c);
      retired.push(c);
      if (c.sessionUrl) staleSessionUrl = c.sessionUrl;
    }
    conn = null;
    figures.value = null;
    if (!isRetryable(err, { wasLive })) {
      run += 1;
      stopStats();
      const stale = staleSessionUrl;
      staleSessionUrl = null;
      const ended = stale ? deleteSession(deps.fetch, stale, { timeoutMs: deleteTimeoutMs, bearer: sessionKey }) : Promise.resolve(true);
      void ended.then(closeRetired);
      batch(() => {
        status.value = 'error';
        error.value = describeError(err);
      });
      return;
    }
    const delay = retryDelayMs(err, attempt.peek());
    batch(() => {
      status.value = wasLive ? 'reconnecting' : 'connecting';
      error.value = describeError(err);
      attempt.value += 1;
    });
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (mine === run) void connect(mine);
    }, delay);
  }

  function clearTimers(c: Connection): void {
    if (c.connectTimer) clearTimeout(c.connectTimer);
    if (c.disconnectTimer) clearTimeout(c.disconnectTimer);
    c.connectTimer = null;
    c.disconnectTimer = null;
  }

  function closeRetired(): void {
    const old = retired;
    retired = [];
    for (const r of old) discard(r);
  }

  function discard(c: Connection): void {
    clearTimers(c);
    try {
      c.pc.close();
    } catch {
      // already closed
    }
    for (const t of c.clones) t.stop();
    c.clones = [];
  }

  /**
   * Ends the sessions (DELETE with the stream key), then closes the PeerConnections. Either
   * alone would end the broadcast; the DELETE first lets the server answer before the
   * connection goes.
   */
  function endConnection(keepalive: boolean): Promise<void> {
    run += 1;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    stopStats();
    const c = conn;
    conn = null;
    const urls = [c?.sessionUrl, staleSessionUrl].filter((u): u is string => !!u);
    staleSessionUrl = null;
    if (c) clearTimers(c);
    const opts = { timeoutMs: deleteTimeoutMs, bearer: sessionKey, ...(keepalive ? { keepalive } : {}) };
    return Promise.all(urls.map((url) => deleteSession(deps.fetch, url, opts))).then(() => {
      if (c) discard(c);
      closeRetired();
    });
  }

  /** Stop: DELETE the session (the stream goes offline), close the PeerConnection, stop the tracks. */
  async function stop(): Promise<void> {
    const ended = endConnection(false);
    batch(() => {
      status.value = 'idle';
      error.value = null;
      attempt.value = 0;
      figures.value = null;
    });
    await ended;
    media.stop();
  }

  /**
   * The stream's events say it went offline. While we are live that means someone ended it
   * on purpose (Stop in another tab, the API, the stream deleted): stop rather than
   * reconnect. While reconnecting it is not news: a long outage outlives the server's grace.
   */
  function streamEnded(): void {
    if (status.peek() !== 'live') return;
    void stop().then(() => {
      if (status.peek() === 'idle') error.value = 'The broadcast was ended elsewhere (another tab stopped it, or the stream was deleted).';
    });
  }

  /** Page unload (`pagehide`): the DELETE goes out with `keepalive` so it outlives the page. */
  function leave(): void {
    void endConnection(true);
  }

  /** Unmount: end the broadcast (the page closes the local media itself). Idempotent. */
  function close(): void {
    if (closed) return;
    closed = true;
    void endConnection(true);
    media.setSink(null);
    status.value = 'idle';
  }

  // ------------------------------------------------------------ figures

  function startStats(): void {
    stopStats();
    statsTimer = setInterval(() => void sampleStats(), statsIntervalMs);
  }

  function stopStats(): void {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
  }

  async function sampleStats(): Promise<void> {
    const c = conn;
    if (!c || c.pc.connectionState !== 'connected') return;
    try {
      const report = await c.pc.getStats();
      if (conn !== c) return;
      const { figures: next, sample } = publisherFigures(report, c.sample);
      c.sample = sample;
      next.layers = c.layers.length > 0 ? await layerFigures(c, availableOutgoingBitrate(report)) : null;
      if (conn !== c) return;
      figures.value = next;
    } catch {
      // A closing connection: the next sample comes from the next one.
    }
  }

  /**
   * Each layer's figures from its own sender. Chrome does not switch a layer off by itself
   * when the connection is short of bandwidth: after CONGESTED_SAMPLES seconds of the top
   * layer saying so, it is turned off (viewers move down a layer), and tried again later.
   */
  async function layerFigures(c: Connection, estimate: number | null): Promise<LayerFigures[]> {
    if (estimate !== null) c.estimates = [...c.estimates.slice(-(CONGESTED_SAMPLES - 1)), estimate];
    const out: LayerFigures[] = [];
    const top = c.layers.length - 1;
    for (let i = 0; i < c.layers.length; i++) {
      const sender = c.layers[i]!.sender;
      let stat: Record<string, unknown> | undefined;
      try {
        (await sender.getStats?.())?.forEach((s) => {
          const r = s as Record<string, unknown>;
          if (r.type === 'outbound-rtp') stat = r;
        });
      } catch {
        // A closing connection.
      }
      const bytes = typeof stat?.bytesSent === 'number' ? stat.bytesSent : null;
      const at = typeof stat?.timestamp === 'number' ? stat.timestamp : Date.now();
      const before = c.layerBytes[i];
      const kbps = bytes !== null && before && at > before.at ? ((bytes - before.bytes) * 8) / (at - before.at) : null;
      c.layerBytes[i] = bytes === null ? null : { bytes, at };
      const active = sender.getParameters?.().encodings?.[0]?.active !== false;
      out.push({
        width: typeof stat?.frameWidth === 'number' ? stat.frameWidth : null,
        height: typeof stat?.frameHeight === 'number' ? stat.frameHeight : null,
        kbps: kbps === null ? null : Math.max(0, kbps),
        active,
        limitation: typeof stat?.qualityLimitationReason === 'string' ? stat.qualityLimitationReason : null,
      });
    }
    const t = out[top]!;
    if (Date.now() - c.liveSince < WARM_UP_MS) c.congested = 0;
    else if (t.active) {
      // Short of bandwidth and the estimate not climbing (Chrome ramping up says `bandwidth` too).
      const rising = c.estimates.length > 1 && c.estimates[c.estimates.length - 1]! > c.estimates[0]! * 1.05;
      c.congested = t.limitation === 'bandwidth' && !rising ? c.congested + 1 : 0;
      if (c.congested >= CONGESTED_SAMPLES) {
        c.congested = 0;
        c.topOffAt = Date.now();
        await setLayerActive(c, top, false);
        t.active = false;
      }
    } else if (c.topOffAt !== null && Date.now() - c.topOffAt >= TOP_LAYER_RETRY_MS && media.source.peek() !== 'screen') {
      c.topOffAt = null;
      await setLayerActive(c, top, true);
    }
    t.pausedForBandwidth = !t.active && c.topOffAt !== null;
    return out;
  }

  return {
    status,
    error,
    attempt,
    figures,
    goLive,
    stop,
    streamEnded,
    leave,
    close,
  };
}


/** The selected candidate pair's availableOutgoingBitrate (the browser's estimate, bit/s). */
function availableOutgoingBitrate(report: { forEach(cb: (s: unknown) => void): void }): number | null {
  let best: number | null = null;
  report.forEach((s) => {
    const r = s as Record<string, unknown>;
    if (r.type === 'candidate-pair' && r.nominated === true && typeof r.availableOutgoingBitrate === 'number') best = Math.max(best ?? 0, r.availableOutgoingBitrate);
  });
  return best;
}

/** The WHIP URL with `replaces=<id of the failed session>` (the last path segment of its URL). */
export function replacingUrl(whipUrl: string, sessionUrl: string): string {
  const id = sessionUrl.split('?')[0]!.split('/').filter(Boolean).pop() ?? '';
  return `${whipUrl}${whipUrl.includes('?') ? '&' : '?'}replaces=${encodeURIComponent(id)}`;
}
