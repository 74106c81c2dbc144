import { batch, signal } from '@preact/signals';
import { backoffMs } from '../lib/retry.ts';
import { bufferAhead, liveSyncRate } from '../lib/live-sync.ts';

/**
 * The HLS player of the Watch page: LL-HLS of a live stream (with its DVR window) or a VOD,
 * played by hls.js (loaded on demand; Safari plays HLS natively). Exposes a timeline for the
 * seek bar and "Go live". hls.js and the <video> element come in through small interfaces,
 * so the model is testable without a browser.
 */

/** The parts of an hls.js instance the player uses. */
export interface HlsInstance {
  loadSource(url: string): void;
  attachMedia(media: HTMLMediaElement): void;
  on(event: string, listener: (event: string, data: { fatal?: boolean; type?: string; details?: string }) => void): void;
  startLoad(position?: number): void;
  recoverMediaError(): void;
  destroy(): void;
  /** Where a live stream should play to be `targetLatency` behind its edge. */
  readonly liveSyncPosition: number | null;
  readonly latency: number;
  readonly targetLatency: number | null;
}

/** The parts of the hls.js module (its default export). */
export interface HlsModule {
  new (config: Record<string, unknown>): HlsInstance;
  isSupported(): boolean;
  readonly Events: { readonly ERROR: string; readonly MANIFEST_PARSED: string };
  readonly ErrorTypes: { readonly NETWORK_ERROR: string; readonly MEDIA_ERROR: string };
}

interface TimeRangesLike {
  readonly length: number;
  start(i: number): number;
  end(i: number): number;
}

/** The parts of HTMLVideoElement the player uses. */
export interface MediaLike {
  currentTime: number;
  playbackRate: number;
  readonly duration: number;
  readonly seekable: TimeRangesLike;
  readonly buffered: TimeRangesLike;
  readonly paused: boolean;
  src: string;
  play(): Promise<void>;
  pause(): void;
  canPlayType(type: string): string;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export type HlsPlayerState = 'idle' | 'loading' | 'playing' | 'paused' | 'waiting' | 'ended' | 'error';

export interface HlsTimeline {
  current: number;
  /** Seekable range: the DVR window of a live stream, 0 .. duration of a VOD. */
  start: number;
  end: number;
  /** Seconds behind the live edge (null for a VOD). */
  behindLive: number | null;
  /** Playing at (or near) the live edge. */
  atLive: boolean;
  /** Seconds behind the live edge as hls.js estimates it (null for a VOD or before it knows). */
  latency: number | null;
}

export interface HlsPlayerDeps {
  /** `import('hls.js')`, so the library loads only when HLS is used. */
  loadHls: () => Promise<HlsModule>;
  url: string;
  live: boolean;
  /** Fatal network errors retried this many times (the server restarting, a blip). */
  maxNetworkRetries?: number;
  /** First retry's wait; later ones back off as the WebRTC players do (lib/retry.ts). */
  retryBaseMs?: number;
}

export type HlsPlayer = ReturnType<typeof createHlsPlayer>;

/** Seconds of slack beyond the target latency that still count as "live". */
const LIVE_SLACK_SECONDS = 2;

export function createHlsPlayer(deps: HlsPlayerDeps) {
  const maxRetries = deps.maxNetworkRetries ?? 5;
  const state = signal<HlsPlayerState>('idle');
  const error = signal<string | null>(null);
  const timeline = signal<HlsTimeline>({ current: 0, start: 0, end: 0, behindLive: deps.live ? 0 : null, atLive: deps.live, latency: null });

  let media: MediaLike | null = null;
  let hls: HlsInstance | null = null;
  let closed = false;
  let retries = 0;
  let mediaRecoveries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const listeners: Array<[string, () => void]> = [];

  function update(): void {
    const m = media;
    if (!m) return;
    const ranges = m.seekable;
    let start = 0;
    let end = Number.isFinite(m.duration) ? m.duration : 0;
    if (ranges.length > 0) {
      start = ranges.start(0);
      end = ranges.end(ranges.length - 1);
    }
    let behindLive: number | null = null;
    let atLive = false;
    let latency: number | null = null;
    if (deps.live) {
      const sync = hls?.liveSyncPosition;
      behindLive = Math.max(0, (sync ?? end) - m.currentTime);
      atLive = behindLive < LIVE_SLACK_SECONDS;
      latency = hls && hls.latency > 0 ? hls.latency : null;
      keepLiveSync(m, latency);
    }
    timeline.value = { current: m.currentTime, start, end, behindLive, atLive, latency };
  }

  /** Near the live edge: at the target latency (lib/live-sync.ts; hls.js's own catch-up is off). */
  function keepLiveSync(m: MediaLike, latency: number | null): void {
    const target = hls?.targetLatency;
    if (latency === null || target === null || target === undefined || m.paused) return;
    const rate = liveSyncRate({ latency, target, bufferAhead: bufferAhead(m.buffered, m.currentTime), liveWindow: LIVE_SLACK_SECONDS, rate: m.playbackRate });
    if (rate !== m.playbackRate) m.playbackRate = rate;
  }

  function on(type: string, listener: () => void): void {
    media?.addEventListener(type, listener);
    listeners.push([type, listener]);
  }

  function fail(message: string): void {
    batch(() => {
      state.value = 'error';
      error.value = message;
    });
  }

  /** Starts playing into `video` (once; later calls are ignored until close). */
  async function attach(video: MediaLike): Promise<void> {
    if (media || closed) return;
    media = video;
    state.value = 'loading';
    on('timeupdate', update);
    on('durationchange', update);
    on('playing', () => (state.value = 'playing'));
    on('pause', () => state.peek() !== 'ended' && (state.value = 'paused'));
    on('waiting', () => (state.value = 'waiting'));
    on('ended', () => {
      state.value = 'ended';
      update();
    });
    let Hls: HlsModule;
    try {
      Hls = await deps.loadHls();
    } catch {
      return fail('The HLS player could not be loaded.');
    }
    if (closed) return;
    if (!Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = deps.url; // Safari plays HLS itself
        void video.play().catch(() => undefined);
        return;
      }
      return fail('This browser cannot play HLS.');
    }
    const instance = new Hls({
      lowLatencyMode: deps.live,
      // The player keeps the target latency itself (keepLiveSync): hls.js's catch-up needs
      // more than a second of buffer, which a sub-second target never has.
      maxLiveSyncPlaybackRate: 1,
      // The seek bar shows the whole DVR window as a growing range.
      liveDurationInfinity: true,
      backBufferLength: 60,
      // Parsing fMP4 needs no worker (and the page's CSP allows none from blob: URLs).
      enableWorker: false,
    });
    hls = instance;
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || closed) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && retries < maxRetries) {
        state.value = 'waiting';
        if (retryTimer) clearTimeout(retryTimer);
        retryTimer = setTimeout(() => instance.startLoad(), backoffMs(retries, deps.retryBaseMs));
        retries += 1;
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
        mediaRecoveries += 1;
        instance.recoverMediaError();
      } else {
        fail(data.type === Hls.ErrorTypes.NETWORK_ERROR ? 'The stream could not be loaded.' : 'The video could not be decoded.');
      }
    });
    instance.on(Hls.Events.MANIFEST_PARSED, () => {
      retries = 0;
      void video.play().catch(() => undefined);
    });
    instance.loadSource(deps.url);
    instance.attachMedia(video as unknown as HTMLMediaElement);
  }

  /** Jumps to `seconds` (clamped to the seekable range). */
  function seek(seconds: number): void {
    const m = media;
    if (!m) return;
    const t = timeline.peek();
    m.currentTime = Math.min(Math.max(seconds, t.start), t.end);
    update();
  }

  /** Back to the live edge (the target latency behind it). */
  function goLive(): void {
    const m = media;
    if (!m || !deps.live) return;
    const sync = hls?.liveSyncPosition;
    m.currentTime = sync ?? Math.max(0, timeline.peek().end - 1);
    void m.play().catch(() => undefined);
    update();
  }

  function togglePause(): void {
    const m = media;
    if (!m) return;
    if (m.paused) void m.play().catch(() => undefined);
    else m.pause();
  }

  /** Stops loading and releases the video. Idempotent. */
  function close(): void {
    if (closed) return;
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    for (const [type, listener] of listeners) media?.removeEventListener(type, listener);
    listeners.length = 0;
    hls?.destroy();
    hls = null;
    media = null;
    state.value = 'idle';
  }

  return { state, error, timeline, live: deps.live, url: deps.url, attach, seek, goLive, togglePause, close };
}
