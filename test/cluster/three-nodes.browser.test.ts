/**
 * Three Glint nodes on this machine, each its own process with its own PORT, RTC_PORT_BASE,
 * DATA_DIR and NODE_ID, sharing PostgreSQL and a Redis of the test's own. The Studio
 * publishes from Chromium to node 1; Watch pages on nodes 2 and 3 decode its video and audio
 * through one pipe per edge; chat and viewer counts are the same on every node; LL-HLS plays
 * from node 3. Then the faults: node 2 is killed (its viewer, behind a load balancer, comes
 * back through node 3 and the directory forgets node 2), the origin's sfu-worker is killed
 * (every viewer hears `inactive`, then plays again once the Studio reconnected), and Redis
 * stops for 10 s (pipes keep flowing, a new cross-node join gets 503 + Retry-After, and all
 * is well once Redis is back).
 *
 * Needs `dist/client` built (npm test does it) and FFmpeg for the recording.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeId } from '../../protocol/ids.ts';
import { RedisDirectory } from '../../server/cluster/redis-directory.ts';
import { startBalancer, type Balancer } from '../helpers/balancer.ts';
import { ChatClient } from '../helpers/chat-client.ts';
import { launchChromium, requireBuiltClient, screenshot } from '../helpers/chromium.ts';
import { openHlsPlayer } from '../helpers/hls-player.ts';
import { api } from '../helpers/http.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { createTestDatabase, uniquePrefix, type TestDatabase } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';
import { expectMediaFlowing, firstFrame, loggedInPage, openStudio, playerState, viewerCounters } from '../helpers/watch-page.ts';
import { parsePlaylist } from '../hls/conformance.ts';

const HEARTBEAT_SECONDS = 1;
const NODE_TTL_SECONDS = 3;
const password = 'Granite-Harbor-Lantern-2291';
const username = `cluster_${Date.now().toString(36)}`;

let redis: PrivateRedis;
let database: TestDatabase;
let prefix: string;
const nodes: ServerProcess[] = [];
let balancer: Balancer;
let browser: Browser;
let studio: Page;
const contexts: BrowserContext[] = [];
const chats: ChatClient[] = [];
let streamId = '';
let token = '';
/** Watch pages: through the balancer (node 2 while it lives, then node 3), and on node 3. */
let viaBalancer: Page;
let onNode3: Page;
const observed: Record<string, number | string> = {};

const node = (i: 1 | 2 | 3) => nodes[i - 1]!;

async function watch(baseUrl: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 960, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${baseUrl}/watch/${streamId}`);
  return page;
}

/**
 * The viewer on `page` stops getting frames after `since` and plays again (a new connection
 * counts from 0) within `ms`: answers how long after `since` frames moved again. The page's
 * counters change once a second: "moving" is two increases in a row after the stall.
 */
async function playsAgain(page: Page, since: number, ms: number): Promise<number> {
  const frames = async () => (await viewerCounters(page)).frames;
  let previous = await frames();
  let stalledAt = 0;
  let movedAt = 0;
  let increases = 0;
  try {
    await until('frames to stop, then decode again', async () => {
      const now = await frames();
      if (!stalledAt) {
        // A second without new frames (or a new connection's count) is the stall.
        if (now < previous || (now === previous && Date.now() - since > 1_200)) stalledAt = Date.now();
      } else if (now > previous) {
        movedAt ||= Date.now();
        if (++increases >= 2 && (await playerState(page)) === 'playing') return true;
      } else if (now < previous) {
        movedAt = 0;
        increases = 0;
      }
      previous = now;
      return undefined;
    }, ms, 100);
  } catch (err) {
    const message = await page.getByTestId('player-message').textContent().catch(() => null);
    throw new Error(`${(err as Error).message}: player ${await playerState(page)}, "${message}", stalled ${stalledAt ? stalledAt - since : '-'} ms`);
  }
  return movedAt - since;
}

function directory(): Promise<RedisDirectory> {
  return RedisDirectory.connect({ url: redis.url, prefix, log: pino({ level: 'silent' }) });
}

describe('three nodes', () => {
  beforeAll(async () => {
    requireBuiltClient();
    redis = await startPrivateRedis();
    database = await createTestDatabase();
    prefix = uniquePrefix('three');
    const shared = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      CLUSTER_SECRET: randomBytes(32).toString('base64url'),
      JWT_SECRET: randomBytes(32).toString('base64url'),
      STREAM_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CLUSTER_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      CLUSTER_NODE_TTL_SECONDS: String(NODE_TTL_SECONDS),
      RTC_RECONNECT_GRACE_SECONDS: '40',
      REGISTER_MAX_PER_IP: '1000',
      ...(process.env.TEST_FFMPEG_PATH ? { FFMPEG_PATH: process.env.TEST_FFMPEG_PATH } : {}),
    };
    // Node 1 first (it applies the migrations), then the edges together.
    nodes.push(await startServerProcess({ ...shared, RECORDING_ENABLED: 'true' }, { nodeId: 'node-1' }));
    nodes.push(...(await Promise.all([startServerProcess({ ...shared, RECORDING_ENABLED: 'false' }, { nodeId: 'node-2' }), startServerProcess({ ...shared, RECORDING_ENABLED: 'false' }, { nodeId: 'node-3' })])));
    balancer = await startBalancer([node(2).url, node(3).url]);
    browser = await launchChromium({ unattended: true });

    const call = api(node(1).url);
    const reg = await call('POST', '/auth/register', { json: { username, email: `${username}@example.com`, password } });
    token = reg.body.accessToken;
    streamId = (await call('POST', '/streams', { token, json: { title: 'Three nodes' } })).body.stream.id;
    // The Studio on node 1 goes live.
    const s = await loggedInPage(browser, node(1).url, username, password);
    contexts.push(s.context);
    studio = s.page;
    await openStudio(studio, node(1).url, streamId);
    await studio.getByRole('button', { name: 'Go live' }).click();
    await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 20_000 });
  }, 180_000);

  afterAll(async () => {
    // Each node's log, for a look after a failure (CI keeps test-results/).
    mkdirSync('test-results', { recursive: true });
    for (const n of nodes) writeFileSync(`test-results/three-nodes-${n.nodeId}.log`, `${n.logs().join('\n')}\n`);
    chats.forEach((c) => c.close());
    await browser?.close();
    await balancer?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
    await database?.drop();
    console.log(`three-nodes observed: ${JSON.stringify(observed)}`);
  }, 90_000);

  it('plays on nodes 2 and 3 through one pipe per edge, with chat, viewer counts and LL-HLS the same everywhere', async () => {
    const openedAt = Date.now();
    viaBalancer = await watch(balancer.url);
    onNode3 = await watch(node(3).url);
    await Promise.all([firstFrame(viaBalancer), firstFrame(onNode3)]);
    observed.watchOpenToFirstFrameOnEdgesMs = Date.now() - openedAt;
    await Promise.all([expectMediaFlowing(viaBalancer), expectMediaFlowing(onNode3)]);
    expect(balancer.counts.get(node(2).url)).toBeGreaterThan(0);
    expect(balancer.counts.get(node(3).url)).toBe(0);

    // One copy to each edge, no viewer on the origin: two pipes out of node 1's worker.
    expect(await node(1).metric('glint_sfu_pipes_out', { worker: '0' })).toBe(2);
    expect(await node(1).metric('glint_webrtc_sessions', { kind: 'pipe' })).toBe(2);
    expect(await node(1).metric('glint_webrtc_sessions', { kind: 'whep' })).toBe(0);
    for (const edge of [node(2), node(3)]) {
      expect(await edge.metric('glint_sfu_pipes_in', { worker: '0' })).toBe(1);
      expect(await edge.metric('glint_webrtc_sessions', { kind: 'whep' })).toBe(1);
    }

    // Chat sent on node 3 reaches node 2; every node counts both WebRTC viewers.
    const [c1, c2, c3] = await Promise.all([ChatClient.connect(node(1).url, streamId), ChatClient.connect(node(2).url, streamId), ChatClient.connect(node(3).url, streamId, token)]);
    chats.push(c1, c2, c3);
    c3.send({ type: 'send', text: 'hello from node 3' });
    expect((await c2.next('message')).message.text).toBe('hello from node 3');
    for (const c of [c1, c2, c3]) {
      // The Watch pages have chat sockets too: at least our three.
      const v = await c.next('viewers', (m) => m.viewers.webrtc === 2 && m.viewers.chat >= 3, 10_000);
      expect(v.viewers.webrtc).toBe(2);
    }

    // The Studio on node 1 counts the viewers of nodes 2 and 3 (its event stream).
    await until('the Studio to count both edge viewers', async () => ((await studio.getByTestId('studio-figures').getAttribute('data-viewers')) === '2' ? true : undefined), 10_000, 200);

    // LL-HLS of the stream (recorded on node 1) from node 3: blocking reload held there.
    const index = `${node(3).url}/hls/${streamId}/index.m3u8`;
    const pl = await until('segments on node 3', async () => {
      const r = await fetch(index);
      const p = r.status === 200 ? parsePlaylist(await r.text()) : undefined;
      return p && p.segments.length >= 2 ? p : undefined;
    }, 30_000, 300);
    const last = pl.segments.at(-1)!;
    const nextPart = pl.pendingParts.length;
    const t0 = Date.now();
    const held = await fetch(`${index}?_HLS_msn=${last.msn + 1}&_HLS_part=${nextPart}`);
    observed.blockingReloadOnNode3Ms = Date.now() - t0;
    expect(held.status).toBe(200);
    const after = parsePlaylist(await held.text());
    expect(after.segments.length + after.pendingParts.length).toBeGreaterThan(0);
    expect(Math.max(...after.segments.map((s) => s.msn), -1) >= last.msn + 1 || after.pendingParts.length > nextPart).toBe(true);
    const player = await openHlsPlayer(browser, node(3).url, `${node(3).url}/hls/${streamId}/master.m3u8`);
    try {
      const state = await player.until('LL-HLS playing from node 3', (s) => s.currentTime > 1 && s.videoWidth > 0, 30_000);
      observed.hlsLatencyOnNode3S = state.latency ?? 'n/a';
      expect(state.errors.filter((e) => e.fatal)).toEqual([]);
    } finally {
      await player.close();
    }
    await screenshot(onNode3, 'three-nodes-watch-node3');
  }, 150_000);

  it('brings the viewer of a killed node back through another node within 5 s, and the directory forgets it', async () => {
    const dir = await directory();
    const killedAt = Date.now();
    await node(2).kill();
    // Watched from the moment of the kill, beside the viewer.
    const forgotten = until('node 2 to leave the directory', async () => ((await dir.nodes()).some((n) => n.id === 'node-2') ? undefined : Date.now() - killedAt), 15_000, 100);
    const back = await playsAgain(viaBalancer, killedAt, 15_000);
    observed.killNode2ToPlayingAgainMs = back;
    expect(back).toBeLessThan(5_000);
    await expectMediaFlowing(viaBalancer);
    expect(balancer.counts.get(node(3).url)).toBeGreaterThan(0);

    try {
      observed.killNode2ToForgottenMs = await forgotten;
      // Its last heartbeat was at most a beat before the kill; its entry lives NODE_TTL_SECONDS after it.
      expect(observed.killNode2ToForgottenMs).toBeLessThanOrEqual(NODE_TTL_SECONDS * 1000 + 500);
      expect((await dir.nodes()).map((n) => n.id).sort()).toEqual(['node-1', 'node-3']);
    } finally {
      await dir.close();
    }
    // Node 1 closes the pipe to the dead node: one pipe left (node 3 carries both viewers).
    await until('the pipe to node 2 closed', async () => ((await node(1).metric('glint_sfu_pipes_out', { worker: '0' })) === 1 ? true : undefined), 15_000, 300);
  }, 60_000);

  it('tells every viewer `inactive` when the origin\'s worker dies, and plays again once the Studio is back', async () => {
    const [workerPid] = node(1).workerPids();
    expect(workerPid).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(workerPid!, 'SIGKILL');
    for (const page of [viaBalancer, onNode3]) {
      await until('the viewer to hear the media stopped', async () => ((await playerState(page)) === 'reconnecting' ? true : undefined), 15_000, 100);
    }
    observed.killOriginWorkerToViewersInactiveMs = Date.now() - killedAt;
    // The Studio notices (no answers from its peer), reconnects, and is live again.
    await studio.waitForSelector('[data-testid="studio-status"][data-status="reconnecting"]', { timeout: 30_000 });
    await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 45_000 });
    observed.killOriginWorkerToStudioLiveMs = Date.now() - killedAt;
    for (const page of [viaBalancer, onNode3]) {
      await until('the viewer to play again', async () => ((await playerState(page)) === 'playing' ? true : undefined), 40_000, 200);
      await expectMediaFlowing(page);
    }
    observed.killOriginWorkerToViewersPlayingMs = Date.now() - killedAt;
  }, 120_000);

  it('keeps pipes flowing while Redis is away, refuses new cross-node joins with 503 + Retry-After, and recovers', async () => {
    // Node 3 stops carrying the stream: its viewers leave (the edge lingers 5 s, then lets go).
    await viaBalancer.goto('about:blank');
    await onNode3.goto('about:blank');
    await until('node 3 to drop the stream', async () => ((await node(3).metric('glint_sfu_pipes_in', { worker: '0' })) === 0 ? true : undefined), 20_000, 300);
    // A viewer on node 1 itself keeps watching through the outage.
    const onOrigin = await watch(node(1).url);
    await firstFrame(onOrigin);

    await redis.stop();
    const stoppedAt = Date.now();
    try {
      const res = await fetch(`${node(3).url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await res.json()).error.code).toBe('CLUSTER_UNAVAILABLE');
      await expectMediaFlowing(onOrigin);
      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
      await expectMediaFlowing(onOrigin);
    } finally {
      await redis.start();
    }
    const restartedAt = Date.now();
    // Heartbeats write the directory again; a Watch page on node 3 plays through a new pipe.
    const again = await watch(node(3).url);
    await firstFrame(again, 30_000);
    await expectMediaFlowing(again);
    observed.redisBackToEdgePlayingMs = Date.now() - restartedAt;
    const c3 = await ChatClient.connect(node(3).url, streamId, token);
    chats.push(c3);
    c3.send({ type: 'send', text: 'after the outage' });
    expect((await c3.next('message', (m) => m.message.text === 'after the outage', 10_000)).message.text).toBe('after the outage');
  }, 120_000);
});
