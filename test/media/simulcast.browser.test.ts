/**
 * Simulcast from the Studio in Chromium: the fake 720p camera goes out as three layers
 * (320×180, 640×360, 1280×720), shown in the Studio's figures; a Watch page with a large
 * player gets the 720p layer, one 320 px wide gets the smallest, and the small one gets
 * 720p once its viewer picks it in the quality menu (and the smallest again on Auto).
 *
 * Needs `dist/client` built (`npm test` runs `vite build`).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, requireBuiltClient } from '../helpers/chromium.ts';
import { postJson } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { firstFrame, loggedInPage, openStudio } from '../helpers/watch-page.ts';

const username = `layers_${Date.now().toString(36)}`;
const password = 'Quartz-Meadow-Signal-5821';

let server: TestServer;
let browser: Browser;
let token: string;
const contexts: BrowserContext[] = [];
const problems: string[] = [];

beforeAll(async () => {
  requireBuiltClient();
  server = await startTestServer();
  browser = await launchChromium({ unattended: true });
  token = (await postJson(server.url, '/auth/register', { username, email: `${username}@example.com`, password })).accessToken;
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
}, 30_000);

async function watch(streamId: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  await page.goto(`${server.url}/watch/${streamId}`);
  await firstFrame(page, 30_000);
  return page;
}

/** Waits until the viewer's <video> shows frames `width` wide. */
function showsWidth(page: Page, width: number) {
  return page.waitForFunction((w) => document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')?.videoWidth === w, width, { timeout: 20_000 });
}

it('publishes three layers from the Studio; each viewer gets the layer its player needs, or the one it picks', async () => {
  const { context, page: studio } = await loggedInPage(browser, server.url, username, password);
  contexts.push(context);
  studio.on('pageerror', (err) => problems.push(`studio pageerror: ${err.message}`));
  const { stream } = await postJson(server.url, '/streams', { title: 'Three layers' }, token);
  await openStudio(studio, server.url, stream.id);
  await studio.getByRole('button', { name: 'Go live' }).click();
  await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 30_000 });
  // Chrome's estimate climbs from its start bitrate: the top layer reaches 720p within seconds.
  const liveAt = Date.now();
  await studio.waitForFunction(() => document.querySelector('[data-testid="studio-figures"]')?.getAttribute('data-layers') === '320x180,640x360,1280x720', undefined, { timeout: 45_000 });
  const fullSizeAfterMs = Date.now() - liveAt;
  expect(server.logs()).toMatch(/"layers":3[^\n]*publisher session opened/);

  const large = await watch(stream.id, { width: 1600, height: 1000 });
  await showsWidth(large, 1280);
  const small = await watch(stream.id, { width: 320, height: 640 });
  await showsWidth(small, 320);
  expect(await large.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')!.videoWidth)).toBe(1280);

  // The small viewer picks 720p, then goes back to Auto.
  const menu = small.getByTestId('quality-select');
  expect(await menu.locator('option').allTextContents()).toEqual(['Auto', '720p', '360p', '180p']);
  await menu.selectOption({ label: '720p' });
  await showsWidth(small, 1280);
  await menu.selectOption({ label: 'Auto' });
  await showsWidth(small, 320);

  await small.getByRole('button', { name: 'Show stats' }).click();
  await small.waitForFunction(() => document.querySelector('[data-testid="player-stats"]')?.getAttribute('data-layer') === '0');
  const switches = Number(await small.getByTestId('player-stats').getAttribute('data-layer-switches'));
  console.log(`simulcast browser: studio layers ${await studio.getByTestId('figure-layers').textContent()} (all full size ${fullSizeAfterMs} ms after going live); small viewer switches ${switches}`);
  expect(switches).toBeGreaterThanOrEqual(2);
  expect(problems).toEqual([]);
}, 120_000);
