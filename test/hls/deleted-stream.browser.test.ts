/**
 * Deleting a stream takes its media offline at once: its live and recorded playlists and
 * segments answer 404 from the moment DELETE /streams/:id returns (not at the next hourly
 * sweep), and its files are removed in the background.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';
import { until } from '../helpers/wait.ts';

let broadcast: Broadcast;

beforeAll(async () => {
  broadcast = await startBroadcast({ config: { recording: { enabled: true } }, username: 'deleter', title: 'Soon gone' });
}, 60_000);

afterAll(() => broadcast?.stop(), 30_000);

it('makes the media of a deleted stream unreachable at once and removes its files', async () => {
  const { server, streamId, token } = broadcast;
  const hls = (path: string) => fetch(`${server.url}/hls/${streamId}/${path}`);
  // A few segments of the live recording exist and are served.
  const playlist = await until('two segments in the live playlist', async () => {
    const res = await hls('index.m3u8');
    const text = res.status === 200 ? await res.text() : '';
    return (text.match(/#EXTINF/g) ?? []).length >= 2 ? text : undefined;
  }, 30_000);
  const recording = /^#EXT-X-MAP:URI="([^/"]+)\//m.exec(playlist)?.[1] ?? /^([0-9a-f-]{36})\//m.exec(playlist)?.[1];
  const segment = playlist.split('\n').find((l) => l.endsWith('.m4s') && !l.startsWith('#'))!;
  const segmentUrl = segment.includes('/') ? segment : `${recording}/${segment}`;
  expect((await hls(segmentUrl)).status).toBe(200);
  const mediaDir = join(server.dataDir, 'media', streamId);
  expect(existsSync(mediaDir)).toBe(true);

  const del = await fetch(`${server.url}/streams/${streamId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  expect(del.status).toBe(204);
  for (const path of ['master.m3u8', 'index.m3u8', segmentUrl]) {
    const res = await hls(path);
    expect(res.status, path).toBe(404);
    expect((await res.json()).error.code).toBe('MEDIA_NOT_FOUND');
  }
  await until('the media folder to be removed', () => (existsSync(mediaDir) ? undefined : true), 20_000);
});
