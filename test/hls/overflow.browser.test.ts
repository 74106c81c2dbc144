/**
 * Automatic overflow to LL-HLS, in Chromium against a real server with real FFmpeg: when
 * every media worker is full, WHEP answers 503 WEBRTC_FULL naming the stream's LL-HLS
 * playlist; the Watch page plays it by itself, says why, and goes back to WebRTC once a
 * WebRTC viewer leaves (it asks the server every Retry-After, it does not hammer WHEP).
 *
 * Needs `dist/client` built first (`npm test` runs `vite build`).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import { requireBuiltClient } from '../helpers/chromium.ts';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';
import { until } from '../helpers/wait.ts';

let broadcast: Broadcast;
const contexts: BrowserContext[] = [];

async function openWatch(): Promise<{ page: Page; context: BrowserContext; whepPosts: () => number }> {
  const context = await broadcast.browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  let posts = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && /^\/whep\/[^/]+$/.test(new URL(r.url()).pathname)) posts++; // offers, not session URLs
  });
  await page.goto(`${broadcast.server.url}/watch/${broadcast.streamId}`);
  return { page, context, whepPosts: () => posts };
}

beforeAll(async () => {
  requireBuiltClient();
  // One worker with room for the publisher and one viewer.
  broadcast = await startBroadcast({ config: { recording: { enabled: true }, rtc: { maxPeersPerWorker: 2 } }, username: 'crowded', title: 'High demand' });
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await broadcast?.stop();
}, 30_000);

it('plays LL-HLS by itself while WebRTC is full, says why, and returns to WebRTC when there is room', async () => {
  const { server, streamId } = broadcast;
  await until('the recording to start', () => (server.app.recording.isRecording(streamId as StreamId) ? true : undefined), 20_000);
  const first = await openWatch();
  await first.page.waitForSelector('[data-testid="player"][data-state="playing"]');
  expect(server.app.media.canTakeViewer()).toBe(false);

  // The API says so to any client, and names the playlist.
  const refused = await fetch(`${server.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('15');
  const body = await refused.json();
  expect(body.error.code).toBe('WEBRTC_FULL');
  expect(body.error.hls).toEqual({ url: `/hls/${streamId}/master.m3u8` });
  expect((await (await fetch(`${server.url}/streams/${streamId}/playback`)).json()).webrtc).toBe('full');

  const second = await openWatch();
  await second.page.waitForSelector('[data-testid="playback-mode"][data-mode="hls"]');
  await second.page.waitForSelector('[data-testid="overflow-notice"]');
  expect(await second.page.getByTestId('overflow-notice').textContent()).toMatch(/High demand: watching with ~1 s delay/);
  await second.page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('[data-testid="hls-video"]')?.currentTime ?? 0) > 0.5);
  await second.page.screenshot({ path: 'test-results/overflow-hls.png' });

  // The WebRTC viewer leaves: within one Retry-After the second page is back on WebRTC.
  await first.context.close();
  await until('a free WebRTC place', () => (server.app.media.canTakeViewer() ? true : undefined), 10_000);
  await second.page.waitForSelector('[data-testid="playback-mode"][data-mode="webrtc"]', { timeout: 25_000 });
  await second.page.waitForSelector('[data-testid="player"][data-state="playing"]');
  expect(await second.page.getByTestId('overflow-notice').count()).toBe(0);
  // One refused POST, one accepted: the page polled the playback view, not WHEP.
  expect(second.whepPosts()).toBe(2);
}, 90_000);
