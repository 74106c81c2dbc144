import { batch, signal } from '@preact/signals';
import { ApiError, describeError } from '../lib/api-error.ts';
import type { FetchFn } from '../lib/http.ts';
import type { CreatePeerConnection, PeerConnectionLike } from '../lib/peer.ts';
import { isRetryable, retryDelayMs } from '../lib/retry.ts';
import { playerFigures, type PlayerFigures, type PlayerSample } from '../lib/rtc-stats.ts';
import { deleteSession, waitForIceGathering } from '../lib/sdp-session.ts';
import { IceServerCache } from '../lib/ice-servers.ts';
import { requestPlayback } from '../lib/whep.ts';
import { createStreamEvents, type OpenEventSource, type StreamEventMessage } from './stream-events.ts';
import type { StreamStatus } from '../../../protocol/api.ts';
import type { LayerState } from '../../../protocol/sfu.ts';

/**
 * idle: not started · offline: nothing is published (waiting for `live`) · starting: asking
 * for / setting up the first session · playing: connected and media flows ·
 * reconnecting: the publisher's media stopped (its connection may be coming back) or our
 * connection is being replaced ·
 * error: a refusal that retrying cannot fix (the message says which).
 */
export type PlayerState = 'idle' | 'offline' | 'starting' | 'playing' | 'reconnecting' | 'error';

export interface PlayerDeps {
  fetch: FetchFn;
  /** Absolute WHEP endpoint of the stream. */
  whepUrl: string;
  /** Absolute URL of `GET /streams/:id/events`. */
  eventsUrl: string;
  openEventSource: OpenEventSource;
  createPeerConnection: CreatePeerConnection;
  /** The status the page already knows (from GET /streams/:id); `offline` waits for the `live` event. */
  initialStatus?: StreamStatus | null;
  iceGatheringTimeoutMs?: number;
  connectTimeoutMs?: number;
  disconnectedGraceMs?: number;
  statsIntervalMs?: number;
}

interface Connection {
  pc: PeerConnectionLike;
  sessionUrl: string | null;
  connectTimer: ReturnType<typeof setTimeout> | null;
  disconnectTimer: ReturnType<typeof setTimeout> | null;
  sample: PlayerSample | null;
}

export type Player = ReturnType<typeof createPlayer>;

const WAITING_SAMPLE_MS = 250;
/** After the event stream drops, frames that do not move for this long mean the server is gone. */
const DROP_CHECK_MS = 400;

/**
 * The Watch page's player: follows the stream's server-sent events and holds one WHEP
 * session while the stream is live. Receive-only, so it never needs camera permission.
 * A 409 STREAM_NOT_LIVE is retried after `Retry-After` (or at once on the `live` event); a
 * failed connection, or one `disconnected` too long, is replaced with backoff; `offline`
 * ends the session and waits for `live`. When the event stream drops too, the node serving
 * us is most likely gone (a cluster node died): a connection that went `disconnected`, or
 * whose frames stopped, is replaced at once — the next POST reaches a node that is alive.
 */
export function createPlayer(deps: PlayerDeps) {
  const gatherMs = deps.iceGatheringTimeoutMs ?? 1_000;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 15_000;
  const disconnectedGraceMs = deps.disconnectedGraceMs ?? 3_000;
  const statsIntervalMs = deps.statsIntervalMs ?? 1_000;

  const events = createStreamEvents({ url: deps.eventsUrl, open: deps.openEventSource });
  const state = signal<PlayerState>('idle');
  const error = signal<string | null>(null);
  /** The received tracks (one video, one audio), for the page's <video>. */
  const tracks = signal<MediaStreamTrack[]>([]);
  const figures = signal<PlayerFigures | null>(null);
  /** Failed attempts since the last successful connection. */
  const attempt = signal(0);
  /** The last answer was 409 STREAM_NOT_LIVE: the stream is listed live but no media has arrived yet. */
  const waitingForBroadcaster = signal(false);
  /** The last answer was 503 WEBRTC_FULL: every media worker is full; where to watch meanwhile. */
  const full = signal<{ hlsUrl: string | null; retryAfterSeconds: number } | null>(null);

  let conn: Connection | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let statsTimer: ReturnType<typeof setTimeout> | null = null;
  /** One sampling loop at a time (a stop/start while a sample is pending must not fork it). */
  let statsChain = 0;
  let unsubscribe: (() => void) | null = null;
  const iceServers = new IceServerCache(deps.fetch, deps.whepUrl);
  /** Set while the ICE servers for the next connection are being asked for (a connection is on its way). */
  let asking: object | null = null;
  let everPlayed = false;
  const layers = signal<LayerState | null>(null);
  const quality = signal<number | null>(null);
  let viewportWidth: number | null = null;
  /**
   * Counts offline -> live transitions, so a 409 that raced with the stream going live is
   * retried at once. (The event stream repeats the current status on every (re)connection;
   * a repeated `live` is not a transition.)
   */
  let liveEvents = 0;
  let lastStatus: StreamStatus | null = deps.initialStatus ?? null;
  let running = false;

  function waitingState(): PlayerState {
    return everPlayed ? 'reconnecting' : 'starting';
  }

  function cancelRetry(): void {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
  }

  function retryIn(ms: number): void {
    cancelRetry();
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, ms);
  }

  async function connect(): Promise<void> {
    if (!running || conn || asking) return;
    cancelRetry();
    if (state.peek() !== 'reconnecting') state.value = waitingState();
    const liveBefore = liveEvents;
    const mine = {};
    asking = mine;
    const servers = await iceServers.get();
    if (asking !== mine) return; // stopped (or started over) meanwhile
    asking = null;
    const pc = deps.createPeerConnection({ bundlePolicy: 'max-bundle', iceServers: servers });
    const c: Connection = { pc, sessionUrl: null, connectTimer: null, disconnectTimer: null, sample: null };
    conn = c;
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addEventListener('track', (event) => {
        if (conn !== c) return;
        const track = (event as RTCTrackEvent).track;
        tracks.value = [...tracks.peek().filter((t) => t.kind !== track.kind && t.readyState !== 'ended'), track];
      });
      pc.addEventListener('connectionstatechange', () => onConnectionState(c));

      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, gatherMs);
      if (conn !== c) return;
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('The browser produced no SDP offer.');

      const answer = await requestPlayback(deps.fetch, deps.whepUrl, sdp);
      c.sessionUrl = answer.sessionUrl;
      if (conn !== c) {
        void deleteSession(deps.fetch, answer.sessionUrl, { keepalive: true });
        return;
      }
      iceServers.learn(answer.iceServers);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.answer });
      if (pc.connectionState !== 'connected') {
        c.connectTimer = setTimeout(
          () => lost(c, new ApiError('NETWORK_ERROR', 'The media connection could not be established.')),
          connectTimeoutMs,
        );
      }
      onConnectionState(c);
    } catch (err) {
      if (conn !== c) return;
      drop(c);
      refused(err, liveBefore);
    }
  }

  /** A POST (or the setup around it) failed. */
  function refused(err: unknown, liveBefore: number): void {
    if (err instanceof ApiError && err.code === 'WEBRTC_FULL') {
      // The page may switch to LL-HLS (which stops us); if it does not, try again when told.
      batch(() => {
        state.value = waitingState();
        error.value = describeError(err);
        full.value = { hlsUrl: err.hls?.url ?? null, retryAfterSeconds: err.retryAfterSeconds ?? 15 };
      });
      return retryIn(retryDelayMs(err, attempt.peek()));
    }
    if (err instanceof ApiError && err.code === 'STREAM_NOT_LIVE') {
      if (liveEvents !== liveBefore) return void connect();
      if (events.status.peek() === 'offline') return goOffline();
      batch(() => {
        state.value = waitingState();
        error.value = null;
        waitingForBroadcaster.value = true;
      });
      return retryIn(retryDelayMs(err, attempt.peek()));
    }
    if (!isRetryable(err)) {
      batch(() => {
        state.value = 'error';
        error.value = describeError(err);
      });
      return;
    }
    const delay = retryDelayMs(err, attempt.peek());
    batch(() => {
      state.value = waitingState();
      error.value = describeError(err);
      attempt.value += 1;
    });
    retryIn(delay);
  }

  /** Our connection failed (or stayed `disconnected`): replace it, unless the stream ended. */
  function lost(c: Connection, err: unknown): void {
    if (conn !== c) return;
    drop(c);
    if (events.status.peek() === 'offline') return goOffline();
    const delay = retryDelayMs(err, attempt.peek());
    batch(() => {
      state.value = 'reconnecting';
      error.value = describeError(err);
      attempt.value += 1;
    });
    retryIn(delay);
  }

  function onConnectionState(c: Connection): void {
    if (conn !== c) return;
    switch (c.pc.connectionState) {
      case 'connected':
        clearTimers(c);
        batch(() => {
          waitingForBroadcaster.value = false;
          full.value = null;
          state.value = events.active.peek() === false ? waitingState() : 'playing';
          error.value = null;
          attempt.value = 0;
        });
        everPlayed = true;
        void sendLayerPreferences();
        break;
      case 'disconnected':
        if (!events.connected.peek()) {
          lost(c, nodeGone());
          break;
        }
        c.disconnectTimer ??= setTimeout(
          () => lost(c, new ApiError('NETWORK_ERROR', 'The connection to the media server was interrupted.')),
          disconnectedGraceMs,
        );
        break;
      case 'failed':
        lost(c, new ApiError('NETWORK_ERROR', 'The connection to the media server failed.'));
        break;
      default:
        break;
    }
  }

  function onEvent(event: StreamEventMessage): void {
    if (!running) return;
    switch (event.type) {
      case 'offline':
        lastStatus = 'offline';
        if (conn) drop(conn);
        goOffline();
        break;
      case 'live':
      case 'reconnecting':
        // Reconnecting: the publisher's connection failed and it has a grace period to come
        // back. The server keeps (and takes) viewer sessions meanwhile: a session stays on the
        // stream's tracks and gets the media when the publisher is back, no new session needed.
        if (lastStatus === 'offline' || lastStatus === null) liveEvents += 1;
        lastStatus = event.type;
        if (event.type === 'reconnecting' && state.peek() === 'playing') state.value = 'reconnecting';
        if (conn || asking) return; // connecting, or playing
        if (state.peek() === 'error') attempt.value = 0;
        void connect();
        break;
      case 'inactive':
        if (state.peek() === 'playing') state.value = 'reconnecting';
        break;
      case 'active':
        if (conn?.pc.connectionState === 'connected') {
          if (state.peek() !== 'playing') state.value = 'playing';
        } else if (!conn && retryTimer) {
          void connect(); // media is back while we waited for a retry
        }
        break;
      default:
        break;
    }
  }

  /** The node serving us is gone: try again at once the first time (a balancer sends us to a live one). */
  function nodeGone(): ApiError {
    return new ApiError('NETWORK_ERROR', 'The media server stopped answering; connecting again.', attempt.peek() === 0 ? { retryAfterSeconds: 0 } : {});
  }

  /** Decoded frames of a connection now (undefined when it cannot say). */
  async function framesOf(c: Connection): Promise<number | undefined> {
    try {
      return playerFigures(await c.pc.getStats(), c.sample).figures.framesDecoded;
    } catch {
      return undefined;
    }
  }

  /**
   * The event stream just dropped: if our frames stop too, the node is gone. Checked at once
   * (two looks DROP_CHECK_MS apart) rather than at the next stats sample.
   */
  async function checkAfterDrop(): Promise<void> {
    const c = conn;
    if (!c || c.pc.connectionState !== 'connected') return;
    const before = await framesOf(c);
    await new Promise((r) => setTimeout(r, DROP_CHECK_MS));
    if (conn !== c || events.connected.peek() || before === undefined) return;
    const after = await framesOf(c);
    if (conn === c && after === before && !events.connected.peek()) lost(c, nodeGone());
  }

  function goOffline(): void {
    cancelRetry();
    everPlayed = false; // when it comes back, that is a start, not a reconnect
    batch(() => {
      state.value = 'offline';
      error.value = null;
      attempt.value = 0;
      tracks.value = [];
      figures.value = null;
      waitingForBroadcaster.value = false;
    });
  }

  function clearTimers(c: Connection): void {
    if (c.connectTimer) clearTimeout(c.connectTimer);
    if (c.disconnectTimer) clearTimeout(c.disconnectTimer);
    c.connectTimer = null;
    c.disconnectTimer = null;
  }

  /** Ends a connection: DELETE its session (errors ignored; `keepalive` so it survives unload) and close. */
  function drop(c: Connection): void {
    if (conn === c) conn = null;
    clearTimers(c);
    if (c.sessionUrl) void deleteSession(deps.fetch, c.sessionUrl, { keepalive: true });
    c.sessionUrl = null;
    try {
      c.pc.close();
    } catch {
      // already closed
    }
  }

  async function sampleStats(): Promise<void> {
    const c = conn;
    if (!c || c.pc.connectionState !== 'connected') return;
    try {
      const report = await c.pc.getStats();
      if (conn !== c) return;
      const before = c.sample?.framesDecoded ?? 0;
      const { figures: next, sample } = playerFigures(report, c.sample);
      c.sample = sample;
      figures.value = next;
      // Frames stopped while the event stream is down too: the server is gone, not the publisher.
      if (before > 0 && next.framesDecoded === before && !events.connected.peek()) return lost(c, nodeGone());
      // Frames are being decoded: that is playing (the server's `active` can lag the first
      // frames by a second), unless the server said the media stopped: frames still in the
      // jitter buffer are decoded after its `inactive`.
      const s = state.peek();
      if (next.framesDecoded > before && (s === 'starting' || (s === 'reconnecting' && events.active.peek() !== false))) state.value = 'playing';
    } catch {
      // closing
    }
  }

  /** Samples every `statsIntervalMs`, and four times a second while waiting for the first frames. */
  function scheduleStats(chain = ++statsChain): void {
    if (!running || chain !== statsChain) return;
    const delay = state.peek() === 'playing' ? statsIntervalMs : Math.min(statsIntervalMs, WAITING_SAMPLE_MS);
    statsTimer = setTimeout(() => {
      void sampleStats().then(() => scheduleStats(chain));
    }, delay);
  }

  /** Subscribes to the stream's events and starts playing when it is (or may be) live. */
  function start(): void {
    if (running) return;
    running = true;
    const offEvents = events.subscribe(onEvent);
    let wasConnected = false;
    const offConnected = events.connected.subscribe((up) => {
      if (wasConnected && !up) void checkAfterDrop();
      wasConnected = up;
    });
    unsubscribe = () => {
      offEvents();
      offConnected();
    };
    events.start();
    scheduleStats();
    const known = events.status.peek() ?? deps.initialStatus ?? null;
    if (known === 'offline') goOffline();
    else void connect();
  }

  /** Leaves: DELETE the session (keepalive, for `pagehide`), close the connection and the event stream. */
  function stop(): void {
    if (!running) return;
    running = false;
    asking = null;
    cancelRetry();
    if (statsTimer) clearTimeout(statsTimer);
    statsTimer = null;
    statsChain += 1;
    unsubscribe?.();
    unsubscribe = null;
    events.close();
    if (conn) drop(conn);
    batch(() => {
      state.value = 'idle';
      tracks.value = [];
      figures.value = null;
      full.value = null;
    });
  }

  /** After an error: try again now. */
  function retry(): void {
    if (!running || conn) return;
    attempt.value = 0;
    error.value = null;
    void connect();
  }

  // ------------------------------------------------------------ simulcast layers

  /**
   * Tells the server what this viewer is like — its player's width in device pixels and the
   * quality chosen in the menu — so a simulcast stream sends it the layer that suits it (a
   * thumbnail-sized player never gets 720p). Answered with the stream's layers (null
   * without simulcast), which the quality menu and the stats overlay show.
   */
  async function sendLayerPreferences(): Promise<void> {
    const c = conn;
    if (!c?.sessionUrl || c.pc.connectionState !== 'connected') return;
    const sent = { width: viewportWidth, layer: quality.peek() };
    try {
      const response = await deps.fetch(`${c.sessionUrl}/layers`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ maxWidth: sent.width, layer: sent.layer }),
      });
      const body = (await response.json().catch(() => null)) as { layers?: LayerState | null } | null;
      if (conn !== c || !response.ok || !body) return;
      layers.value = body.layers ?? null;
      // The player was resized (or a quality picked) while this was on its way: say it again.
      if (layers.peek() !== null && (viewportWidth !== sent.width || quality.peek() !== sent.layer)) void sendLayerPreferences();
    } catch {
      // The next connection tells it again.
    }
  }

  /** The player's width in device pixels (a resize of less than a tenth is not worth saying). */
  function setViewportWidth(width: number): void {
    const w = Math.max(1, Math.round(width));
    if (viewportWidth !== null && Math.abs(w - viewportWidth) < viewportWidth * 0.1) return;
    viewportWidth = w;
    // A stream without simulcast has nothing to choose: the next connection says it again.
    if (layers.peek() !== null) void sendLayerPreferences();
  }

  /** A quality from the menu: a layer index (0 = lowest), or null for automatic. */
  function setQuality(layer: number | null): void {
    quality.value = layer;
    void sendLayerPreferences();
  }

  return {
    state,
    error,
    tracks,
    figures,
    /** The stream's simulcast layers as the server last said (null: one layer, or not known yet). */
    layers,
    /** The quality the viewer chose (layer index), null = automatic. */
    quality,
    setViewportWidth,
    setQuality,
    /** Asks the server for the layer state again (the stats overlay does, every few seconds). */
    refreshLayers: sendLayerPreferences,
    attempt,
    waitingForBroadcaster,
    full,
    /** Viewer count from the `viewercount` event. */
    viewers: events.viewers,
    /** live/reconnecting/offline as the event stream last said (null before its first event). */
    streamStatus: events.status,
    start,
    stop,
    close: stop,
    retry,
  };
}
