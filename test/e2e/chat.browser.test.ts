/**
 * Live chat end to end in real Chromium against a real server: two logged-in viewers and a
 * logged-out reader on the Watch page of one (offline) stream, the streamer in the Studio.
 * They chat with each other, markup stays text, the streamer and a moderator appointed over
 * the API delete messages from their menus (gone for everyone), a flood is rate limited with
 * a countdown, a timeout blocks the input until an unban, and reactions float over the video.
 *
 * Needs `dist/client` built first (`npm test` runs `vite build`; by hand:
 * `npx vite build && npx vitest run test/e2e/chat.browser.test.ts`).
 */
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireBuiltClient, screenshot } from '../helpers/chromium.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 90_000;
const VIEWPORT = { width: 1280, height: 860 };
const password = 'Harbour-Quill-Meadow-3390';
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;

interface Account {
  username: string;
  id: string;
  token: string;
}

let server: TestServer;
let browser: Browser;
let streamId: string;
let streamer: Account;
let alice: Account;
let bob: Account;
const contexts: BrowserContext[] = [];
let studio: Page;
let alicePage: Page;
let bobPage: Page;
let readerPage: Page;
const pageProblems: string[] = [];
const dialogs: string[] = [];
const observed: Record<string, number | string> = {};

function watchProblems(p: Page, name: string): Page {
  p.setDefaultTimeout(STEP_TIMEOUT_MS);
  p.on('pageerror', (err) => pageProblems.push(`pageerror on ${name}: ${err.message}`));
  p.on('dialog', (d) => {
    dialogs.push(`${name}: ${d.message()}`);
    void d.dismiss();
  });
  p.on('console', (msg) => {
    if (msg.type() === 'error') pageProblems.push(`console error on ${name}: ${msg.text()} (${msg.location().url ?? ''})`);
  });
  return p;
}

async function api<T>(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function register(name: string): Promise<Account> {
  const username = `${name}_${suffix}`;
  const r = await api<{ accessToken: string; user: { id: string } }>('POST', '/auth/register', {
    body: { username, email: `${username}@example.com`, password },
  });
  return { username, id: r.user.id, token: r.accessToken };
}

/** A browser context of its own, logged in through the login form, ending on `path`. */
async function openAs(account: Account | null, path: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  contexts.push(context);
  const page = watchProblems(await context.newPage(), name);
  if (account) {
    await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}`);
    await page.getByLabel('Username or email').fill(account.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`**${path}`);
  } else {
    await page.goto(server.url + path);
  }
  await page.waitForSelector('[data-testid="chat"][data-status="connected"]');
  return page;
}

function messageTexts(page: Page): Promise<string[]> {
  return page.getByTestId('chat-message-text').allTextContents();
}

function message(page: Page, text: string) {
  return page.getByTestId('chat-message').filter({ has: page.getByTestId('chat-message-text').getByText(text, { exact: true }) });
}

async function say(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('chat-input');
  await input.fill(text);
  await input.press('Enter');
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends messages from a plain WebSocket client, each after the previous one was acknowledged. */
async function sendOverSocket(id: string, token: string, texts: string[]): Promise<void> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/streams/${id}/chat`, ['glint-chat.v1', `bearer.${token}`]);
  const frames: Array<{ type: string; nonce?: string; code?: string }> = [];
  let wake: () => void = () => {};
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)));
    wake();
  });
  const next = (test: (f: (typeof frames)[number]) => boolean) =>
    new Promise<(typeof frames)[number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the chat')), 5_000);
      const look = () => {
        const i = frames.findIndex(test);
        if (i < 0) return;
        clearTimeout(timer);
        resolve(frames.splice(i, 1)[0]!);
      };
      wake = look;
      look();
    });
  await next((f) => f.type === 'welcome');
  for (const [i, text] of texts.entries()) {
    ws.send(JSON.stringify({ type: 'send', text, nonce: `s${i}` }));
    const answer = await next((f) => f.nonce === `s${i}`);
    if (answer.type !== 'ack') throw new Error(`"${text}" was refused: ${JSON.stringify(answer)}`);
  }
  ws.close();
}

describe('live chat in Chromium', () => {
  beforeAll(async () => {
    requireBuiltClient();
    server = await startTestServer();
    browser = await launchChromium();
    [streamer, alice, bob] = await Promise.all([register('streamer'), register('alice'), register('bob')]);
    ({ stream: { id: streamId } } = await api<{ stream: { id: string } }>('POST', '/streams', {
      token: streamer.token,
      body: { title: 'Chat night', description: 'chat.browser.test.ts' },
    }));
    [alicePage, bobPage, readerPage] = await Promise.all([
      openAs(alice, `/watch/${streamId}`, 'alice'),
      openAs(bob, `/watch/${streamId}`, 'bob'),
      openAs(null, `/watch/${streamId}`, 'reader'),
    ]);
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    console.log(`chat observed: ${JSON.stringify(observed)}`);
    if (pageProblems.length > 0) console.error(pageProblems.join('\n'));
  }, 60_000);

  it('lets two viewers chat with each other while a logged-out reader follows along', async () => {
    const sentAt = Date.now();
    await say(alicePage, 'Hi Bob, can you hear the stream?');
    await message(bobPage, 'Hi Bob, can you hear the stream?').waitFor();
    observed.aliceToBobMs = Date.now() - sentAt;
    await say(bobPage, 'Loud and clear, Alice!');
    await message(alicePage, 'Loud and clear, Alice!').waitFor();
    await message(readerPage, 'Loud and clear, Alice!').waitFor();

    // Each side sees the author's name; the reader is asked to log in instead of typing.
    await expect(message(bobPage, 'Hi Bob, can you hear the stream?').getAttribute('data-author')).resolves.toBe(alice.username);
    await expect(readerPage.getByTestId('chat-restriction').textContent()).resolves.toContain('Log in to chat.');
    expect(await readerPage.getByTestId('chat-input').isDisabled()).toBe(true);

    // Three chat connections, counted by the server and shown beside the title.
    await until('the chat count to reach 3', async () => Number(await bobPage.getByTestId('chat-viewer-count').getAttribute('data-count')) >= 3);
    observed.chatCountShown = (await bobPage.getByTestId('chat-viewer-count').textContent()) ?? '';
  }, TEST_TIMEOUT_MS);

  it('shows a message that looks like HTML as text', async () => {
    const markup = '<img src=x onerror=alert(1)> <b>bold?</b>';
    await say(alicePage, markup);
    await message(bobPage, markup).waitFor();
    expect((await messageTexts(bobPage)).at(-1)).toBe(markup);
    expect(await bobPage.locator('[data-testid="chat-list"] img, [data-testid="chat-list"] b').count()).toBe(0);
    expect(await alicePage.locator('[data-testid="chat-list"] img').count()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(dialogs).toEqual([]);
    await screenshot(bobPage, 'chat-watch');
  }, TEST_TIMEOUT_MS);

  it('lets the streamer delete a message from its menu, and it disappears for everyone', async () => {
    studio = watchProblems(await (async () => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      contexts.push(context);
      return context.newPage();
    })(), 'studio');
    await studio.goto(`${server.url}/login?next=${encodeURIComponent(`/studio/${streamId}`)}`);
    await studio.getByLabel('Username or email').fill(streamer.username);
    await studio.getByLabel('Password').fill(password);
    await studio.getByRole('button', { name: 'Log in', exact: true }).click();
    await studio.waitForSelector('[data-testid="chat"][data-status="connected"]');

    await say(bobPage, 'buy cheap followers at spam.example');
    const spam = message(studio, 'buy cheap followers at spam.example');
    await spam.waitFor();
    await message(alicePage, 'buy cheap followers at spam.example').waitFor();
    // The streamer's own messages carry the badge.
    await say(studio, 'Welcome to the stream, everyone');
    await message(alicePage, 'Welcome to the stream, everyone').getByTestId('badge-streamer').waitFor();
    // Viewers get no moderation menu.
    expect(await alicePage.getByTestId('chat-message-menu').count()).toBe(0);

    await spam.hover();
    await spam.getByTestId('chat-message-menu').click();
    const deletedAt = Date.now();
    await studio.getByRole('menuitem', { name: 'Delete' }).click();
    await message(alicePage, 'buy cheap followers at spam.example').waitFor({ state: 'detached' });
    await message(bobPage, 'buy cheap followers at spam.example').waitFor({ state: 'detached' });
    await message(readerPage, 'buy cheap followers at spam.example').waitFor({ state: 'detached' });
    await spam.waitFor({ state: 'detached' });
    observed.deleteToGoneForAllMs = Date.now() - deletedAt;

    // The Studio's moderation log has it.
    await studio.getByTestId('chat-moderation-log').getByText(`${streamer.username} deleted a message of ${bob.username}`).waitFor();
  }, TEST_TIMEOUT_MS);

  it('lets a moderator appointed over the API delete a message from the Watch page', async () => {
    await api('PUT', `/streams/${streamId}/chat/moderators/${alice.id}`, { token: streamer.token });
    // Alice's role changes without a reload: her name gets the badge, and she gets menus.
    await alicePage.getByText('You are now a moderator of this chat.').waitFor();
    await say(bobPage, 'this one is off-topic');
    const offTopic = message(alicePage, 'this one is off-topic');
    await offTopic.waitFor();
    await offTopic.hover();
    await offTopic.getByTestId('chat-message-menu').click();
    await alicePage.getByRole('menuitem', { name: 'Delete' }).click();
    await message(bobPage, 'this one is off-topic').waitFor({ state: 'detached' });
    await offTopic.waitFor({ state: 'detached' });
    // The Studio lists her as a moderator.
    await studio.getByTestId('chat-moderators').getByText(`@${alice.username}`).waitFor();
  }, TEST_TIMEOUT_MS);

  it('turns a flood into a countdown on the input, then lets the sender write again', async () => {
    const input = bobPage.getByTestId('chat-input');
    // Burst of 5, then 1 per second: eight typed and sent within one task are too many.
    await input.evaluate((el: HTMLInputElement) => {
      for (let i = 0; i < 8; i++) {
        el.value = `flood message number ${i}`;
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.form!.requestSubmit();
      }
    });
    const restriction = bobPage.getByTestId('chat-restriction');
    await restriction.getByText(/^Slow down — you can send again in \d+ s\.$/).waitFor();
    observed.rateLimitText = (await restriction.textContent()) ?? '';
    expect(await input.isDisabled()).toBe(true);
    await bobPage.locator('[data-testid="chat-pending"][data-state="failed"]').nth(2).waitFor();
    observed.refusedShownAs = (await bobPage.getByTestId('chat-pending-error').first().textContent()) ?? '';
    // What the server took reached the others; the rest is marked as refused, nothing is lost silently.
    const refused = await bobPage.locator('[data-testid="chat-pending"][data-state="failed"]').count();
    await until('the accepted flood to reach Alice', async () => (await alicePage.getByText(/^flood message number \d$/).count()) === 8 - refused);
    expect(8 - refused).toBeLessThanOrEqual(5);
    observed.floodAcceptedRefused = `${8 - refused}/${refused}`;

    const liftedAfter = await until('the input to come back', async () => !(await input.isDisabled()), 5_000);
    observed.rateLimitLiftedAfterMs = liftedAfter;
    await expect(restriction.count()).resolves.toBe(0);
    await say(bobPage, 'sorry, calmer now');
    await message(alicePage, 'sorry, calmer now').waitFor();
  }, TEST_TIMEOUT_MS);

  it('blocks a timed-out viewer with the time left until the streamer unbans them', async () => {
    const line = message(studio, 'sorry, calmer now');
    await line.hover();
    await line.getByTestId('chat-message-menu').click();
    await studio.getByRole('menuitem', { name: 'Time out 10 min' }).click();

    const restriction = bobPage.getByTestId('chat-restriction');
    await restriction.getByText(/^You are timed out — you can chat again in (10 min|9 min \d+ s)\.$/).waitFor();
    observed.timeoutText = (await restriction.textContent()) ?? '';
    expect(await bobPage.getByTestId('chat-input').isDisabled()).toBe(true);

    const bans = studio.getByTestId('chat-bans');
    await bans.getByText(bob.username).waitFor();
    await screenshot(studio, 'chat-studio');
    await bans.getByRole('button', { name: `Unban ${bob.username}` }).click();
    await until('the input to come back after the unban', async () => !(await bobPage.getByTestId('chat-input').isDisabled()));
    await bans.getByText('Nobody is banned or timed out.').waitFor();
  }, TEST_TIMEOUT_MS);

  it('offers a Follow button in a followers-only chat, and following lets the viewer write', async () => {
    const settings = studio.getByTestId('chat-settings');
    await settings.getByLabel('Followers only').check();
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.getByText('Saved.').waitFor();
    await bobPage.getByText('The chat is now for followers only.').waitFor();

    await say(bobPage, 'am I a follower?');
    const restriction = bobPage.getByTestId('chat-restriction');
    await restriction.getByText('Only followers can chat right now. Follow the channel to join in.').waitFor();
    await restriction.getByRole('button', { name: 'Follow' }).click();
    await until('the input to come back after following', async () => !(await bobPage.getByTestId('chat-input').isDisabled()));
    await say(bobPage, 'following now!');
    await message(alicePage, 'following now!').waitFor();

    await settings.getByLabel('Followers only').uncheck();
    await settings.getByRole('button', { name: 'Save' }).click();
    await bobPage.getByText('Everyone can chat again (followers-only is off).').waitFor();
  }, TEST_TIMEOUT_MS);

  it('stops following new messages once the reader scrolls up, and offers to jump back down', async () => {
    await alicePage.setViewportSize({ width: 800, height: 560 });
    const list = alicePage.getByTestId('chat-list');
    const atBottom = () => list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48);
    const scrollable = await list.evaluate((el) => el.scrollHeight > el.clientHeight + 100);
    expect(scrollable).toBe(true);
    // From the Studio: Bob has used up his rate limit by now.
    await say(studio, 'first of two');
    await message(alicePage, 'first of two').waitFor();
    await until('the list to follow the new message', atBottom);

    await list.evaluate((el) => el.scrollTo({ top: 0 }));
    await until('the list to be scrolled up', async () => !(await atBottom()));
    await say(studio, 'second of two');
    await message(alicePage, 'second of two').waitFor();
    const jump = alicePage.getByTestId('chat-new-messages');
    await expect(jump.textContent()).resolves.toBe('1 new message ↓');
    expect(await atBottom()).toBe(false);
    await jump.click();
    await until('the list to be back at the bottom', atBottom);
    await jump.waitFor({ state: 'detached' });
  }, TEST_TIMEOUT_MS);

  it('loads older messages when the reader scrolls to the top of a busy chat', async () => {
    const { stream } = await api<{ stream: { id: string } }>('POST', '/streams', { token: streamer.token, body: { title: 'Busy chat' } });
    // 60 messages from 12 chatters (the rate limit allows a burst of 5 each), one after the other.
    for (let k = 0; k < 12; k++) {
      const chatter = await register(`seed${k}`);
      await sendOverSocket(stream.id, chatter.token, [0, 1, 2, 3, 4].map((i) => `seed ${k * 5 + i}`));
    }
    const page = await openAs(null, `/watch/${stream.id}`, 'busy reader');
    // The welcome brings the last 50.
    await until('50 messages', async () => (await messageTexts(page)).length === 50);
    expect((await messageTexts(page))[0]).toBe('seed 10');
    await page.getByTestId('chat-list').evaluate((el) => el.scrollTo({ top: 0 }));
    await until('the older 10 messages', async () => (await messageTexts(page)).length === 60);
    const texts = await messageTexts(page);
    expect(texts.slice(0, 2)).toEqual(['seed 0', 'seed 1']);
    expect(texts.at(-1)).toBe('seed 59');
    await page.getByText('This is the start of the chat.').waitFor();
  }, TEST_TIMEOUT_MS);

  it('floats a reaction over the video of the other viewers for about two seconds', async () => {
    await alicePage.getByRole('button', { name: 'React with 🔥' }).click();
    const floating = bobPage.getByTestId('floating-reaction');
    await floating.first().waitFor();
    expect(await floating.first().textContent()).toBe('🔥');
    const shownAt = Date.now();
    await floating.first().waitFor({ state: 'detached', timeout: 5_000 });
    observed.reactionShownMs = Date.now() - shownAt;
    // It floats over the player.
    expect(await bobPage.locator('[data-testid="player"] ~ [data-testid="reaction-overlay"]').count()).toBe(1);
  }, TEST_TIMEOUT_MS);

  it('logged no page errors', () => {
    expect(pageProblems).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
