import { describe, expect, it } from 'vitest';
import { CHROMIUM_VIDEO_CODECS } from '../state/media-testing.ts';
import { orderVideoCodecs, preferH264, whipUrl } from './whip.ts';
import { streamEventsUrl, whepUrl } from './whep.ts';

describe('video codec order for publishing', () => {
  it('puts H.264 packetization-mode 1 first, 42e01f before other profiles, the rest in browser order', () => {
    const ordered = orderVideoCodecs(CHROMIUM_VIDEO_CODECS)!;
    expect(ordered.map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim())).toEqual([
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
      'video/VP8',
      'video/rtx',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
      'video/H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
      'video/AV1 level-idx=5;profile=0;tier=0',
      'video/VP9 profile-id=0',
    ]);
    expect(ordered).toHaveLength(CHROMIUM_VIDEO_CODECS.length);
  });

  it('leaves the browser default when there is no H.264 packetization-mode 1', () => {
    const vp8only = CHROMIUM_VIDEO_CODECS.filter((c) => !c.sdpFmtpLine?.includes('packetization-mode=1'));
    expect(orderVideoCodecs(vp8only)).toBeNull();
    const transceiver = { calls: 0, setCodecPreferences: () => void (transceiver.calls += 1) };
    expect(preferH264(transceiver, vp8only)).toBe(false);
    expect(transceiver.calls).toBe(0);
  });

  it('falls back quietly when the browser refuses the preferences or has no API for them', () => {
    expect(preferH264({}, CHROMIUM_VIDEO_CODECS)).toBe(false);
    const refusing = {
      setCodecPreferences: () => {
        throw new Error('InvalidModificationError');
      },
    };
    expect(preferH264(refusing, CHROMIUM_VIDEO_CODECS)).toBe(false);
    expect(preferH264({ setCodecPreferences: () => undefined }, null)).toBe(false);
  });
});

describe('media URLs', () => {
  it('are on the page origin', () => {
    expect(whipUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/whip');
    expect(whepUrl('https://glint.test', 'a b')).toBe('https://glint.test/whep/a%20b');
    expect(streamEventsUrl('https://glint.test', 'x')).toBe('https://glint.test/streams/x/events');
  });
});
