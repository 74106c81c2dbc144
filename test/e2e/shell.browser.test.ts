/**
 * The web client in real Chromium against a real server: account flow, "My streams", the
 * stream key, the live list, and the refresh-token handling across tabs.
 *
 * Needs `dist/client` built first (`npm test` runs `vite build`; by hand:
 * `npx vite build && npx vitest run test/e2e/shell.browser.test.ts`).
 */
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireBuiltClient, screenshot } from '../helpers/chromium.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 120_000;

const username = `e2e_${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
const email = `${username}@example.com`;
const password = 'Velvet-Harbour-Lantern-8142';

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Uncaught exceptions and console errors of every page, so a broken page fails the test. */
const pageProblems: string[] = [];

function watch(p: Page): Page {
  p.setDefaultTimeout(STEP_TIMEOUT_MS);
  p.on('pageerror', (err) => pageProblems.push(`pageerror on ${p.url()}: ${err.message}`));
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // A watch page of a stream marked live without a publisher is answered 409 (not live yet) on purpose.
    if (msg.text().includes('status of 409') && /\/whep\/[^/]+$/.test(msg.location().url ?? '')) return;
    pageProblems.push(`console error on ${p.url()}: ${msg.text()}`);
  });
  return p;
}

async function api<T>(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A separate login over HTTP (its own session), for checking what the UI shows. */
async function httpLogin(): Promise<string> {
  const { accessToken } = await api<{ accessToken: string }>('POST', '/auth/login', {
    body: { login: username, password },
  });
  return accessToken;
}

describe('web client shell in Chromium', () => {
  beforeAll(async () => {
    requireBuiltClient();
    server = await startTestServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = watch(await context.newPage());
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (pageProblems.length > 0) console.error(pageProblems.join('\n'));
  }, 60_000);

  it('shows the empty live list on the home page', async () => {
    await page.goto(server.url + '/');
    await expect(page.getByTestId('live-empty').textContent()).resolves.toContain('Nobody is live right now');
    expect(await page.title()).toBe('Glint');
  }, TEST_TIMEOUT_MS);

  it('registers a new account and lands on "My streams"', async () => {
    await page.getByRole('link', { name: 'Register' }).click();
    await page.waitForURL('**/register');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL('**/me/streams');
    await expect(page.getByTestId('current-user').textContent()).resolves.toContain(username);
    await page.getByTestId('my-streams-empty').waitFor();
  }, TEST_TIMEOUT_MS);

  it('shows a taken username next to the username field', async () => {
    // A fresh context: no session, so /register shows the form.
    const anonymous = await browser.newContext();
    const fresh = watch(await anonymous.newPage());
    try {
      await fresh.goto(server.url + '/register');
      await fresh.getByLabel('Username').fill(username);
      await fresh.getByLabel('Email').fill(`other_${email}`);
      await fresh.getByLabel('Password').fill(password);
      await fresh.getByRole('button', { name: 'Create account' }).click();
      await expect(fresh.getByTestId('error-username').textContent()).resolves.toMatch(/\S/);
      await expect(fresh.getByRole('button', { name: 'Create account' }).isEnabled()).resolves.toBe(true);
      expect(fresh.url()).toContain('/register');
    } finally {
      await anonymous.close();
      // The 409 is expected here; it is not a problem of the page.
      for (let i = pageProblems.length - 1; i >= 0; i--) {
        if (pageProblems[i]!.includes('409')) pageProblems.splice(i, 1);
      }
    }
  }, TEST_TIMEOUT_MS);

  it('logs out: forgets the refresh token and has the server revoke it', async () => {
    const refreshToken = await page.evaluate(() => localStorage.getItem('glint.refreshToken'));
    expect(refreshToken).toBeTruthy();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).waitFor();

    expect(await page.evaluate(() => localStorage.getItem('glint.refreshToken'))).toBeNull();
    const res = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    expect(res.status).toBe(401);
  }, TEST_TIMEOUT_MS);

  it('sends a logged-out visitor of "My streams" to the login page and back after login', async () => {
    await page.goto(server.url + '/me/streams');
    await page.waitForURL('**/login?next=*');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();

    await page.waitForURL('**/me/streams');
    await expect(page.getByTestId('current-user').textContent()).resolves.toContain(username);
    expect(await page.evaluate(() => localStorage.getItem('glint.refreshToken'))).toBeTruthy();
  }, TEST_TIMEOUT_MS);

  it('creates a stream and reveals the same key the API returns to its owner', async () => {
    await page.getByLabel('Title').fill('Browser test stream');
    await page.getByLabel('Description').fill('Created by shell.browser.test.ts');
    await page.getByRole('button', { name: 'Create stream' }).click();

    const item = page.getByTestId('stream-item').filter({ hasText: 'Browser test stream' });
    await item.waitFor();
    const streamId = await item.getAttribute('data-stream-id');
    expect(streamId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(item.getByTestId('stream-status').textContent()).resolves.toBe('Offline');
    await expect(item.getByTestId('ingest-url').textContent()).resolves.toMatch(/^https?:\/\/.+\/whip/);
    expect(await item.getByTestId('stream-key').count()).toBe(0);

    await item.getByRole('button', { name: 'Reveal stream key' }).click();
    const shown = (await item.getByTestId('stream-key').textContent())?.trim() ?? '';

    expect(shown).toMatch(/^glint_sk_/);
    const fromApi = await api<{ streamKey: string }>('GET', `/streams/${streamId}/key`, { token: await httpLogin() });
    expect(shown).toBe(fromApi.streamKey);

    await screenshot(page, 'my-streams');
  }, TEST_TIMEOUT_MS);

  it('rotates the key only after confirming, and shows the new key', async () => {
    const item = page.getByTestId('stream-item').filter({ hasText: 'Browser test stream' });
    const before = (await item.getByTestId('stream-key').textContent())?.trim();

    await item.getByRole('button', { name: 'Rotate stream key' }).click();
    await item.getByTestId('rotate-confirm').waitFor();
    await item.getByRole('button', { name: 'Rotate key' }).click();
    await item.getByTestId('rotate-confirm').waitFor({ state: 'detached' });
    await page.waitForFunction(
      (old) => {
        const el = document.querySelector('[data-testid="stream-key"]');
        return el !== null && el.textContent?.trim() !== old;
      },
      before,
      { timeout: STEP_TIMEOUT_MS },
    );
    const after = (await item.getByTestId('stream-key').textContent())?.trim();
    expect(after).toMatch(/^glint_sk_/);
    expect(after).not.toBe(before);
    const streamId = await item.getAttribute('data-stream-id');
    const fromApi = await api<{ streamKey: string }>('GET', `/streams/${streamId}/key`, { token: await httpLogin() });
    expect(after).toBe(fromApi.streamKey);
  }, TEST_TIMEOUT_MS);

  it('lists a live stream on the home page and links it to its watch page', async () => {
    const item = page.getByTestId('stream-item').filter({ hasText: 'Browser test stream' });
    const streamId = (await item.getAttribute('data-stream-id'))!;
    await api('POST', `/streams/${streamId}/start`, { token: await httpLogin() });

    await page.getByRole('link', { name: 'Home', exact: true }).click();
    const card = page.getByTestId('stream-card').filter({ hasText: 'Browser test stream' });
    await card.waitFor();
    await screenshot(page, 'home');
    await card.click();

    await page.waitForURL(`**/watch/${streamId}`);
    await expect(page.getByTestId('stream-title').textContent()).resolves.toBe('Browser test stream');
    await expect(page.getByTestId('stream-status').textContent()).resolves.toBe('Live');
  }, TEST_TIMEOUT_MS);

  it('keeps every tab logged in when several reload at once, without reusing a refresh token', async () => {
    const tabs = [page, watch(await context.newPage()), watch(await context.newPage())];
    try {
      await Promise.all(tabs.map((tab) => tab.goto(server.url + '/me/streams')));
      for (const tab of tabs) await tab.getByTestId('current-user').waitFor();

      // Every tab starts with only the stored refresh token and must refresh at once.
      await Promise.all(tabs.map((tab) => tab.reload()));
      for (const tab of tabs) {
        await expect(tab.getByTestId('current-user').textContent()).resolves.toContain(username);
        await tab.getByTestId('stream-item').first().waitFor();
      }

      // The token left in storage is still good: one more reload restores the session.
      await tabs[0]!.reload();
      await tabs[0]!.getByTestId('current-user').waitFor();
      expect(server.logs()).not.toContain('REFRESH_TOKEN_REUSED');
    } finally {
      for (const tab of tabs.slice(1)) await tab.close();
    }
  }, TEST_TIMEOUT_MS);

  it('logged no page errors', () => {
    expect(pageProblems).toEqual([]);
  });
});
