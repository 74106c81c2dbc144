import { describe, expect, it, vi } from 'vitest';
import type { PlaybackView } from '../../../protocol/api.ts';
import { createWatchMode } from './create-watch-mode.ts';

const view = (over: Partial<PlaybackView> = {}): PlaybackView => ({ preferred: 'webrtc', webrtcViewers: 0, webrtc: 'available', hls: { url: '/hls/s/master.m3u8' }, ...over });

describe('watch mode', () => {
  it('starts with WebRTC, and with HLS when the server prefers it for a recorded stream', async () => {
    const a = createWatchMode({ playback: async () => view() });
    expect(a.mode.value).toBe('pending');
    await a.start();
    expect(a.mode.value).toBe('webrtc');
    const b = createWatchMode({ playback: async () => view({ preferred: 'hls', webrtcViewers: 500 }) });
    await b.start();
    expect(b.mode.value).toBe('hls');
    expect(b.preferredHls.value).toBe(true);
    expect(b.hlsUrl.value).toBe('/hls/s/master.m3u8');
  });

  it('falls back to WebRTC when the server cannot be asked', async () => {
    const m = createWatchMode({ playback: async () => Promise.reject(new Error('offline')) });
    await m.start();
    expect(m.mode.value).toBe('webrtc');
  });

  it('switches to HLS only when the stream is recorded, asking again first', async () => {
    let answer = view({ hls: null });
    const m = createWatchMode({ playback: async () => answer });
    await m.start();
    await m.useHls();
    expect(m.mode.value).toBe('webrtc');
    expect(m.notice.value).toMatch(/not being recorded/);
    answer = view();
    await m.useHls();
    expect(m.mode.value).toBe('hls');
    expect(m.notice.value).toBeNull();
    m.useWebRtc();
    expect(m.mode.value).toBe('webrtc');
  });

  it('plays a VOD and goes back to the live player', async () => {
    const m = createWatchMode({ playback: async () => view() });
    await m.start();
    const vod = { id: 'r1', streamId: 's' as never, startedAt: '2026-01-01T00:00:00Z', endedAt: null, durationSeconds: 12, playlistUrl: '/hls/s/r1/master.m3u8' };
    m.playVod(vod);
    expect(m.mode.value).toBe('vod');
    expect(m.vod.value).toBe(vod);
    m.useWebRtc();
    expect(m.vod.value).toBeNull();
  });

  it('plays LL-HLS while WebRTC is full, asks every Retry-After (not faster), and goes back to WebRTC when there is room', async () => {
    vi.useFakeTimers();
    try {
      let answer = view({ webrtc: 'full' });
      let asked = 0;
      const m = createWatchMode({ playback: async () => (asked++, answer) });
      await m.start();
      expect(m.mode.value).toBe('webrtc');
      m.overflow('/hls/s/master.m3u8', 15);
      expect(m.mode.value).toBe('hls');
      expect(m.overflowed.value).toBe(true);
      const before = asked;
      await vi.advanceTimersByTimeAsync(14_000);
      expect(asked).toBe(before);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(asked).toBe(before + 1);
      expect(m.mode.value).toBe('hls');
      answer = view({ webrtc: 'available' });
      await vi.advanceTimersByTimeAsync(15_000);
      expect(m.mode.value).toBe('webrtc');
      expect(m.overflowed.value).toBe(false);
      // Back on WebRTC: no more polling.
      const after = asked;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(asked).toBe(after);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops asking when the viewer picks a player by hand', async () => {
    vi.useFakeTimers();
    try {
      let asked = 0;
      const m = createWatchMode({ playback: async () => (asked++, view({ webrtc: 'full' })) });
      await m.start();
      m.overflow('/hls/s/master.m3u8', 15);
      await m.useHls();
      const before = asked;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(asked).toBe(before);
      expect(m.overflowed.value).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
