/**
 * hls.js in a Chromium page, for tests and benchmarks: plays an HLS URL of the test server
 * in a muted <video> (low-latency mode for live streams) and exposes what a test checks:
 * playback position, buffered ranges, errors (fatal or not), latency.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const HLS_JS = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'), 'utf8');

const PLAYER = `(url, config) => {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const hls = new Hls({ enableWorker: false, lowLatencyMode: true, ...config });
  window.__hlsErrors = [];
  window.__hlsEvents = { discontinuities: 0, levelsLoaded: 0, fragsBuffered: 0 };
  hls.on(Hls.Events.ERROR, (_e, d) => window.__hlsErrors.push({ type: d.type, details: d.details, fatal: d.fatal }));
  hls.on(Hls.Events.LEVEL_LOADED, () => window.__hlsEvents.levelsLoaded++);
  hls.on(Hls.Events.FRAG_BUFFERED, (_e, d) => {
    window.__hlsEvents.fragsBuffered++;
    if (d.frag && d.frag.sn !== 'initSegment' && window.__lastCc !== undefined && d.frag.cc !== window.__lastCc) window.__hlsEvents.discontinuities++;
    if (d.frag && d.frag.sn !== 'initSegment') window.__lastCc = d.frag.cc;
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => {});
  window.__video = video;
  window.__hls = hls;
}`;

export interface PlayerState {
  currentTime: number;
  duration: number;
  readyState: number;
  paused: boolean;
  ended: boolean;
  /** Seconds behind the live edge as hls.js sees it (null for VOD). */
  latency: number | null;
  errors: Array<{ type: string; details: string; fatal: boolean }>;
  discontinuities: number;
  videoWidth: number;
}

export interface HlsPlayer {
  page: Page;
  state(): Promise<PlayerState>;
  /** Resolves once `check` holds for the player state; fails with the last state after `timeoutMs`. */
  until(what: string, check: (s: PlayerState) => boolean, timeoutMs?: number): Promise<PlayerState>;
  close(): Promise<void>;
}

export async function openHlsPlayer(browser: Browser, pageUrl: string, hlsUrl: string, config: Record<string, unknown> = {}): Promise<HlsPlayer> {
  const context: BrowserContext = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.evaluate(HLS_JS);
  await page.evaluate(`(${PLAYER})(${JSON.stringify(hlsUrl)}, ${JSON.stringify(config)})`);
  const state = async (): Promise<PlayerState> =>
    (await page.evaluate(`(() => {
      const v = window.__video, h = window.__hls;
      return { currentTime: v.currentTime, duration: v.duration, readyState: v.readyState, paused: v.paused, ended: v.ended,
        latency: Number.isFinite(h.latency) && h.latency > 0 ? h.latency : null, errors: window.__hlsErrors,
        discontinuities: window.__hlsEvents.discontinuities, videoWidth: v.videoWidth };
    })()`)) as PlayerState;
  return {
    page,
    state,
    async until(what, check, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      let last = await state();
      while (!check(last)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; player: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
        last = await state();
      }
      return last;
    },
    close: () => context.close(),
  };
}
