import { batch, signal } from '@preact/signals';
import type { PlaybackView, VodView } from '../../../protocol/api.ts';

/**
 * Which player the Watch page shows. WebRTC first (sub-second); LL-HLS with its DVR window
 * when the viewer asks for it, or from the start when the server says the stream has too
 * many WebRTC viewers, or when WebRTC is full (back to WebRTC once the server has room); a
 * VOD when the viewer picks a past broadcast.
 * pending: asking the server · webrtc · hls: the live stream over LL-HLS · vod.
 */
export type WatchMode = 'pending' | 'webrtc' | 'hls' | 'vod';

export interface WatchModeDeps {
  /** `GET /streams/:id/playback`. */
  playback: () => Promise<PlaybackView>;
}

export type WatchModeModel = ReturnType<typeof createWatchMode>;

export function createWatchMode(deps: WatchModeDeps) {
  const mode = signal<WatchMode>('pending');
  /** The live master playlist, when the stream is being recorded. */
  const hlsUrl = signal<string | null>(null);
  const vod = signal<VodView | null>(null);
  /** The server chose HLS for us (too many WebRTC viewers). */
  const preferredHls = signal(false);
  /** WebRTC was full (WHEP answered WEBRTC_FULL): playing LL-HLS until the server has room again. */
  const overflowed = signal(false);
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  const notice = signal<string | null>(null);
  /** The live HLS playback reached EXT-X-ENDLIST: the broadcast is over (its VOD is coming). */
  const liveEnded = signal(false);
  let generation = 0;

  async function refresh(): Promise<PlaybackView | null> {
    const mine = ++generation;
    try {
      const view = await deps.playback();
      if (mine !== generation) return null;
      hlsUrl.value = view.hls?.url ?? null;
      return view;
    } catch {
      return null;
    }
  }

  /** Decides the first player: HLS when the server prefers it and the stream is recorded, else WebRTC. */
  async function start(): Promise<void> {
    const view = await refresh();
    if (mode.peek() !== 'pending') return;
    const hls = !!view && view.preferred === 'hls' && !!view.hls;
    batch(() => {
      preferredHls.value = hls;
      mode.value = hls ? 'hls' : 'webrtc';
    });
  }

  function stopPolling(): void {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  /**
   * Every media worker is full: play the live LL-HLS playlist the server named, and ask the
   * server every `retryAfterSeconds` whether WebRTC has room again (then switch back).
   */
  function overflow(url: string, retryAfterSeconds: number): void {
    stopPolling();
    batch(() => {
      vod.value = null;
      hlsUrl.value = url;
      overflowed.value = true;
      notice.value = null;
      mode.value = 'hls';
    });
    const everyMs = Math.max(5, retryAfterSeconds) * 1000;
    const poll = () => {
      pollTimer = setTimeout(async () => {
        const view = await refresh();
        if (!overflowed.peek() || mode.peek() !== 'hls') return;
        if (view?.webrtc === 'available') useWebRtc();
        else poll();
      }, everyMs);
    };
    poll();
  }

  function useWebRtc(): void {
    stopPolling();
    batch(() => {
      overflowed.value = false;
      notice.value = null;
      vod.value = null;
      mode.value = 'webrtc';
    });
  }

  /** Switches to LL-HLS / DVR (asks again where the live playlist is: recording may have just begun). */
  async function useHls(): Promise<void> {
    stopPolling();
    if (!hlsUrl.peek()) await refresh();
    batch(() => {
      overflowed.value = false;
      vod.value = null;
      if (hlsUrl.peek()) {
        notice.value = null;
        mode.value = 'hls';
      } else {
        notice.value = 'HLS is not available: this stream is not being recorded right now.';
      }
    });
  }

  function playVod(v: VodView): void {
    stopPolling();
    batch(() => {
      overflowed.value = false;
      notice.value = null;
      vod.value = v;
      mode.value = 'vod';
    });
  }

  function endedLive(): void {
    liveEnded.value = true;
  }

  function close(): void {
    generation += 1;
    stopPolling();
  }

  return { mode, hlsUrl, vod, preferredHls, overflowed, notice, liveEnded, start, refresh, useWebRtc, useHls, playVod, overflow, endedLive, close };
}
