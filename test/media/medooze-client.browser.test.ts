/**
 * The widely used `whip-whep` browser clients (medooze) against Glint in Chromium, as a
 * third-party user runs them. Their `stop()` closes the PeerConnection first (a DTLS
 * close_notify reaches the server) and sends DELETE after: the broadcast must end at once
 * (offline, `inactive` for viewers, recording finalised), the DELETE must be answered 200,
 * and an encoder taking over a second later must be playable by a viewer that does not
 * retry.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { api, createStreamer, type Streamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const pkgDir = dirname(createRequire(import.meta.url).resolve('whip-whep/package.json'));
const CLIENTS: Record<string, string> = {
  'whip.js': readFileSync(join(pkgDir, 'whip.js'), 'utf8'),
  'whep.js': readFileSync(join(pkgDir, 'whep.js'), 'utf8'),
};

let server: TestServer;
let browser: Browser;
let streamer: Streamer;
let call: ReturnType<typeof api>;
const contexts: BrowserContext[] = [];

/** A page of the server's origin that can import the medooze clients from /__medooze/. */
async function clientPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  await context.route('**/__medooze/*.js', (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    return route.fulfill({ status: 200, contentType: 'text/javascript', body: CLIENTS[name] ?? '' });
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  return page;
}

// Page code as strings: vitest rewrites dynamic import() in functions it transforms.
const PUBLISH = `async (streamKey) => {
  const { WHIPClient } = await import('/__medooze/whip.js');
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  const client = new WHIPClient();
  await client.publish(pc, location.origin + '/whip', streamKey);
  window.whip = client;
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('publisher did not connect (' + pc.connectionState + ')')), 15000);
    const check = () => { if (pc.connectionState === 'connected') { clearTimeout(t); resolve(); } };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}`;

const VIEW = `async (id) => {
  const { WHEPClient } = await import('/__medooze/whep.js');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.ontrack = (e) => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
  window.viewerPc = pc;
  try {
    await new WHEPClient().view(pc, location.origin + '/whep/' + id);
    return 'ok';
  } catch (err) {
    return String(err.message);
  }
}`;

/** Publishes the fake camera and microphone with WHIPClient.publish (the page keeps the client as `whip`). */
async function medoozePublish(page: Page, key: string): Promise<void> {
  await page.evaluate(`(${PUBLISH})(${JSON.stringify(key)})`);
}

/** Plays the stream once with WHEPClient.view: no retry, as a third-party player does. Resolves with the POST's outcome. */
async function medoozeView(page: Page, streamId: string): Promise<string> {
  return page.evaluate(`(${VIEW})(${JSON.stringify(streamId)})`) as Promise<string>;
}

async function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { viewerPc?: RTCPeerConnection }).viewerPc;
    let frames = 0;
    (await pc?.getStats())?.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded ?? 0;
    });
    return frames;
  });
}

async function status(streamId: string): Promise<string> {
  return (await call('GET', `/streams/${streamId}`)).body.stream.status;
}

beforeAll(async () => {
  // The default 20 s reconnect grace: a stop must not wait for it.
  server = await startTestServer({ config: { recording: { enabled: true } } });
  call = api(server.url);
  streamer = await createStreamer(server.url, 'medooze', 'Third-party client');
  browser = await launchChromium({ unattended: true });
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
});

describe('the whip-whep (medooze) browser clients', () => {
  it('stop (close, then DELETE) ends the broadcast at once; an encoder taking over a second later plays for a viewer that does not retry', async () => {
    const publisher = await clientPage();
    const deletes: number[] = [];
    publisher.on('response', (r) => {
      if (r.request().method() === 'DELETE' && r.url().includes('/whip/sessions/')) deletes.push(r.status());
    });
    await medoozePublish(publisher, streamer.streamKey);
    await until('the stream to be live', async () => ((await status(streamer.streamId)) === 'live' ? true : undefined), 10_000);

    // A viewer, and the stream's events as a page without a session sees them.
    const viewer = await clientPage();
    expect(await medoozeView(viewer, streamer.streamId)).toBe('ok');
    await until('the viewer to decode frames', async () => ((await framesDecoded(viewer)) > 5 ? true : undefined), 15_000);
    const events = await fetch(`${server.url}/streams/${streamer.streamId}/events`);
    const reader = events.body!.getReader();
    let seen = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        seen += new TextDecoder().decode(value);
      }
    })();
    await until('the events to say live', () => (seen.includes('event: live') ? true : undefined), 5_000);
    // Recording has begun (a VOD is listed once it ends).
    await until('the recording to start', () => (server.app.recording.isRecording(streamer.streamId as never) ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 2_500));

    const stoppedAt = Date.now();
    await publisher.evaluate('window.whip.stop()');
    const offlineMs = await until('the stream to go offline', async () => ((await status(streamer.streamId)) === 'offline' ? Date.now() - stoppedAt : undefined), 5_000, 50);
    await until('the DELETE to be answered', () => (deletes.length > 0 ? true : undefined), 5_000);
    expect(deletes).toEqual([200]);
    await until('the events to say inactive and offline', () => (/event: inactive[\s\S]*event: offline/.test(seen.slice(seen.lastIndexOf('event: live'))) ? true : undefined), 5_000);
    const vod = await until('the recording to be finalised as a VOD', async () => {
      const items = (await call('GET', `/streams/${streamer.streamId}/vods`)).body.items as Array<{ durationSeconds: number }>;
      return items.length === 1 ? items[0] : undefined;
    }, 20_000);
    expect(vod!.durationSeconds).toBeGreaterThan(1);
    console.log(`medooze stop -> offline ${offlineMs} ms (the reconnect grace is 20 s)`);

    // Another encoder takes over a second later; a viewer arriving now gets it first time.
    await new Promise((r) => setTimeout(r, 1_000));
    const next = await clientPage();
    await medoozePublish(next, streamer.streamKey);
    const late = await clientPage();
    expect(await medoozeView(late, streamer.streamId)).toBe('ok');
    await until('the late viewer to decode the new encoder', async () => ((await framesDecoded(late)) > 5 ? true : undefined), 15_000);
    expect(await status(streamer.streamId)).toBe('live');

    await reader.cancel();
    await reading.catch(() => {});
    await next.evaluate('window.whip.stop()');
  }, 90_000);
});
