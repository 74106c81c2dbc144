/**
 * What a test reads off a Watch page (the WebRTC player) and the Studio in Chromium: the
 * first decoded frame, the player's counters behind its stats overlay, media flowing, and a
 * Studio logged in and live.
 */
import { expect } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Resolves once the viewer's <video> shows a decoded frame. */
export function firstFrame(page: Page, timeout = 20_000) {
  return page.waitForFunction(
    () => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid="player-video"]');
      return !!v && !v.hidden && v.videoWidth > 0 && v.currentTime > 0;
    },
    undefined,
    { timeout, polling: 50 },
  );
}

/** The numbers behind the stats overlay (opened first if needed). */
export async function viewerCounters(page: Page): Promise<{ frames: number; audioPackets: number; latencyMs: number | null }> {
  const stats = page.getByTestId('player-stats');
  if ((await stats.count()) === 0) await page.getByRole('button', { name: 'Show stats' }).click();
  await page.waitForSelector('[data-testid="player-stats"][data-frames-decoded]');
  const read = async (name: string) => {
    const value = await stats.getAttribute(name);
    return value === null ? null : Number(value);
  };
  return {
    frames: (await read('data-frames-decoded')) ?? 0,
    audioPackets: (await read('data-audio-packets')) ?? 0,
    latencyMs: await read('data-latency-ms'),
  };
}

/** framesDecoded and audio packets of the viewer, sampled twice 1.5 s apart: both grow. */
export async function expectMediaFlowing(page: Page): Promise<{ frames: [number, number]; audio: [number, number] }> {
  const first = await viewerCounters(page);
  await new Promise((r) => setTimeout(r, 1_500));
  const second = await viewerCounters(page);
  expect(second.frames).toBeGreaterThan(first.frames);
  expect(second.audioPackets).toBeGreaterThan(first.audioPackets);
  return { frames: [first.frames, second.frames], audio: [first.audioPackets, second.audioPackets] };
}

export async function playerState(page: Page): Promise<string | null> {
  return page.getByTestId('player').getAttribute('data-state');
}

/** A Studio page logged in as `username` (in its own browser context), on "My streams". */
export async function loggedInPage(browser: Browser, baseUrl: string, username: string, password: string, viewport = { width: 1280, height: 860 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForURL('**/me/streams');
  return { context, page };
}

/** Opens the stream's Studio and waits for the fake camera's preview. */
export async function openStudio(page: Page, baseUrl: string, streamId: string): Promise<void> {
  await page.goto(`${baseUrl}/studio/${streamId}`);
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="studio-preview"]');
    return !!v && v.videoWidth > 0;
  });
}
