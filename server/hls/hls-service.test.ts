/**
 * Blocking playlist reloads on the HLS service itself (the browser suite covers them over
 * HTTP with a real recorder): held until the part exists, and 503 + Retry-After when it
 * does not appear within 3 x the target duration.
 */
import { describe, expect, it } from 'vitest';
import type { StreamId } from '../../protocol/ids.ts';
import type { RecordingsRepo } from '../db/recordings-repo.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { HlsService, type LiveRecording } from './hls-service.ts';

const STREAM = '0b9d2f3c-5a8e-4c1b-9f2d-7e6a5b4c3d21' as StreamId;
const RECORDING = '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const T0 = Date.UTC(2026, 0, 1);

function service(targetDurationSeconds: number): { hls: HlsService; rec: LiveRecording } {
  const hls = new HlsService({
    mediaDir: '/nonexistent',
    targetDurationSeconds,
    partTargetSeconds: 0.1,
    dvrWindowSeconds: 60,
    bitrates: () => ({ audioBitrate: 128_000 }),
    // Only asked for finished recordings, which these tests never reach.
    recordings: {} as RecordingsRepo,
    log: createLogger({ level: 'silent' }),
  });
  const rec = hls.begin(STREAM, RECORDING, ['source']);
  rec.init('source', 0, 'source-init-0.mp4', [{ kind: 'video', codec: 'avc1.42e01f', width: 640, height: 360 }]);
  return { hls, rec };
}

let seq = 0;
function addPart(rec: LiveRecording, msn: number, part: number): void {
  rec.part('source', { msn, part, seq, duration: 0.1, independent: part === 0, uri: `source-p${seq++}.m4s`, epoch: 0, discontinuity: false, programDateTime: T0 });
}

describe('HlsService blocking reload', () => {
  it('holds the request until the part exists, then answers with it', async () => {
    const { hls, rec } = service(1);
    addPart(rec, 0, 0);
    const t0 = Date.now();
    const answer = hls.playlist(STREAM, 'index.m3u8', new URLSearchParams('_HLS_msn=0&_HLS_part=2'));
    setTimeout(() => addPart(rec, 0, 1), 50);
    setTimeout(() => addPart(rec, 0, 2), 150);
    const reply = await answer;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(reply.status).toBe(200);
    expect(String(reply.body)).toMatch(/#EXT-X-PART:DURATION=0\.1,URI="[^"]+source-p\d+\.m4s"\n#EXT-X-PRELOAD-HINT/);
    expect((String(reply.body).match(/#EXT-X-PART:/g) ?? []).length).toBe(3);
    hls.close();
  });

  it('answers 503 with Retry-After when the part does not appear within 3 x TARGETDURATION', async () => {
    const { hls, rec } = service(0.2);
    addPart(rec, 0, 0);
    const t0 = Date.now();
    const err = await hls.playlist(STREAM, 'index.m3u8', new URLSearchParams('_HLS_msn=1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).headers).toEqual({ 'Retry-After': '1' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(590);
    hls.close();
  });

  it('answers held requests at once when the server closes', async () => {
    const { hls, rec } = service(10);
    addPart(rec, 0, 0);
    const answer = hls.playlist(STREAM, 'index.m3u8', new URLSearchParams('_HLS_msn=1')).catch((e: unknown) => e);
    const t0 = Date.now();
    hls.close();
    const err = await answer;
    expect((err as AppError).status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('answers held requests (and every later one) 404 when the stream is deleted', async () => {
    // Held up to 60 s otherwise: past the test's timeout, so only a prompt answer passes.
    const { hls, rec } = service(20);
    addPart(rec, 0, 0);
    const held = hls.playlist(STREAM, 'index.m3u8', new URLSearchParams('_HLS_msn=1')).catch((e: unknown) => e);
    hls.remove(STREAM);
    expect((await held as AppError).code).toBe('MEDIA_NOT_FOUND');
    const later = await hls.playlist(STREAM, 'master.m3u8', new URLSearchParams()).catch((e: unknown) => e);
    expect((later as AppError).code).toBe('MEDIA_NOT_FOUND');
    hls.close();
  });
});
