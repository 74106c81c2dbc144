/**
 * The ABR ladder (recording.abr): the source stays copied; rungs below the source's height
 * are encoded by a second FFmpeg with keyframes where the source has them, listed in the
 * master playlist, and play in Chromium.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.ts';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';
import { openHlsPlayer } from '../helpers/hls-player.ts';
import { checkMedia, checkPlaylist, parsePlaylist } from './conformance.ts';

let broadcast: Broadcast;
let server: TestServer;
let browser: Browser;
let streamId: string;

beforeAll(async () => {
  broadcast = await startBroadcast({ config: { recording: { enabled: true, abr: true } }, username: 'ladder', title: 'ABR', publish: { width: 640, height: 360 } });
  ({ server, browser, streamId } = broadcast);
}, 60_000);

afterAll(() => broadcast?.stop(), 30_000);

it('lists the copied source and the rungs below it, each a conforming LL-HLS playlist that plays', async () => {
  const end = Date.now() + 25_000;
  let master = '';
  let rung = parsePlaylist('#EXTM3U\n');
  for (;;) {
    master = await (await fetch(`${server.url}/hls/${streamId}/master.m3u8`)).text();
    const res = await fetch(`${server.url}/hls/${streamId}/240p.m3u8`);
    if (res.status === 200) rung = parsePlaylist(await res.text());
    if (master.includes('240p.m3u8') && rung.segments.length >= 2) break;
    if (Date.now() > end) throw new Error(`no 240p rendition in time:\n${master}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  // Only rungs below the 360p source: no 720p or 480p copies of it.
  const variants = [...master.matchAll(/#EXT-X-STREAM-INF:([^\n]+)\n([^\n]+)/g)].map((m) => [m[2], /RESOLUTION=(\d+x\d+)/.exec(m[1]!)?.[1]]);
  expect(variants).toEqual([['index.m3u8', '640x360'], ['240p.m3u8', '426x240']]);
  expect(master).toMatch(/CODECS="avc1\.4d4029,mp4a\.40\.2"/);
  expect(checkPlaylist(rung, { live: true })).toEqual([]);
  expect(await checkMedia(rung, `${server.url}/hls/${streamId}/240p.m3u8`)).toEqual([]);

  // hls.js orders levels by bandwidth: level 0 is the 240p rung; keep it there.
  const player = await openHlsPlayer(browser, `${server.url}/healthz`, `${server.url}/hls/${streamId}/master.m3u8`, { startLevel: 0 });
  try {
    await player.page.evaluate('window.__hls.autoLevelCapping = 0');
    const s = await player.until('the 240p rung to play', (x) => x.currentTime > 1 && x.videoWidth === 426, 25_000);
    expect(s.errors.filter((e) => e.fatal)).toEqual([]);
  } finally {
    await player.close();
  }
}, 60_000);
