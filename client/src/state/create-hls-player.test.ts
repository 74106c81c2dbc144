import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHlsPlayer, type HlsInstance, type HlsModule, type MediaLike } from './create-hls-player.ts';

type Listener = (event: string, data: { fatal?: boolean; type?: string; details?: string }) => void;

/** hls.js as far as the player uses it: records calls, lets the test fire events. */
function fakeHls(supported = true) {
  const instances: Array<HlsInstance & { config: Record<string, unknown>; fire: Listener; calls: string[]; sync: number | null }> = [];
  class FakeHls {
    static Events = { ERROR: 'hlsError', MANIFEST_PARSED: 'hlsManifestParsed' };
    static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };
    static isSupported = () => supported;
    listeners = new Map<string, Listener[]>();
    calls: string[] = [];
    sync: number | null = 100;
    latency = 1.2;
    targetLatency = 1.05;
    constructor(readonly config: Record<string, unknown>) {
      instances.push(this as never);
    }
    get liveSyncPosition() {
      return this.sync;
    }
    on(event: string, l: Listener) {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), l]);
    }
    fire: Listener = (event, data) => {
      for (const l of this.listeners.get(event) ?? []) l(event, data);
    };
    loadSource(url: string) {
      this.calls.push(`load ${url}`);
    }
    attachMedia() {
      this.calls.push('attach');
    }
    startLoad() {
      this.calls.push('startLoad');
    }
    recoverMediaError() {
      this.calls.push('recover');
    }
    destroy() {
      this.calls.push('destroy');
    }
  }
  return { module: FakeHls as unknown as HlsModule, instances };
}

function fakeVideo(range: [number, number] = [40, 102], buffered: [number, number] = range) {
  const listeners = new Map<string, Array<() => void>>();
  const video = {
    currentTime: 0,
    playbackRate: 1,
    duration: Infinity,
    paused: true,
    src: '',
    seekable: { length: 1, start: () => range[0], end: () => range[1] },
    buffered: { length: 1, start: () => buffered[0], end: () => buffered[1] },
    play: vi.fn(async () => void (video.paused = false)),
    pause: vi.fn(() => void (video.paused = true)),
    canPlayType: () => '',
    addEventListener: (t: string, l: () => void) => listeners.set(t, [...(listeners.get(t) ?? []), l]),
    removeEventListener: (t: string, l: () => void) => listeners.set(t, (listeners.get(t) ?? []).filter((x) => x !== l)),
    emit: (t: string) => (listeners.get(t) ?? []).forEach((l) => l()),
    listenerCount: () => [...listeners.values()].reduce((a, l) => a + l.length, 0),
  };
  return video satisfies MediaLike & object;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('HLS player', () => {
  it('plays a live stream in low-latency mode and tracks the DVR window and the distance to live', async () => {
    const hls = fakeHls();
    const player = createHlsPlayer({ loadHls: async () => hls.module, url: 'http://x/hls/s/master.m3u8', live: true });
    const video = fakeVideo();
    await player.attach(video);
    const [instance] = hls.instances;
    expect(instance!.config).toMatchObject({ lowLatencyMode: true, enableWorker: false, liveDurationInfinity: true });
    expect(instance!.calls).toEqual(['load http://x/hls/s/master.m3u8', 'attach']);
    instance!.fire('hlsManifestParsed', {});
    expect(video.play).toHaveBeenCalled();

    video.currentTime = 99.5;
    video.emit('timeupdate');
    video.emit('playing');
    expect(player.state.value).toBe('playing');
    expect(player.timeline.value).toMatchObject({ start: 40, end: 102, current: 99.5, atLive: true });
    expect(player.timeline.value.behindLive).toBeCloseTo(0.5, 6);

    player.seek(10); // clamped to the window
    expect(video.currentTime).toBe(40);
    expect(player.timeline.value.atLive).toBe(false);
    expect(player.timeline.value.behindLive).toBe(60);
    player.goLive();
    expect(video.currentTime).toBe(100);
    expect(player.timeline.value.atLive).toBe(true);

    player.close();
    expect(instance!.calls.at(-1)).toBe('destroy');
    expect(video.listenerCount()).toBe(0);
  });

  it('keeps the target latency itself: faster while behind with a buffer, normal speed at the target', async () => {
    const hls = fakeHls();
    const player = createHlsPlayer({ loadHls: async () => hls.module, url: 'u', live: true });
    const video = fakeVideo([40, 102], [98, 101.6]);
    await player.attach(video);
    const instance = hls.instances[0]! as unknown as { latency: number; targetLatency: number; config: Record<string, unknown> };
    // hls.js's own catch-up (which needs over a second of buffer) is off.
    expect(instance.config.maxLiveSyncPlaybackRate).toBe(1);
    await video.play();
    video.currentTime = 100;
    instance.latency = 1.35; // 0.3 s behind its 1.05 s target, 1.6 s buffered
    video.emit('timeupdate');
    expect(video.playbackRate).toBe(1.15);
    expect(player.timeline.value.latency).toBe(1.35);
    instance.latency = 1.06;
    video.emit('timeupdate');
    expect(video.playbackRate).toBe(1);
    // Behind, but the buffer is almost empty: never a stall for latency's sake.
    instance.latency = 1.4;
    video.currentTime = 101.5;
    video.emit('timeupdate');
    expect(video.playbackRate).toBe(1);
  });

  it('retries fatal network errors, recovers media errors, and gives up with a message', async () => {
    const hls = fakeHls();
    const player = createHlsPlayer({ loadHls: async () => hls.module, url: 'u', live: true, maxNetworkRetries: 1, retryBaseMs: 1000 });
    await player.attach(fakeVideo());
    const instance = hls.instances[0]!;
    instance.fire('hlsError', { fatal: false, type: 'networkError' });
    expect(player.state.value).toBe('loading');
    instance.fire('hlsError', { fatal: true, type: 'networkError' });
    expect(player.state.value).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(instance.calls).toContain('startLoad');
    instance.fire('hlsError', { fatal: true, type: 'mediaError' });
    expect(instance.calls).toContain('recover');
    instance.fire('hlsError', { fatal: true, type: 'networkError' });
    expect(player.state.value).toBe('error');
    expect(player.error.value).toBe('The stream could not be loaded.');
  });

  it('plays a VOD over its whole length and reports its end', async () => {
    const hls = fakeHls();
    const player = createHlsPlayer({ loadHls: async () => hls.module, url: 'vod', live: false });
    const video = fakeVideo([0, 42]);
    await player.attach(video);
    expect(hls.instances[0]!.config.lowLatencyMode).toBe(false);
    video.currentTime = 41.9;
    video.emit('ended');
    expect(player.state.value).toBe('ended');
    expect(player.timeline.value).toMatchObject({ start: 0, end: 42, behindLive: null });
  });

  it('uses native HLS where hls.js is not supported, and says so where neither works', async () => {
    const native = fakeVideo();
    native.canPlayType = () => 'maybe';
    const a = createHlsPlayer({ loadHls: async () => fakeHls(false).module, url: 'http://x/a.m3u8', live: true });
    await a.attach(native);
    expect(native.src).toBe('http://x/a.m3u8');
    const b = createHlsPlayer({ loadHls: async () => fakeHls(false).module, url: 'u', live: true });
    await b.attach(fakeVideo());
    expect(b.state.value).toBe('error');
    expect(b.error.value).toMatch(/cannot play HLS/);
  });
});
