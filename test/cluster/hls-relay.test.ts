/**
 * HLS from any node: two nodes sharing PostgreSQL and Redis; node A records a stream (its
 * live playlists fed here by hand, its files written into A's media folder). Node B answers
 * the same URLs through A: the playlist, a blocking reload held until the part exists on A
 * (no polling: B's answer comes the moment A's does), parts and segments with their
 * immutable cache headers, many identical held requests as one request to A, and A's 404s.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import { RecordingsRepo } from '../../server/db/recordings-repo.ts';
import { createStreamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { uniquePrefix } from '../helpers/services.ts';

let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const shared = {
    redis: { keyPrefix: uniquePrefix('hls-relay') },
    auth: { jwtSecret: randomBytes(32).toString('base64url') },
    streams: { keyEncryptionKey: randomBytes(32).toString('base64') },
    cluster: { secret: randomBytes(32).toString('base64url') },
    recording: { targetDurationSeconds: 2, partTargetSeconds: 0.5 },
  };
  a = await startTestServer({ db: 'postgres', redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: 'rec-a' } } });
  b = await startTestServer({ databaseUrl: a.databaseUrl, redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: 'edge-b' } } });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

it('answers a recording made on another node: playlists with blocking reload, parts, segments, errors', async () => {
  const { streamId } = await createStreamer(a.url, 'relay_owner', 'recorded on A');
  const id = streamId as StreamId;
  const row = await new RecordingsRepo(a.app.db.db).create(id, (r) => `${id}/${r}`, { nodeId: 'rec-a' });
  const dir = join(a.dataDir, 'media', id, row.id);
  mkdirSync(dir, { recursive: true });
  const part0 = randomBytes(3000);
  const part1 = randomBytes(2000);
  writeFileSync(join(dir, 'source-init-0.mp4'), Buffer.from('init'));
  writeFileSync(join(dir, 'source-p0.m4s'), part0);
  const rec = a.app.hls.begin(id, row.id, ['source']);
  rec.init('source', 0, 'source-init-0.mp4', [{ kind: 'video', codec: 'avc1.42e01f', width: 640, height: 360 }]);
  rec.part('source', { msn: 0, part: 0, seq: 0, duration: 0.5, independent: true, uri: 'source-p0.m4s', epoch: 0, discontinuity: false, programDateTime: Date.now() });

  // The live playlist through B, as A renders it.
  const direct = await (await fetch(`${a.url}/hls/${id}/index.m3u8`)).text();
  const relayed = await fetch(`${b.url}/hls/${id}/index.m3u8`);
  expect(relayed.status).toBe(200);
  expect(relayed.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
  expect(await relayed.text()).toBe(direct);
  expect(direct).toContain('source-p0.m4s');

  // Held reloads for the next part: 20 viewers of B, one request to A, answered when A has it.
  const requestsToA = () => a.logs().split('\n').filter((l) => l.includes('"route":"/internal/hls/:streamId/:name"')).length;
  const before = requestsToA();
  const started = Date.now();
  const held = Array.from({ length: 20 }, () => fetch(`${b.url}/hls/${id}/index.m3u8?_HLS_msn=0&_HLS_part=1`).then(async (r) => ({ status: r.status, text: await r.text(), at: Date.now() })));
  await new Promise((r) => setTimeout(r, 700));
  writeFileSync(join(dir, 'source-p1.m4s'), part1);
  const addedAt = Date.now();
  rec.part('source', { msn: 0, part: 1, seq: 1, duration: 0.5, independent: false, uri: 'source-p1.m4s', epoch: 0, discontinuity: false, programDateTime: Date.now() });
  const answers = await Promise.all(held);
  for (const ans of answers) {
    expect(ans.status).toBe(200);
    expect(ans.text).toContain('source-p1.m4s');
    // Held, not polled: nothing came back before the part existed, and it came right after.
    expect(ans.at).toBeGreaterThanOrEqual(addedAt);
    expect(ans.at - started).toBeGreaterThanOrEqual(700);
  }
  await new Promise((r) => setTimeout(r, 200)); // A logs a request when it ends
  expect(requestsToA() - before).toBe(1);

  // Parts: the same bytes and immutable caching; a second request is served from B's cache.
  const p0 = await fetch(`${b.url}/hls/${id}/${row.id}/source-p0.m4s`);
  expect(p0.status).toBe(200);
  expect(p0.headers.get('cache-control')).toContain('immutable');
  expect(Buffer.from(await p0.arrayBuffer()).equals(part0)).toBe(true);
  const mediaRequestsToA = () => a.logs().split('\n').filter((l) => l.includes('"route":"/internal/hls/:streamId/:recordingId/:file"')).length;
  const mediaBefore = mediaRequestsToA();
  expect(Buffer.from(await (await fetch(`${b.url}/hls/${id}/${row.id}/source-p0.m4s`)).arrayBuffer()).equals(part0)).toBe(true);
  await new Promise((r) => setTimeout(r, 100));
  expect(mediaRequestsToA()).toBe(mediaBefore);

  // A's errors come through as they are.
  const missing = await fetch(`${b.url}/hls/${id}/${row.id}/source-p99.m4s`);
  expect(missing.status).toBe(404);
  expect((await missing.json()).error.code).toBe('MEDIA_NOT_FOUND');
  const bad = await fetch(`${b.url}/hls/${id}/index.m3u8?_HLS_part=1`);
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.code).toBe('INVALID_QUERY');
  // A stream with no recording anywhere is a 404 on B itself.
  expect((await fetch(`${b.url}/hls/${randomUUID()}/index.m3u8`)).status).toBe(404);
});
