/**
 * Debian's Chromium for browser tests and benchmarks (playwright-core drives it; no browser
 * download): headless, media on loopback only, a fake camera and microphone.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

/**
 * For pages nobody looks at that must run at full rate (publishers, players, benchmarks):
 * autoplay with sound, and no throttling of background timers and rendering. UI tests leave
 * them off, so they see the autoplay rules a visitor gets.
 */
const UNATTENDED_ARGS = [
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

export function launchChromium(options: { unattended?: boolean; executablePath?: string } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: options.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: options.unattended ? [...CHROMIUM_ARGS, ...UNATTENDED_ARGS] : CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

/** The page tests serve the built client: fail with the fix, not a blank page. */
export function requireBuiltClient(): void {
  if (!existsSync('dist/client/index.html')) throw new Error('dist/client is not built: run `npx vite build` before this test (npm test does)');
}

/** A full-page screenshot into test-results/<name>.png (kept by CI for a look afterwards). */
export function screenshot(page: Page, name: string): Promise<Buffer> {
  mkdirSync('test-results', { recursive: true });
  return page.screenshot({ path: `test-results/${name}.png`, fullPage: true });
}
