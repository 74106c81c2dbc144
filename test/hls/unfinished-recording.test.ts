/**
 * A server that stopped hard (crash, kill -9) leaves its recordings open: the next start
 * closes them (EXT-X-ENDLIST, status complete, duration from the indexed segments) so they
 * are VODs, and discards the ones that never got media.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import { RecordingsRepo } from '../../server/db/recordings-repo.ts';
import { createStreamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'glint-unfinished-'));
let server: TestServer | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('closes recordings a previous run left open and discards empty ones', async () => {
  server = await startTestServer({ dataDir, config: { recording: { enabled: true } } });
  const streamId = (await createStreamer(server.url, 'crashed', 'interrupted')).streamId as StreamId;
  const repo = new RecordingsRepo(server.app.db.db);
  // What a recorder leaves when the server dies under it: an open EVENT playlist and indexed segments.
  const open = await repo.create(streamId, (id) => `${streamId}/${id}`, { startedAt: new Date(Date.now() - 60_000) });
  const dir = join(dataDir, 'media', open.path);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.m3u8'), '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="source-init-0.mp4"\n#EXTINF:1.5,\nsource-s0.m4s\n#EXTINF:1.25,\nsource-s1.m4s\n');
  await repo.addSegments([0, 1].map((sequence) => ({
    streamId, recordingId: open.id, sequence, segmentUrl: `/hls/${streamId}/${open.id}/source-s${sequence}.m4s`,
    duration: sequence === 0 ? 1.5 : 1.25, byteSize: 10, discontinuity: false, timestamp: new Date(Date.now() - 50_000 + sequence * 1500),
  })));
  const empty = await repo.create(streamId, (id) => `${streamId}/${id}`);
  mkdirSync(join(dataDir, 'media', empty.path), { recursive: true });
  await server.stop();

  server = await startTestServer({ dataDir, config: { recording: { enabled: true } } });
  const after = new RecordingsRepo(server.app.db.db);
  expect(await after.get(open.id)).toMatchObject({ status: 'complete', durationSeconds: 2.75 });
  const text = readFileSync(join(dir, 'index.m3u8'), 'utf8');
  expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
  expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  expect(await after.get(empty.id)).toBeUndefined();
  expect(existsSync(join(dataDir, 'media', empty.path))).toBe(false);
  const vods = await (await fetch(`${server.url}/streams/${streamId}/vods`)).json();
  expect(vods.items.map((v: { id: string }) => v.id)).toEqual([open.id]);
  const latest = await (await fetch(`${server.url}/hls/${streamId}/index.m3u8`)).text();
  expect(latest).toContain(`${open.id}/source-s1.m4s`);
  expect(latest).toContain('#EXT-X-ENDLIST');
}, 60_000);
