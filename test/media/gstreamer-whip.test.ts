/**
 * A third-party WebRTC stack publishes over WHIP as an encoder would: GStreamer's webrtcbin
 * (scripts/gst-whip-publish.py) sends H.264 + Opus, then VP8 + Opus, and a Chromium viewer
 * decodes the video. libnice never offers loopback, so server, encoder and browser run in a
 * network namespace of the test's own. Also: an encoder sending B-frames is refused clearly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { createNetNs, type NetNs } from '../helpers/netns.ts';

const TSX = import.meta.resolve('tsx');
let ns: NetNs;
let dir: string;
let server: ChildProcess;
let serverLog = '';
let browser: Browser;
let page: Page;
let base: string;
const publishers: ChildProcess[] = [];

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs JSON-returning JS in the viewer page (a string, so no bundler helpers leak in). */
async function inPage<T>(body: string, arg: unknown = null): Promise<T> {
  return page.evaluate(`(async (arg) => { ${body} })(${JSON.stringify(arg)})`) as Promise<T>;
}

function startPublisher(key: string, codec: 'h264' | 'vp8', extra: string[] = []) {
  const child = ns.spawn('/usr/bin/python3', ['scripts/gst-whip-publish.py', '--url', `${base}/whip`, '--key', key, '--codec', codec, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  publishers.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function streamStatus(id: string): Promise<string> {
  return inPage<string>('const r = await fetch("/streams/" + arg); return (await r.json()).stream.status;', id);
}

/** Plays the stream over WHEP in the page; returns decoded frames and codec after `ms`. */
async function watch(id: string) {
  return inPage<{ status: number; frames: number[]; codec: string; audioPackets: number }>(`
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch('/whep/' + arg, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (res.status !== 201) return { status: res.status, frames: [], codec: await res.text(), audioPackets: 0 };
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const sample = async () => {
      let frames = 0, codec = '', audio = 0; const codecs = {};
      (await pc.getStats()).forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') { frames = r.framesDecoded || 0; codec = codecs[r.codecId] || ''; }
        if (r.type === 'inbound-rtp' && r.kind === 'audio') audio = r.packetsReceived || 0;
      });
      return { frames, codec, audio };
    };
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const frames = [];
    let last = { codec: '', audio: 0 };
    for (let i = 0; i < 30 && frames.length < 2; i++) {
      await sleep(500);
      const s = await sample();
      last = s;
      if (s.frames > 0 && (frames.length === 0 || i % 3 === 0)) frames.push(s.frames);
    }
    await fetch(res.headers.get('location'), { method: 'DELETE' });
    pc.close();
    return { status: 201, frames, codec: last.codec, audioPackets: last.audio };
  `, id);
}

beforeAll(async () => {
  ns = createNetNs('gst');
  dir = mkdtempSync(join(tmpdir(), 'glint-gst-'));
  base = `http://${ns.serverAddress}:8080`;
  server = ns.spawn(process.execPath, ['--import', TSX, 'server/main.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, HOST: ns.serverAddress, PORT: '8080', RTC_BIND_ADDRESS: ns.serverAddress, RTC_WORKERS: '1',
      DATA_DIR: join(dir, 'data'), RTC_RECONNECT_GRACE_SECONDS: '1', LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '',
    },
  });
  server.stdout!.on('data', (d) => (serverLog += d));
  server.stderr!.on('data', (d) => (serverLog += d));
  await waitFor(() => serverLog.includes('"msg":"listening"'), 30_000, `the server in the namespace (log: ${serverLog.slice(-500)})`);
  browser = await launchChromium({ executablePath: ns.chromiumWrapper(dir) });
  page = await browser.newPage();
  await page.goto(`${base}/`);
}, 60_000);

afterAll(async () => {
  for (const p of publishers) p.kill('SIGKILL');
  await browser?.close().catch(() => {});
  server?.kill('SIGTERM');
  ns?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GStreamer webrtcbin publishing over WHIP', () => {
  let key = '';
  let id = '';

  beforeAll(async () => {
    const created = await inPage<{ key: string; id: string }>(`
      const j = (r) => r.json();
      const reg = await fetch('/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'gstreamer', email: 'gst@example.com', password: 'webrtcbin sends video' }) }).then(j);
      const s = await fetch('/streams', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + reg.accessToken }, body: JSON.stringify({ title: 'GStreamer test' }) }).then(j);
      return { key: s.streamKey, id: s.stream.id };
    `);
    key = created.key;
    id = created.id;
  });

  for (const codec of ['h264', 'vp8'] as const) {
    it(`${codec.toUpperCase()} + Opus from webrtcbin is decoded by a Chromium viewer`, async () => {
      const pub = startPublisher(key, codec);
      onTestFinished(() => {
        pub.child.kill('SIGKILL');
      });
      await waitFor(() => pub.output().includes('"state": "connected"'), 20_000, `webrtcbin to connect (${pub.output()})`);
      await waitFor(async () => (await streamStatus(id)) === 'live', 10_000, 'the stream to be live');
      const seen = await watch(id);
      expect(seen.status, seen.codec).toBe(201);
      expect(seen.codec).toBe(codec === 'h264' ? 'video/H264' : 'video/VP8');
      expect(seen.frames.length).toBe(2);
      expect(seen.frames[1]!).toBeGreaterThan(seen.frames[0]!);
      expect(seen.audioPackets).toBeGreaterThan(0);
      pub.child.kill('SIGTERM');
      await waitFor(() => pub.output().includes('"event": "deleted"'), 10_000, 'the publisher to DELETE its session');
      await waitFor(async () => (await streamStatus(id)) === 'offline', 10_000, 'the stream to go offline');
    }, 90_000);
  }

  it('refuses an encoder that sends B-frames with a clear error', async () => {
    const events = inPage<string>(`
      return await new Promise((resolve) => {
        const es = new EventSource('/streams/' + arg + '/events');
        es.addEventListener('error', (e) => { if (e.data) { es.close(); resolve(JSON.parse(e.data).message); } });
        setTimeout(() => { es.close(); resolve('no error event'); }, 25000);
      });
    `, id);
    const pub = startPublisher(key, 'h264', ['--profile', 'high', '--bframes', '2', '--no-audio']);
    onTestFinished(() => {
      pub.child.kill('SIGKILL');
    });
    expect(await events).toMatch(/B-frames/);
    await waitFor(async () => (await streamStatus(id)) === 'offline', 10_000, 'the stream to go offline');
    pub.child.kill('SIGTERM');
    expect(serverLog).toMatch(/"reason":"b-frames"/);
  }, 60_000);
});
