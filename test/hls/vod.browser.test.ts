/**
 * A broadcast becomes a VOD: Chromium publishes for a few seconds, the owner stops the
 * stream, and the recording is listed, closed (EXT-X-ENDLIST), indexed in stream_segments
 * exactly as on disk, as long as the broadcast (within 1 s), and plays from start to end
 * in Chromium. Retention then deletes it, files and rows together.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VodView } from '../../protocol/api.ts';
import { RecordingsRepo } from '../../server/db/recordings-repo.ts';
import { createStreamer } from '../helpers/http.ts';
import { until } from '../helpers/wait.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { publishFromBrowser } from '../helpers/browser-publisher.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { openHlsPlayer } from '../helpers/hls-player.ts';
import { checkMedia, checkPlaylist, parsePlaylist } from './conformance.ts';

const BROADCAST_MS = 6_000;

let dataDir: string;
let server: TestServer;
let browser: Browser;
let token: string;
let streamId: string;


beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'glint-vod-'));
  server = await startTestServer({ dataDir, config: { recording: { enabled: true } } });
  ({ token, streamId } = await createStreamer(server.url, 'vodder', 'Becomes a VOD'));
  browser = await launchChromium({ unattended: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

it('turns a stopped broadcast into a VOD that matches it, on disk and in stream_segments, and plays start to end', async () => {
  const key = (await (await fetch(`${server.url}/streams/${streamId}/key`, { headers: { authorization: `Bearer ${token}` } })).json()).streamKey;
  const publisher = await publishFromBrowser(browser, server.url, key);
  const connectedAt = Date.now();
  await new Promise((r) => setTimeout(r, BROADCAST_MS));
  const stop = await fetch(`${server.url}/streams/${streamId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const broadcastSeconds = (Date.now() - connectedAt) / 1000;
  expect(stop.status).toBe(200);
  await publisher.stop();

  const vod = await until('the VOD to be listed', async () => {
    const { items } = (await (await fetch(`${server.url}/streams/${streamId}/vods`)).json()) as { items: VodView[] };
    return items[0];
  });
  expect(vod.streamId).toBe(streamId);
  expect(vod.playlistUrl).toBe(`/hls/${streamId}/${vod.id}/master.m3u8`);
  expect(Math.abs(vod.durationSeconds - broadcastSeconds)).toBeLessThanOrEqual(1);

  // The closed playlist, at the recording's URL and at the stream's (the latest recording).
  const text = await (await fetch(`${server.url}/hls/${streamId}/${vod.id}/index.m3u8`)).text();
  const pl = parsePlaylist(text);
  expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
  expect(checkPlaylist(pl, { live: false })).toEqual([]);
  expect(await checkMedia(pl, `${server.url}/hls/${streamId}/${vod.id}/index.m3u8`)).toEqual([]);
  const total = pl.segments.reduce((a, s) => a + s.duration, 0);
  expect(total).toBeCloseTo(vod.durationSeconds, 2);
  const latest = parsePlaylist(await (await fetch(`${server.url}/hls/${streamId}/index.m3u8`)).text());
  expect(latest.ended).toBe(true);
  expect(latest.segments.map((s) => s.uri)).toEqual(pl.segments.map((s) => `${vod.id}/${s.uri}`));

  // stream_segments: one row per segment file, same URL, size and duration; the files are there.
  const rows = await new RecordingsRepo(server.app.db.db).segments(vod.id);
  expect(rows.map((r) => r.segmentUrl)).toEqual(pl.segments.map((s) => `/hls/${streamId}/${vod.id}/${s.uri}`));
  for (const [i, row] of rows.entries()) {
    expect(row.streamId).toBe(streamId);
    expect(row.sequence).toBe(pl.segments[i]!.msn);
    expect(row.duration).toBeCloseTo(pl.segments[i]!.duration, 4);
    const file = join(server.dataDir, 'media', streamId, vod.id, pl.segments[i]!.uri);
    expect(statSync(file).size).toBe(row.byteSize);
    const served = await fetch(`${server.url}${row.segmentUrl}`);
    expect(Buffer.from(await served.arrayBuffer()).length).toBe(row.byteSize);
  }
  // Parts were only for the live edge: gone with the broadcast.
  expect(rows.length).toBeGreaterThanOrEqual(4);

  // Chromium plays it from the start to the end (at 2x, to be quick).
  const player = await openHlsPlayer(browser, `${server.url}/healthz`, `${server.url}${vod.playlistUrl}`, { lowLatencyMode: false });
  try {
    const loaded = await player.until('the VOD to load', (s) => s.readyState >= 2 && Number.isFinite(s.duration) && s.duration > 0);
    expect(loaded.currentTime).toBeLessThan(0.5);
    expect(Math.abs(loaded.duration - broadcastSeconds)).toBeLessThanOrEqual(1);
    await player.page.evaluate('window.__video.playbackRate = 2');
    const end = await player.until('the VOD to play to its end', (s) => s.ended, 30_000);
    expect(end.currentTime).toBeGreaterThan(loaded.duration - 0.3);
    expect(end.errors.filter((e) => e.fatal)).toEqual([]);
    console.log(`VOD: broadcast ${broadcastSeconds.toFixed(2)} s, recorded ${vod.durationSeconds} s, played ${end.currentTime.toFixed(2)} s of ${loaded.duration.toFixed(2)} s`);
  } finally {
    await player.close();
  }
}, 90_000);

it('deletes recordings past the retention, files and rows together', async () => {
  const { items } = (await (await fetch(`${server.url}/streams/${streamId}/vods`)).json()) as { items: VodView[] };
  const id = items[0]!.id;
  const folder = join(dataDir, 'media', streamId, id);
  expect(existsSync(folder)).toBe(true);
  await server.stop();
  // The same data folder with a retention of ~1 s: the start-up sweep removes the VOD.
  await new Promise((r) => setTimeout(r, 1200));
  server = await startTestServer({ dataDir, config: { recording: { enabled: true, retentionDays: 1 / 86400 } } });
  expect(existsSync(folder)).toBe(false);
  expect(await new RecordingsRepo(server.app.db.db).get(id)).toBeUndefined();
  expect(await new RecordingsRepo(server.app.db.db).segments(id)).toEqual([]);
  expect(((await (await fetch(`${server.url}/streams/${streamId}/vods`)).json()) as { items: VodView[] }).items).toEqual([]);
  expect((await fetch(`${server.url}/hls/${streamId}/${id}/index.m3u8`)).status).toBe(404);
}, 60_000);
