/**
 * FFmpeg killed in the middle of a live stream: its recorder starts it again, the playlist
 * goes on after an EXT-X-DISCONTINUITY (with the new init segment), and a viewer playing
 * with hls.js keeps playing across the gap. Run with each FFmpeg we support: the one on
 * PATH (Debian 12's 5.1) and the 4.1 build of @ffmpeg-installer/ffmpeg.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegMajorVersion } from '../../recorder/ffmpeg.ts';
import type { StreamId } from '../../protocol/ids.ts';
import { until } from '../helpers/wait.ts';
import type { TestServer } from '../helpers/server.ts';
import { startBroadcast, type Broadcast } from '../helpers/broadcast.ts';
import { openHlsPlayer } from '../helpers/hls-player.ts';
import { checkMedia, checkPlaylist, parsePlaylist } from './conformance.ts';

let broadcast: Broadcast;
let server: TestServer;
let browser: Browser;
let streamId: string;

/** Child processes of `pid` whose command is `name`, from /proc. */
function childrenNamed(pid: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm === name) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}


const playlist = async () => parsePlaylist(await (await fetch(`${server.url}/hls/${streamId}/index.m3u8`)).text());

/** The FFmpeg builds to run against: TEST_FFMPEG_PATH alone when set. */
function ffmpegs(): Array<[string, string]> {
  if (process.env.TEST_FFMPEG_PATH) return [[process.env.TEST_FFMPEG_PATH, process.env.TEST_FFMPEG_PATH]];
  const out: Array<[string, string]> = [];
  const version = (path: string) => {
    try {
      return ffmpegMajorVersion(path);
    } catch {
      return undefined;
    }
  };
  const onPath = version('ffmpeg');
  if (onPath !== undefined) out.push([`${onPath}.x on PATH`, 'ffmpeg']);
  const installer = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  out.push(['4.1 of @ffmpeg-installer/ffmpeg', installer]);
  return out;
}

describe.each(ffmpegs())('with FFmpeg %s', (_label, ffmpegPath) => {
  beforeAll(async () => {
    broadcast = await startBroadcast({ config: { recording: { enabled: true, ffmpegPath } }, username: 'killer', title: 'FFmpeg dies' });
    ({ server, browser, streamId } = broadcast);
  }, 60_000);

  afterAll(() => broadcast?.stop(), 30_000);

  it('restarts a killed FFmpeg; the playlist continues after a discontinuity and the viewer keeps playing', async () => {
    await until('two segments', async () => ((await playlist()).segments.length >= 2 ? true : undefined));
    const player = await openHlsPlayer(browser, `${server.url}/healthz`, `${server.url}/hls/${streamId}/master.m3u8`);
    try {
      await player.until('playback', (s) => s.currentTime > 1);
      const recorder = server.app.recording.recorderPid(streamId as StreamId)!;
      const [ffmpeg] = await until('FFmpeg to run', () => {
        const pids = childrenNamed(recorder, 'ffmpeg');
        return pids.length === 1 ? pids : undefined;
      });
      const before = await playlist();
      process.kill(ffmpeg!, 'SIGKILL');
      const killedAt = Date.now();
      const playingAt = (await player.state()).currentTime;

      // A new FFmpeg, and segments after a discontinuity with the next init segment.
      const restarted = await until('a new FFmpeg', () => {
        const pids = childrenNamed(recorder, 'ffmpeg').filter((p) => p !== ffmpeg);
        return pids.length === 1 ? pids[0] : undefined;
      });
      expect(restarted).not.toBe(ffmpeg);
      const after = await until('segments after the gap', async () => {
        const pl = await playlist();
        const gap = pl.segments.findIndex((s) => s.discontinuity);
        return gap >= 0 && pl.segments.length - gap >= 2 ? pl : undefined;
      });
      const gap = after.segments.find((s) => s.discontinuity)!;
      expect(gap.map).toMatch(/source-init-1\.mp4$/);
      expect(after.segments.filter((s) => s.msn < gap.msn).every((s) => s.map!.endsWith('source-init-0.mp4'))).toBe(true);
      expect(checkPlaylist(after, { live: true, previous: before })).toEqual([]);
      expect(await checkMedia(after, `${server.url}/hls/${streamId}/index.m3u8`, { maxSegments: 4 })).toEqual([]);
      console.log(`FFmpeg restart: new segments ${Date.now() - killedAt} ms after the kill`);

      // The viewer played through: well past where it was, over the discontinuity, no fatal error.
      const state = await player.until('playback past the gap', (s) => s.currentTime > playingAt + 4, 30_000);
      expect(state.paused).toBe(false);
      expect(state.errors.filter((e) => e.fatal)).toEqual([]);
      expect(server.logs()).toMatch(/FFmpeg exited; its recorder restarts it/);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/glint_recorder_ffmpeg_restarts_total 1/);
    } finally {
      await player.close();
    }
  }, 60_000);

  it('restarts a killed recorder process where it stopped: numbering and files continue, its FFmpeg does not linger', async () => {
    const recorder = server.app.recording.recorderPid(streamId as StreamId)!;
    const [ffmpeg] = childrenNamed(recorder, 'ffmpeg');
    expect(ffmpeg).toBeDefined();
    const before = await playlist();
    const discontinuities = before.segments.filter((s) => s.discontinuity).length;
    const player = await openHlsPlayer(browser, `${server.url}/healthz`, `${server.url}/hls/${streamId}/master.m3u8`);
    try {
      await player.until('playback', (s) => s.currentTime > 1);
      const justBefore = await playlist();
      process.kill(recorder, 'SIGKILL');
      const playingAt = (await player.state()).currentTime;
      const next = await until('a new recorder', () => {
        const pid = server.app.recording.recorderPid(streamId as StreamId);
        return pid && pid !== recorder ? pid : undefined;
      });
      expect(next).not.toBe(recorder);
      // The old FFmpeg was killed with its recorder.
      await until('the old FFmpeg to go', () => {
        try {
          process.kill(ffmpeg!, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      const after = await until('segments after the restart', async () => {
        const pl = await playlist();
        const gaps = pl.segments.filter((s) => s.discontinuity);
        return gaps.length > discontinuities && pl.segments.length - pl.segments.indexOf(gaps.at(-1)!) >= 2 ? pl : undefined;
      });
      const gap = after.segments.filter((s) => s.discontinuity).at(-1)!;
      expect(gap.msn).toBeGreaterThan(before.segments.at(-1)!.msn);
      expect(after.segments.map((s) => s.msn)).toEqual(after.segments.map((_, i) => after.segments[0]!.msn + i));
      expect(gap.map).toMatch(/source-init-2\.mp4$/);
      expect(checkPlaylist(after, { live: true, previous: before })).toEqual([]);
      expect(checkPlaylist(after, { live: true, previous: justBefore })).toEqual([]);
      // The segment it was in the middle of is completed with the parts players already had.
      if (justBefore.pendingParts.length > 0) {
        const msn = justBefore.segments.at(-1)!.msn + 1;
        const completed = after.segments.find((s) => s.msn === msn)!;
        expect(completed.discontinuity).toBe(false);
        const base = `${server.url}/hls/${streamId}/`;
        const bytes = async (uri: string) => Buffer.from(await (await fetch(base + uri)).arrayBuffer());
        const parts = Buffer.concat(await Promise.all(justBefore.pendingParts.map((p) => bytes(p.uri))));
        expect((await bytes(completed.uri)).subarray(0, parts.length).equals(parts)).toBe(true);
      }
      const state = await player.until('playback past the restart', (s) => s.currentTime > playingAt + 4, 30_000);
      expect(state.errors.filter((e) => e.fatal)).toEqual([]);
      // The recording's own playlist went on in the same file.
      const recordingId = gap.uri.split('/')[0]!;
      const event = await (await fetch(`${server.url}/hls/${streamId}/${recordingId}/index.m3u8`)).text();
      expect(event.match(/#EXT-X-DISCONTINUITY/g)).toHaveLength(2);
      expect(event).toContain('source-init-2.mp4');
    } finally {
      await player.close();
    }
  }, 60_000);
});
