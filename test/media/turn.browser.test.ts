/**
 * TURN for networks that block UDP to the media ports: a coturn started here (loopback only,
 * TURN REST API) and a server configured with its secret. Chromium pages forced to
 * `iceTransportPolicy: 'relay'` (as a firewalled browser would end up) publish from the
 * Studio and watch on the Watch page with nothing but the credentials the server minted
 * (OPTIONS before the first connection, then the answers' `Link` headers): the selected
 * candidate pair of both is a relay. Credentials minted with another secret are refused
 * by the relay (401) and yield no relay candidate.
 *
 * Needs `dist/client` built and Debian's coturn (`.ci/run` installs both).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseIceServerLinks } from '../../client/src/lib/sdp-session.ts';
import { launchChromium, requireBuiltClient } from '../helpers/chromium.ts';
import { requireCoturn, startCoturn, type Coturn } from '../helpers/coturn.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { firstFrame, loggedInPage, openStudio } from '../helpers/watch-page.ts';
import { postJson } from '../helpers/http.ts';

const SECRET = 'turn-test-secret-0123456789';
const username = `turn_${Date.now().toString(36)}`;
const password = 'Quartz-Meadow-Signal-5821';

/**
 * Before any page script: every RTCPeerConnection is relay-only (host and server-reflexive
 * candidates are never paired, as when UDP to the SFU is blocked), and kept for the test.
 */
const FORCE_RELAY = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config) {
      super({ ...(config || {}), iceTransportPolicy: 'relay' });
      window.__pcs.push(this);
    }
  };
})()`;

let coturn: Coturn;
let server: TestServer;
let browser: Browser;
let token: string;
const contexts: BrowserContext[] = [];
const problems: string[] = [];

interface PairInfo {
  state: string;
  localType: string;
  remoteType: string;
  relayProtocol: string | null;
  iceServers: string[];
}

/** The selected candidate pair of the page's newest peer connection, and the servers it was built with. */
function selectedPair(page: Page): Promise<PairInfo | null> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs[pcs.length - 1];
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair: { state: string; localCandidateId: string; remoteCandidateId: string } | undefined;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      state: pair.state,
      localType: local?.candidateType,
      remoteType: remote?.candidateType,
      relayProtocol: local?.relayProtocol ?? null,
      iceServers: (pc.getConfiguration().iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])),
    };
  });
}

/** Media may flow on the selected pair before its state reads `succeeded` (the nominating check's answer): wait for it. */
function pairSucceeded(page: Page) {
  return page.waitForFunction(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs[pcs.length - 1];
    if (!pc) return false;
    const stats = await pc.getStats();
    let ok = false;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) ok = stats.get(s.selectedCandidatePairId)?.state === 'succeeded';
    });
    return ok;
  }, undefined, { timeout: 10_000, polling: 200 });
}

function connectionsMade(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.length);
}

async function relayPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  await context.addInitScript(FORCE_RELAY);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return page;
}

/** Gathers with `servers` relay-only in a page: relay candidates found, and the errors the TURN server answered. */
function gatherRelay(page: Page, servers: RTCIceServer[]): Promise<{ relay: number; errorCodes: number[] }> {
  return page.evaluate(async (iceServers) => {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    let relay = 0;
    const errorCodes: number[] = [];
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate?.type === 'relay') relay++;
    });
    pc.addEventListener('icecandidateerror', (e) => errorCodes.push((e as RTCPeerConnectionIceErrorEvent).errorCode));
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      const done = () => pc.iceGatheringState === 'complete' && resolve();
      pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 8_000);
      done();
    });
    pc.close();
    return { relay, errorCodes };
  }, servers);
}

beforeAll(async () => {
  requireBuiltClient();
  requireCoturn();
  coturn = await startCoturn(SECRET);
  server = await startTestServer({ config: { turn: { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], secret: SECRET, ttlSeconds: 3600 } } });
  browser = await launchChromium({ unattended: true });
  token = (await postJson(server.url, '/auth/register', { username, email: `${username}@example.com`, password })).accessToken;
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  await coturn?.stop();
}, 30_000);

it('publishes from the Studio and watches on the Watch page through the relay, with credentials the server minted', async () => {
  const { context, page: studio } = await loggedInPage(browser, server.url, username, password);
  contexts.push(context);
  await context.addInitScript(FORCE_RELAY);
  studio.on('pageerror', (err) => problems.push(`studio pageerror: ${err.message}`));
  const { stream } = await postJson(server.url, '/streams', { title: 'Through TURN' }, token);
  await openStudio(studio, server.url, stream.id);
  await studio.getByRole('button', { name: 'Go live' }).click();
  await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 30_000 });
  await pairSucceeded(studio);
  const published = await selectedPair(studio);
  expect(published).toMatchObject({ state: 'succeeded', localType: 'relay', relayProtocol: 'udp' });
  expect(published!.iceServers).toEqual([`turn:127.0.0.1:${coturn.port}?transport=udp`]);

  const viewer = await relayPage();
  await viewer.goto(`${server.url}/watch/${stream.id}`);
  const openedAt = Date.now();
  await firstFrame(viewer, 30_000);
  const firstFrameMs = Date.now() - openedAt;
  await pairSucceeded(viewer);
  const watched = await selectedPair(viewer);
  expect(watched).toMatchObject({ state: 'succeeded', localType: 'relay', relayProtocol: 'udp' });
  expect(watched!.iceServers).toEqual([`turn:127.0.0.1:${coturn.port}?transport=udp`]);
  const t0 = await viewer.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')!.currentTime);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await viewer.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')!.currentTime)).toBeGreaterThan(t0 + 0.5);
  // The first connection of each page went through: its servers came from OPTIONS, before any answer.
  expect(await connectionsMade(studio)).toBe(1);
  expect(await connectionsMade(viewer)).toBe(1);
  console.log(`turn: studio pair ${JSON.stringify(published)}, viewer pair ${JSON.stringify(watched)}, viewer's first frame after ${firstFrameMs} ms`);
  expect(problems).toEqual([]);
}, 90_000);

it('refuses credentials minted with another secret, and takes those minted with its own', async () => {
  const other = await startTestServer({ config: { turn: { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], secret: 'some-other-secret-0123456789', ttlSeconds: 3600 } } });
  try {
    const linksOf = async (base: string) => parseIceServerLinks((await fetch(`${base}/whep/anything`, { method: 'OPTIONS' })).headers.get('Link'));
    const page = await relayPage();
    await page.goto(`${server.url}/healthz`);
    const good = await gatherRelay(page, await linksOf(server.url));
    const bad = await gatherRelay(page, await linksOf(other.url));
    console.log(`turn: own secret ${JSON.stringify(good)}, other secret ${JSON.stringify(bad)}`);
    expect(good.relay).toBeGreaterThan(0);
    expect(bad.relay).toBe(0);
    expect(bad.errorCodes).toContain(401);
  } finally {
    await other.stop();
  }
}, 60_000);
