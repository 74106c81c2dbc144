/**
 * The fMP4 reader/writer and the LL-HLS segmenter on real FFmpeg output: a 4 s clip with a
 * keyframe every second, fed in odd-sized chunks as FFmpeg's pipe delivers it. What comes
 * out must be parts within PART-TARGET, segments starting at keyframes, and media that
 * ffprobe reads back frame for frame.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxSplitter, isSync, parseFragment, parseInit, writeFragment } from '../../recorder/fmp4.ts';
import { Segmenter, type PartOut, type SegmentOut } from '../../recorder/segmenter.ts';

let dir: string;
let clip: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glint-segmenter-'));
  const file = join(dir, 'clip.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '20000', file,
  ]);
  clip = readFileSync(file);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(epochs: Buffer[], chunk = 1000) {
  const inits: Buffer[] = [];
  const parts: PartOut[] = [];
  const segments: SegmentOut[] = [];
  const seg = new Segmenter({
    partTargetSeconds: 0.3,
    segmentSeconds: 1,
    targetDurationSeconds: 2,
    now: () => 1_700_000_000_000,
    sink: { init: (_e, data) => inits.push(data), part: (p) => parts.push(p), segment: (s) => segments.push(s) },
  });
  for (const file of epochs) {
    const split = new BoxSplitter();
    let moof: Buffer | undefined;
    for (let i = 0; i < file.length; i += chunk) {
      for (const box of split.push(file.subarray(i, i + chunk))) {
        if (box.type === 'moov') seg.startEpoch(Buffer.concat([clip.subarray(0, 0), box.data]));
        else if (box.type === 'moof') moof = box.data;
        else if (box.type === 'mdat' && moof) seg.fragment(Buffer.concat([moof, box.data]));
      }
    }
  }
  seg.finish();
  return { inits, parts, segments, seg };
}

function probe(init: Buffer, segments: SegmentOut[]): { frames: number; duration: number } {
  const file = join(dir, `probe-${Math.random()}.mp4`);
  writeFileSync(file, Buffer.concat([init, ...segments.map((s) => s.data)]));
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file], { encoding: 'utf8' }));
  return { frames: Number(out.streams[0].nb_read_frames), duration: Number(out.format.duration) };
}

describe('fMP4', () => {
  it('reads the tracks of an init segment with their codec strings', () => {
    const split = new BoxSplitter();
    const boxes = split.push(clip);
    const moov = boxes.find((b) => b.type === 'moov')!;
    const tracks = parseInit(moov.data);
    expect(tracks.map((t) => [t.kind, t.timescale > 0])).toEqual([['video', true], ['audio', true]]);
    expect(tracks[0]!.codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect([tracks[0]!.width, tracks[0]!.height]).toEqual([320, 180]);
    expect(tracks[1]!.codec).toBe('mp4a.40.2');
  });

  it('writes fragments it reads back sample for sample', () => {
    const data = Buffer.from('abcdefghij');
    const written = writeFragment(7, [
      { id: 1, samples: [{ trackId: 1, dts: 90000, duration: 3000, flags: 0x02000000, cto: 0, data: data.subarray(0, 4) }, { trackId: 1, dts: 93000, duration: 3003, flags: 0x01010000, cto: 0, data: data.subarray(4, 6) }] },
      { id: 2, samples: [{ trackId: 2, dts: 48000, duration: 1024, flags: 0x02000000, cto: 0, data: data.subarray(6) }] },
    ]);
    const back = parseFragment(written);
    expect(back.map((s) => [s.trackId, s.dts, s.duration, s.data.toString(), isSync(s)])).toEqual([
      [1, 90000, 3000, 'abcd', true], [1, 93000, 3003, 'ef', false], [2, 48000, 1024, 'ghij', true],
    ]);
  });
});

describe('Segmenter', () => {
  it('cuts parts within PART-TARGET and segments at keyframes, and the media plays back whole', () => {
    const { inits, parts, segments } = run([clip], 777);
    expect(inits).toHaveLength(1);
    expect(segments.length).toBeGreaterThanOrEqual(4);
    for (const s of segments) {
      expect(s.independent).toBe(true);
      expect(s.discontinuity).toBe(false);
      expect(s.duration).toBeLessThanOrEqual(2);
      // Its first video sample is a keyframe.
      const first = parseFragment(s.data).find((x) => x.trackId === 1)!;
      expect(isSync(first)).toBe(true);
    }
    for (const s of segments.slice(0, -1)) expect(s.duration).toBeCloseTo(1, 1);
    for (const p of parts) expect(p.duration).toBeLessThanOrEqual(0.3 + 1e-6);
    // Every part but a segment's last is at least 85 % of PART-TARGET.
    for (const s of segments) {
      const own = parts.filter((p) => p.msn === s.msn);
      expect(own.map((p) => p.part)).toEqual(own.map((_, i) => i));
      for (const p of own.slice(0, -1)) expect(p.duration).toBeGreaterThanOrEqual(0.85 * 0.3);
      expect(own.reduce((a, p) => a + p.duration, 0)).toBeCloseTo(s.duration, 6);
      expect(Buffer.concat(own.map((p) => p.data)).equals(s.data)).toBe(true);
    }
    expect(parts.map((p) => p.seq)).toEqual(parts.map((_, i) => i));
    const total = segments.reduce((a, s) => a + s.duration, 0);
    expect(total).toBeCloseTo(4, 1);
    const probed = probe(inits[0]!, segments);
    expect(probed.frames).toBe(120);
    expect(probed.duration).toBeCloseTo(4, 1);
  });

  it('continues the timeline across an FFmpeg restart, with a discontinuity and a new init', () => {
    const { inits, segments, seg } = run([clip, clip], 4096);
    expect(inits).toHaveLength(2);
    const second = segments.filter((s) => s.epoch === 1);
    expect(second[0]!.discontinuity).toBe(true);
    expect(second.slice(1).every((s) => !s.discontinuity)).toBe(true);
    expect(segments.map((s) => s.msn)).toEqual(segments.map((_, i) => i));
    // Decode times of epoch 1 start where epoch 0 ended (its audio may run up to a frame longer).
    const lastOfFirst = parseFragment(segments.filter((s) => s.epoch === 0).at(-1)!.data).filter((x) => x.trackId === 1).at(-1)!;
    const firstOfSecond = parseFragment(second[0]!.data).find((x) => x.trackId === 1)!;
    const gap = firstOfSecond.dts - (lastOfFirst.dts + lastOfFirst.duration);
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThanOrEqual(lastOfFirst.duration);
    expect(seg.duration).toBeCloseTo(8, 1);
    expect(seg.resumePoint).toMatchObject({ msn: segments.length, epoch: 2 });
  });
});

describe('Segmenter with frames that outlast a part', () => {
  it('keeps every part within 85-100 % of PART-TARGET when the encoder drops frames', () => {
    // 30 fps with the frames of 1.25-1.85 s and 2.5-2.6 s dropped (18 and 4): one frame shows
    // for 0.63 s (over two PART-TARGETs), another for 0.17 s; audio runs on.
    const file = join(dir, 'dropped.mp4');
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '4', '-vf', "select='not(between(t,1.25,1.85))*not(between(t,2.5,2.6))'", '-vsync', 'vfr',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0',
      '-c:a', 'aac', '-b:a', '96k', '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '20000', file,
    ]);
    const { inits, parts, segments } = run([readFileSync(file)], 1500);
    const videoDurations = segments.flatMap((s) => parseFragment(s.data)).filter((x) => x.trackId === 1).map((x) => x.duration / 15360);
    expect(Math.max(...videoDurations)).toBeGreaterThan(0.6);
    for (const p of parts) expect(p.duration).toBeLessThanOrEqual(0.3 + 1e-6);
    for (const s of segments) {
      const own = parts.filter((p) => p.msn === s.msn);
      for (const p of own.slice(0, -1)) expect(p.duration).toBeGreaterThanOrEqual(0.85 * 0.3 - 1e-6);
      expect(own.reduce((a, p) => a + p.duration, 0)).toBeCloseTo(s.duration, 6);
      expect(isSync(parseFragment(s.data).find((x) => x.trackId === 1)!)).toBe(true);
    }
    // The timeline is the clip's: nothing stretched or lost.
    expect(segments.reduce((a, s) => a + s.duration, 0)).toBeCloseTo(4, 1);
    const probed = probe(inits[0]!, segments);
    expect(probed.frames).toBe(120 - 18 - 4);
    expect(probed.duration).toBeCloseTo(4, 1);
  });
});

describe('Segmenter across a pause of the publisher', () => {
  it('cuts a pause of every track out of the timeline, without a discontinuity', () => {
    const moov = new BoxSplitter().push(clip).find((b) => b.type === 'moov')!.data;
    const [video, audio] = parseInit(moov);
    const parts: PartOut[] = [];
    const segments: SegmentOut[] = [];
    const seg = new Segmenter({
      partTargetSeconds: 0.3, segmentSeconds: 1, targetDurationSeconds: 2,
      sink: { init: () => {}, part: (p) => parts.push(p), segment: (s) => segments.push(s) },
    });
    seg.startEpoch(moov);
    // 3 s of media, a 5 s pause of both tracks, 3 s more: 30 fps video (keyframe each second) and 1024-sample audio.
    const at = (t: number) => (t < 3 ? t : t + 5);
    let fragment = 1;
    const events: Array<{ t: number; track: 'v' | 'a'; i: number }> = [];
    for (let i = 0; i < 180; i++) events.push({ t: at(i / 30), track: 'v', i });
    for (let i = 0; i * 1024 < 6 * 48000; i++) events.push({ t: at((i * 1024) / 48000), track: 'a', i });
    events.sort((x, y) => x.t - y.t);
    for (const e of events) {
      const t = e.track === 'v' ? video! : audio!;
      const sample = { trackId: t.id, dts: Math.round(e.t * t.timescale), duration: 0, flags: e.track === 'a' || e.i % 30 === 0 ? 0x02000000 : 0x01010000, cto: 0, data: Buffer.alloc(100, e.i) };
      seg.fragment(writeFragment(fragment++, [{ id: t.id, samples: [sample] }]));
    }
    seg.finish();
    expect(segments.some((s) => s.discontinuity)).toBe(false);
    for (const s of segments) expect(s.duration).toBeLessThanOrEqual(2);
    for (const p of parts) expect(p.duration).toBeLessThanOrEqual(0.3 + 1e-6);
    // 6 s of media in 6 s of timeline: the pause is gone.
    expect(seg.duration).toBeCloseTo(6, 1);
    const videoDts = segments.flatMap((s) => parseFragment(s.data)).filter((x) => x.trackId === video!.id).map((x) => x.dts / video!.timescale);
    for (let i = 1; i < videoDts.length; i++) expect(videoDts[i]! - videoDts[i - 1]!).toBeLessThan(0.1);
  });
});
