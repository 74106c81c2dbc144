/**
 * Media end to end in real Chromium against a real server and sfu-worker: the Studio
 * publishes the fake camera over WHIP, a logged-out Watch page (no camera permission)
 * plays it over WHEP, Stop takes the stream offline, an offline Watch page starts by itself
 * when the stream goes live, and both recover when the media worker is killed.
 *
 * Needs `dist/client` built first (`npm test` runs `vite build`; by hand:
 * `npx vite build && npx vitest run test/e2e/studio-watch.browser.test.ts`).
 */
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireBuiltClient, screenshot } from '../helpers/chromium.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectMediaFlowing, firstFrame, loggedInPage, openStudio, playerState, viewerCounters } from '../helpers/watch-page.ts';

const STEP_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 120_000;
const VIEWPORT = { width: 1280, height: 860 };

const username = `media_${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
const password = 'Quartz-Meadow-Signal-5821';

/**
 * Runs before any page script: records every getUserMedia/getDisplayMedia call, so the test
 * can prove the Watch page never asks for a camera (the fake-UI flag would silently allow it).
 */
const MEDIA_SPY = `(() => {
  window.__mediaRequests = [];
  const md = navigator.mediaDevices;
  if (!md) return;
  for (const name of ['getUserMedia', 'getDisplayMedia']) {
    const original = md[name] && md[name].bind(md);
    if (!original) continue;
    md[name] = (...args) => {
      window.__mediaRequests.push(name);
      return original(...args);
    };
  }
})()`;

let server: TestServer;
let browser: Browser;
let studioContext: BrowserContext;
let studio: Page;
let token: string;
const pageProblems: string[] = [];
/** Figures worth reporting, printed at the end. */
const observed: Record<string, number | string> = {};

/** Failed loads the media pages cause on purpose (409 not live yet, 404 DELETE of an ended session, 503 worker restarting). */
function expectedFailure(url: string, text: string): boolean {
  return (
    (/\/whep\/[^/]+$/.test(url) && text.includes('409')) ||
    (/\/(whip|whep)\/sessions\//.test(url) && text.includes('404')) ||
    (/\/(whip|whep)(\/[^/]+)?$/.test(url) && text.includes('503'))
  );
}

function watchProblems(p: Page, name: string): Page {
  p.setDefaultTimeout(STEP_TIMEOUT_MS);
  p.on('pageerror', (err) => pageProblems.push(`pageerror on ${name}: ${err.message}`));
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location().url ?? '';
    if (msg.text().startsWith('Failed to load resource') && expectedFailure(url, msg.text())) return;
    pageProblems.push(`console error on ${name}: ${msg.text()} (${url})`);
  });
  return p;
}

async function api<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = {};
  if (auth) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function createStream(title: string): Promise<string> {
  const { stream } = await api<{ stream: { id: string } }>('POST', '/streams', { title, description: 'studio-watch.browser.test.ts' });
  return stream.id;
}

async function streamStatus(id: string): Promise<string> {
  return (await api<{ stream: { status: string } }>('GET', `/streams/${id}`, undefined, false)).stream.status;
}

async function liveIds(): Promise<string[]> {
  return (await api<{ items: { id: string }[] }>('GET', '/streams/live', undefined, false)).items.map((s) => s.id);
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** WHIP sessions the server opened so far (one per POST /whip that got a 201). */
function whipSessionsOpened(): number {
  return server.logs().split('\n').filter((line) => line.includes('publisher session opened')).length;
}

/** A logged-out viewer in its own browser context: no session, no permissions granted. */
async function openViewer(streamId: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript(MEDIA_SPY);
  const page = watchProblems(await context.newPage(), `viewer of ${streamId.slice(0, 8)}`);
  await page.goto(`${server.url}/watch/${streamId}`);
  return { context, page };
}


async function openStudioFor(streamId: string): Promise<void> {
  await openStudio(studio, server.url, streamId);
}

async function studioStatus(): Promise<string | null> {
  return studio.getByTestId('studio-status').getAttribute('data-status');
}

describe('Studio and Watch pages in Chromium', () => {
  beforeAll(async () => {
    requireBuiltClient();
    server = await startTestServer();
    browser = await launchChromium();
    ({ accessToken: token } = await api<{ accessToken: string }>(
      'POST',
      '/auth/register',
      { username, email: `${username}@example.com`, password },
      false,
    ));

    ({ context: studioContext, page: studio } = await loggedInPage(browser, server.url, username, password, VIEWPORT));
    watchProblems(studio, 'studio');
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`studio-watch observed: ${JSON.stringify(observed)}`);
    if (pageProblems.length > 0) console.error(pageProblems.join('\n'));
  }, 60_000);

  it('broadcasts from the Studio to a logged-out viewer without camera permission, and Stop takes it offline', async () => {
    const streamId = await createStream('Studio broadcast');
    await openStudioFor(streamId);
    expect(await studio.getByTestId('camera-select').inputValue()).not.toBe('');

    await studio.getByRole('button', { name: 'Go live' }).click();
    const goLiveAt = Date.now();
    await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]');
    observed.goLiveToConnectedMs = Date.now() - goLiveAt;
    await until('the stream to be marked live', async () => (await streamStatus(streamId)) === 'live');
    expect(await liveIds()).toContain(streamId);

    const viewer = await openViewer(streamId);
    try {
      const openedAt = Date.now();
      await firstFrame(viewer.page);
      observed.watchOpenToFirstFrameMs = Date.now() - openedAt;
      await viewer.page.waitForSelector('[data-testid="player"][data-state="playing"]', { timeout: 5_000 });
      const flow = await expectMediaFlowing(viewer.page);
      observed.framesDecoded = `${flow.frames[0]} -> ${flow.frames[1]} in 1.5 s`;
      observed.audioPackets = `${flow.audio[0]} -> ${flow.audio[1]} in 1.5 s`;

      // The Studio's live figures: outgoing bitrate and the viewer the SSE counted.
      await studio.waitForSelector('[data-testid="studio-figures"][data-bitrate-kbps]');
      await until('the Studio to count the viewer', async () => {
        const n = await studio.getByTestId('studio-figures').getAttribute('data-viewers');
        return Number(n) >= 1;
      });
      const figures = studio.getByTestId('studio-figures');
      observed.publishBitrateKbps = Number(await figures.getAttribute('data-bitrate-kbps'));
      observed.publishResolution = `${await figures.getAttribute('data-width')}x${await figures.getAttribute('data-height')}`;
      expect(Number(await viewer.page.getByTestId('viewer-count').getAttribute('data-count'))).toBeGreaterThanOrEqual(1);
      const latency = (await viewerCounters(viewer.page)).latencyMs;
      if (latency !== null) observed.viewerLatencyEstimateMs = latency;

      // The server recorded H.264 (the recorder needs it): the Studio preferred it.
      expect(server.logs()).toMatch(/publisher session opened[^\n]*/);
      const opened = server.logs().split('\n').find((l) => l.includes('publisher session opened')) ?? '';
      observed.publishedCodecs = (opened.match(/"(H264|VP8|opus)"/gi) ?? []).join(',');
      expect(opened).toMatch(/H264/i);

      await screenshot(studio, 'studio');
      await screenshot(viewer.page, 'watch');

      // Never asked for a camera or microphone.
      // (The fake-UI flag makes permissions.query say "granted" everywhere, so the spy is the proof.)
      expect(await viewer.page.evaluate('window.__mediaRequests')).toEqual([]);

      await studio.getByRole('button', { name: 'Stop' }).click();
      const stoppedAt = Date.now();
      await until('GET /streams/:id to say offline', async () => (await streamStatus(streamId)) === 'offline', 5_000);
      observed.stopToOfflineMs = Date.now() - stoppedAt;
      expect(await liveIds()).not.toContain(streamId);
      await viewer.page.waitForSelector('[data-testid="player"][data-state="offline"]', { timeout: 5_000 });
      await expect(viewer.page.getByTestId('stream-status').textContent()).resolves.toBe('Offline');
      expect(await studioStatus()).toBe('idle');
      // Stop also stopped the camera.
      await studio.getByRole('button', { name: 'Start camera' }).waitFor();
    } finally {
      await viewer.context.close();
    }
  }, TEST_TIMEOUT_MS);

  let previousStreamId = '';

  it('starts playing on an open Watch page of an offline stream once the Studio goes live, without a reload', async () => {
    const streamId = await createStream('Comes online later');
    previousStreamId = streamId;
    const viewer = await openViewer(streamId);
    try {
      await viewer.page.waitForSelector('[data-testid="player"][data-state="offline"]');
      await expect(viewer.page.getByTestId('player-message').textContent()).resolves.toMatch(/offline/);
      await viewer.page.evaluate('window.__samePage = true');

      await openStudioFor(streamId);
      await studio.getByRole('button', { name: 'Go live' }).click();
      const goLiveAt = Date.now();
      await firstFrame(viewer.page);
      observed.goLiveToViewerFirstFrameMs = Date.now() - goLiveAt;

      expect(await viewer.page.evaluate('window.__samePage')).toBe(true);
      await expectMediaFlowing(viewer.page);
      await expect(viewer.page.getByTestId('stream-status').textContent()).resolves.toBe('Live');
      expect(await viewer.page.evaluate('window.__mediaRequests')).toEqual([]);
    } finally {
      await viewer.context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('switches a live broadcast to screen sharing and back without a new WHIP session', async () => {
    // Continues the broadcast of the previous test.
    expect(await studioStatus()).toBe('live');
    const sessionsBefore = whipSessionsOpened();
    const viewer = await openViewer(previousStreamId);
    try {
      await firstFrame(viewer.page);
      await studio.getByRole('button', { name: 'Share screen/tab' }).click();
      await studio.getByRole('button', { name: 'Use camera' }).waitFor();
      await expectMediaFlowing(viewer.page);

      await studio.getByRole('button', { name: 'Use camera' }).click();
      await studio.getByRole('button', { name: 'Share screen/tab' }).waitFor();
      await expectMediaFlowing(viewer.page);

      expect(await studioStatus()).toBe('live');
      expect(whipSessionsOpened()).toBe(sessionsBefore);
    } finally {
      await viewer.context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('reconnects the Studio and the viewer by themselves after the media worker dies', async () => {
    const streamId = await createStream('Survives a worker crash');
    // Leaving the live Studio of the previous test (pagehide) ends that broadcast at once.
    await openStudioFor(streamId);
    if (previousStreamId) {
      const left = await until('the left broadcast to go offline', async () => (await streamStatus(previousStreamId)) === 'offline', 5_000);
      observed.leaveStudioToOfflineMs = left;
    }
    await studio.getByRole('button', { name: 'Go live' }).click();
    await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]');
    const viewer = await openViewer(streamId);
    try {
      await firstFrame(viewer.page);
      const worker = server.app.workers.all()[0]!;
      const killedAt = Date.now();
      worker.child.kill('SIGKILL');

      // The Watch page says so while the broadcaster is away (the server's status and events).
      await viewer.page.waitForSelector('[data-testid="stream-status"][data-status="reconnecting"]', { timeout: 10_000 });
      observed.killToWatchReconnectingMs = Date.now() - killedAt;
      await studio.waitForSelector('[data-testid="studio-status"][data-status="reconnecting"]', { timeout: 30_000 });
      observed.killToStudioReconnectingMs = Date.now() - killedAt;
      await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 40_000 });
      observed.killToStudioLiveAgainMs = Date.now() - killedAt;

      // The viewer gets a new session on the restarted worker and decodes again.
      await until(
        'the viewer to play again',
        async () => (await playerState(viewer.page)) === 'playing' && (await viewerCounters(viewer.page)).frames > 0,
        40_000,
      );
      await expectMediaFlowing(viewer.page);
      observed.killToViewerPlayingAgainMs = Date.now() - killedAt;
      expect(await streamStatus(streamId)).toBe('live');

      // Stopped elsewhere (the API here): the Studio stops too instead of reconnecting.
      await api('POST', `/streams/${streamId}/stop`);
      await studio.waitForSelector('[data-testid="studio-status"][data-status="idle"]', { timeout: 5_000 });
      await expect(studio.getByTestId('studio-status-detail').textContent()).resolves.toMatch(/ended elsewhere/);
      await viewer.page.waitForSelector('[data-testid="player"][data-state="offline"]', { timeout: 5_000 });
      const sessions = whipSessionsOpened();
      await new Promise((r) => setTimeout(r, 3_000));
      expect(whipSessionsOpened()).toBe(sessions);
      expect(await streamStatus(streamId)).toBe('offline');
    } finally {
      await viewer.context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('logged no page errors', () => {
    expect(pageProblems).toEqual([]);
  });
});
