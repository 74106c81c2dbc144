/**
 * LL-HLS of a live stream end to end: Chromium publishes its fake camera and microphone over
 * WHIP, the server records it with real FFmpeg, and we check the live playlist against the
 * conformance checker, play it in Chromium with hls.js (low-latency mode), hold blocking
 * reloads, and try to read outside the media folder.
 */
import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamer } from '../helpers/http.ts';
import { until } from '../helpers/wait.ts';
import type { TestServer } from '../helpers/server.ts';
import { publishFromBrowser } from '../helpers/browser-publisher.ts';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';
import { openHlsPlayer } from '../helpers/hls-player.ts';
import { checkMedia, checkPlaylist, parsePlaylist, type MediaPlaylist } from './conformance.ts';

let broadcast: Broadcast;
let server: TestServer;
let browser: Browser;
let streamId: string;
let recordingId: string;

const live = () => `${server.url}/hls/${streamId}/index.m3u8`;


async function loadLive(query = ''): Promise<{ status: number; headers: Headers; text: string; pl: MediaPlaylist | undefined; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(live() + query, { headers: { origin: 'https://player.example' } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, pl: res.status === 200 ? parsePlaylist(text) : undefined, ms: Date.now() - t0 };
}

/** Number of the newest part listed (`source-p<n>.m4s`). */
function newestPartSeq(pl: MediaPlaylist): number {
  const parts = [...pl.segments.flatMap((s) => s.parts), ...pl.pendingParts];
  return Number(/p(\d+)\.m4s$/.exec(parts.at(-1)!.uri)![1]);
}

/** GET with the path exactly as given (fetch would normalise `..` away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  broadcast = await startBroadcast({ config: { recording: { enabled: true } }, username: 'llhls', title: 'LL-HLS' });
  ({ server, browser, streamId } = broadcast);
  // Three complete segments in the playlist.
  const first = await until('three segments', async () => {
    const r = await loadLive();
    return r.pl && r.pl.segments.length >= 3 ? r.pl : undefined;
  });
  recordingId = first.segments[0]!.uri.split('/')[0]!;
}, 60_000);

afterAll(() => broadcast?.stop(), 30_000);

describe('a live stream over LL-HLS', () => {
  it('has a playlist that passes the conformance checker across reloads, with segments starting at keyframes', async () => {
    let previous: MediaPlaylist | undefined;
    for (let i = 0; i < 3; i++) {
      const r = await loadLive();
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      const pl = r.pl!;
      expect(checkPlaylist(pl, { live: true, ...(previous ? { previous } : {}) })).toEqual([]);
      expect(pl.preloadHint?.uri).toMatch(/source-p\d+\.m4s$/);
      expect(pl.segments.at(-1)!.parts.length + pl.pendingParts.length).toBeGreaterThan(0);
      previous = pl;
      await new Promise((r) => setTimeout(r, 700));
    }
    expect(await checkMedia(previous!, live(), { maxSegments: 4 })).toEqual([]);
    // The delta update skips nothing yet (CAN-SKIP-UNTIL is 12 s) but is a valid playlist too.
    const delta = await loadLive('?_HLS_skip=YES');
    expect(checkPlaylist(delta.pl!, { live: true })).toEqual([]);
  });

  it('plays in Chromium with hls.js in low-latency mode', async () => {
    const player = await openHlsPlayer(browser, `${server.url}/healthz`, `${server.url}/hls/${streamId}/master.m3u8`);
    try {
      const started = await player.until('playback to start', (s) => s.currentTime > 0.5 && s.videoWidth > 0);
      const later = await player.until('playback to advance 3 s', (s) => s.currentTime > started.currentTime + 3);
      expect(later.paused).toBe(false);
      expect(later.errors.filter((e) => e.fatal)).toEqual([]);
      // Live: a few seconds behind the edge at most.
      expect(later.latency).not.toBeNull();
      expect(later.latency!).toBeLessThan(5);
      console.log(`hls.js: ${JSON.stringify({ latency: later.latency, errors: later.errors })}`);
    } finally {
      await player.close();
    }
  });

  it('holds a blocking reload until the next part exists, and returns with it', async () => {
    const now = (await loadLive()).pl!;
    const before = newestPartSeq(now);
    // The part after the newest: the next of the segment in progress (or the first of the next one).
    const msn = now.segments.at(-1)!.msn + 1;
    const r = await loadLive(`?_HLS_msn=${msn}&_HLS_part=${now.pendingParts.length}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-cache');
    // It came back as soon as that part existed: it is the newest (or the one before it).
    const after = newestPartSeq(r.pl!);
    expect(after - before).toBeGreaterThanOrEqual(1);
    expect(after - before).toBeLessThanOrEqual(2);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.ms).toBeLessThan(6_000);
    // A position that exists already is answered at once.
    const old = await loadLive(`?_HLS_msn=${now.segments[0]!.msn}&_HLS_part=0`);
    expect(old.status).toBe(200);
    expect(newestPartSeq(old.pl!)).toBeGreaterThanOrEqual(after);
  });

  it('holds a request for the preload-hinted part until it is written, then serves it', async () => {
    const pl = (await loadLive()).pl!;
    const hinted = new URL(pl.preloadHint!.uri, live()).toString();
    const res = await fetch(hinted);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('cache-control')).toContain('immutable');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.toString('latin1', 4, 8)).toBe('moof');
    const after = (await loadLive()).pl!;
    const uris = [...after.segments.flatMap((s) => s.parts), ...after.pendingParts].map((p) => p.uri);
    expect(uris).toContain(pl.preloadHint!.uri);
    // Far ahead of the live edge: not held, 404.
    const seq = Number(/p(\d+)\.m4s$/.exec(pl.preloadHint!.uri)![1]);
    expect((await fetch(hinted.replace(/p\d+\.m4s$/, `p${seq + 50}.m4s`))).status).toBe(404);
  });

  it('answers impossible or malformed blocking requests with 400', async () => {
    const pl = (await loadLive()).pl!;
    const last = pl.segments.at(-1)!.msn;
    for (const q of [`?_HLS_msn=${last + 3}`, `?_HLS_msn=${last + 3}&_HLS_part=0`, '?_HLS_part=1', '?_HLS_msn=abc', '?_HLS_msn=-1', `?_HLS_msn=${'9'.repeat(400)}`, '?_HLS_msn=1&_HLS_part=9999', '?_HLS_skip=maybe', '?_HLS_foo=1']) {
      const r = await loadLive(q);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.text).error.code, q).toBe('INVALID_QUERY');
    }
  });

  it('serves media and playlists with the right types, caching and CORS', async () => {
    const pl = (await loadLive()).pl!;
    const init = await fetch(new URL(pl.segments[0]!.map!, live()), { headers: { origin: 'https://player.example' } });
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toBe('video/mp4');
    expect(init.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(init.headers.get('access-control-allow-origin')).toBe('*');
    const seg = await fetch(new URL(pl.segments.at(-1)!.uri, live()));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('cache-control')).toContain('immutable');
    const master = await fetch(`${server.url}/hls/${streamId}/master.m3u8`);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(await master.text()).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=640x360\nindex\.m3u8/);
    const preflight = await fetch(live(), { method: 'OPTIONS', headers: { origin: 'https://player.example', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
    // The recording's own (event) playlist, DVR from its start.
    const event = await fetch(`${server.url}/hls/${streamId}/${recordingId}/index.m3u8`);
    expect(event.status).toBe(200);
    expect(await event.text()).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
  });

  it('records a VP8 publisher too, encoding its video to H.264 once', async () => {
    const created = await createStreamer(server.url, 'vp8er', 'VP8');
    const vp8 = await publishFromBrowser(browser, server.url, created.streamKey, { codec: 'vp8' });
    try {
      const url = `${server.url}/hls/${created.streamId}/index.m3u8`;
      const pl = await until('two VP8 segments', async () => {
        const res = await fetch(url);
        const p = res.status === 200 ? parsePlaylist(await res.text()) : undefined;
        return p && p.segments.length >= 2 ? p : undefined;
      });
      expect(server.logs()).toMatch(/"codec":"vp8"/);
      expect(checkPlaylist(pl, { live: true })).toEqual([]);
      expect(await checkMedia(pl, url)).toEqual([]);
      expect(await (await fetch(`${server.url}/hls/${created.streamId}/master.m3u8`)).text()).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    } finally {
      await vp8.stop();
    }
  });

  it('never serves anything outside the media folder', async () => {
    const secrets = `${server.dataDir}/secrets.json`;
    expect(secrets).toBeTruthy();
    const attempts = [
      `/hls/${streamId}/../../secrets.json`,
      `/hls/${streamId}/..%2F..%2Fsecrets.json`,
      `/hls/${streamId}/%2e%2e%2f%2e%2e%2fsecrets.json`,
      `/hls/${streamId}/${recordingId}/..%2F..%2F..%2Fsecrets.json`,
      `/hls/${streamId}/${recordingId}/%2e%2e`,
      `/hls/${streamId}/${recordingId}/..`,
      `/hls/${streamId}/${recordingId}/.main.sdp`,
      `/hls/${streamId}/${recordingId}/source-init-0.mp4%00.json`,
      `/hls/${streamId}/${recordingId}/index.m3u8.tmp`,
      `/hls/${streamId}/${recordingId}/source-s0.m4s/..`,
      `/hls/..%2F..%2Fetc/index.m3u8`,
      `/hls/${streamId.toUpperCase()}/..%5C..%5Csecrets.json`,
      `/hls/${streamId}/${recordingId}%2F..%2F..%2Fsecrets.json/x`,
      `/hls/not-a-uuid/index.m3u8`,
      `/hls/${streamId}/${'a'.repeat(5000)}.m3u8`,
      `/hls/${streamId}/${recordingId}/${'p'.repeat(3000)}`,
      '/hls/%00/index.m3u8',
      '/hls/../secrets.json',
    ];
    for (const path of attempts) {
      const r = await rawGet(path);
      expect([400, 404, 405, 431], path).toContain(r.status);
      expect(r.body, path).not.toMatch(/jwtSecret|streamKeyEncryptionKey|BEGIN/);
    }
  });
});
