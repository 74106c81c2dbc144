/**
 * The Watch page's HLS and VOD playback in Chromium, against a real server with real FFmpeg:
 * WebRTC first; HLS by default once the stream has `hls.preferAboveViewers` WebRTC viewers;
 * the DVR seek bar and "Go live"; switching a WebRTC viewer to HLS ends its WebRTC session;
 * and after Stop, the past broadcast is listed and plays to its end.
 *
 * Needs `dist/client` built first (`npm test` runs `vite build`).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import type { TestServer } from '../helpers/server.ts';
import { requireBuiltClient } from '../helpers/chromium.ts';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';

let broadcast: Broadcast;
let server: TestServer;
let browser: Browser;
let token: string;
let streamId: string;
const contexts: BrowserContext[] = [];
const problems: string[] = [];

async function openWatch(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource.*(404|409)/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  await page.goto(`${server.url}/watch/${streamId}`);
  return page;
}

/** The HLS <video>'s clock, sampled twice: it must move. */
async function hlsAdvances(page: Page): Promise<void> {
  const t = () => page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')!.currentTime);
  await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')?.currentTime ?? 0) > 0.5);
  const a = await t();
  await new Promise((r) => setTimeout(r, 1500));
  expect(await t()).toBeGreaterThan(a + 0.5);
}

beforeAll(async () => {
  requireBuiltClient();
  broadcast = await startBroadcast({ config: { recording: { enabled: true }, hls: { preferAboveViewers: 1 } }, username: 'hlswatcher', title: 'Watch over HLS' });
  ({ server, browser, token, streamId } = broadcast);
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await broadcast?.stop();
}, 30_000);

it('plays WebRTC first, HLS by default above the viewer limit, seeks in the DVR window and goes back live', async () => {
  const first = await openWatch();
  await first.waitForSelector('[data-testid="playback-mode"][data-mode="webrtc"]');
  await first.waitForSelector('[data-testid="player"][data-state="playing"]');
  // The browser can see its connection up a moment before the SFU reports its end of it.
  await until('the server to count the WebRTC viewer', () => server.app.media.viewerCount(streamId as StreamId) === 1);

  // One WebRTC viewer = the limit: the next viewer starts on LL-HLS, without a WebRTC session.
  await until('a few seconds of DVR', segmentsRecorded(5));
  const second = await openWatch();
  await second.waitForSelector('[data-testid="playback-mode"][data-mode="hls"]');
  await expect(second.getByText('Many viewers: playing over HLS.').isVisible()).resolves.toBe(true);
  await second.waitForSelector('[data-testid="hls-player"][data-live="true"]');
  await hlsAdvances(second);
  expect(server.app.media.viewerCount(streamId as StreamId)).toBe(1);

  // Back 3 s in the DVR window, then "Go live".
  const seek = second.getByTestId('hls-seek');
  await second.waitForFunction(() => Number(document.querySelector('[data-testid="hls-seek"]')?.getAttribute('data-end')) - Number(document.querySelector('[data-testid="hls-seek"]')?.getAttribute('data-start')) > 4);
  const end = Number(await seek.getAttribute('data-end'));
  await seek.fill(String(Math.max(0, end - 4)));
  await second.waitForFunction(() => Number(document.querySelector('[data-testid="hls-behind-live"]')?.getAttribute('data-seconds')) > 2.5);
  expect(await second.getByTestId('go-live').isEnabled()).toBe(true);
  await hlsAdvances(second);
  await second.getByTestId('go-live').click();
  await second.waitForFunction(() => document.querySelector('[data-testid="hls-behind-live"]')?.textContent === 'LIVE');
  await hlsAdvances(second);

  // The WebRTC viewer switches to HLS: its WebRTC session ends.
  await first.getByRole('button', { name: 'HLS (large audience) / DVR' }).click();
  await first.waitForSelector('[data-testid="playback-mode"][data-mode="hls"]');
  await hlsAdvances(first);
  await until('the WebRTC session to end', () => server.app.media.viewerCount(streamId as StreamId) === 0);
  expect(problems).toEqual([]);
}, 90_000);

it('lists the broadcast after Stop and plays it from start to end', async () => {
  await until('a few seconds recorded', segmentsRecorded(5)); // also when the test above ended early
  const stop = await fetch(`${server.url}/streams/${streamId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  expect(stop.status).toBe(200);
  const page = await openWatch();
  await page.waitForSelector('[data-testid="vod-item"]', { timeout: 20_000 });
  await page.getByRole('button', { name: /^Play the broadcast/ }).first().click();
  await page.waitForSelector('[data-testid="hls-player"][data-live="false"]');
  await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')?.duration ?? 0) > 3);
  const duration = await page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')!.duration);
  await page.evaluate(() => (document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')!.playbackRate = 4));
  await page.waitForSelector('[data-testid="hls-player"][data-state="ended"]', { timeout: 30_000 });
  const at = await page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')!.currentTime);
  expect(at).toBeGreaterThan(duration - 0.5);
  expect(problems).toEqual([]);
}, 60_000);

/** True once the live playlist holds at least `n` segments. */
function segmentsRecorded(n: number): () => Promise<boolean> {
  return async () => (await (await fetch(`${server.url}/hls/${streamId}/index.m3u8`)).text()).split('#EXTINF').length > n;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
