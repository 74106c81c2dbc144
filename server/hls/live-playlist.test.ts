import { describe, expect, it } from 'vitest';
import { checkPlaylist, parsePlaylist } from '../../test/hls/conformance.ts';
import { LivePlaylist } from './live-playlist.ts';

const T0 = Date.UTC(2026, 0, 1);

function playlist(window = 7200) {
  return new LivePlaylist({ uriPrefix: 'rec/', targetDurationSeconds: 2, partTargetSeconds: 0.35, dvrWindowSeconds: window, partUri: (n) => `source-p${n}.m4s` });
}

/** Feeds `segments` segments of three parts (0.35 + 0.35 + 0.3 s), then `partial` parts of the next. */
function feed(pl: LivePlaylist, segments: number, partial = 0, from = 0, seqFrom = 0, discontinuityAt = -1) {
  let seq = seqFrom;
  const part = (msn: number, i: number, d: number) => pl.addPart(msn, { part: i, seq, duration: d, independent: i === 0, uri: `source-p${seq++}.m4s` }, { epoch: msn >= discontinuityAt && discontinuityAt >= 0 ? 1 : 0, discontinuity: msn === discontinuityAt, programDateTime: T0 + msn * 1000 });
  for (let msn = from; msn < from + segments; msn++) {
    [0.35, 0.35, 0.3].forEach((d, i) => part(msn, i, d));
    pl.addSegment({ msn, duration: 1, uri: `source-s${msn}.m4s`, discontinuity: msn === discontinuityAt, epoch: msn >= discontinuityAt && discontinuityAt >= 0 ? 1 : 0, programDateTime: T0 + msn * 1000 });
  }
  for (let i = 0; i < partial; i++) part(from + segments, i, 0.35);
  return seq;
}

describe('LivePlaylist', () => {
  it('renders an LL-HLS playlist that passes the conformance checker', () => {
    const pl = playlist();
    pl.init(0, 'source-init-0.mp4');
    feed(pl, 10, 2);
    const text = pl.render();
    const parsed = parsePlaylist(text);
    expect(checkPlaylist(parsed, { live: true })).toEqual([]);
    expect(parsed.segments).toHaveLength(10);
    expect(parsed.pendingParts).toHaveLength(2);
    expect(parsed.preloadHint).toEqual({ type: 'PART', uri: 'rec/source-p32.m4s' });
    // Parts only for the last three target durations (6 s): six complete segments, plus the one in progress.
    expect(parsed.segments.filter((s) => s.parts.length > 0).map((s) => s.msn)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,PART-HOLD-BACK=0.7,HOLD-BACK=6');
    expect(pl.position).toEqual({ msn: 10, part: 1 });
  });

  it('holds players back by the configured number of parts (the spec\'s minimum of two by default)', () => {
    const pl = new LivePlaylist({ uriPrefix: 'rec/', targetDurationSeconds: 2, partTargetSeconds: 0.35, dvrWindowSeconds: 7200, partHoldBackParts: 3, partUri: (n) => `source-p${n}.m4s` });
    pl.init(0, 'source-init-0.mp4');
    feed(pl, 3, 1);
    const text = pl.render();
    expect(text).toContain('PART-HOLD-BACK=1.05,');
    expect(checkPlaylist(parsePlaylist(text), { live: true })).toEqual([]);
  });

  it('answers blocking positions: a later part, a complete segment, or the next segment', () => {
    const pl = playlist();
    pl.init(0, 'source-init-0.mp4');
    feed(pl, 2, 1);
    expect(pl.has(2, 0)).toBe(true);
    expect(pl.has(2, 1)).toBe(false);
    expect(pl.has(1, 2)).toBe(true);
    expect(pl.has(1, 5)).toBe(true); // segment 1 is complete and 2 has begun
    expect(pl.has(2, undefined)).toBe(false);
    expect(pl.has(1, undefined)).toBe(true);
    expect(pl.lastCompleteMsn).toBe(1);
  });

  it('keeps a DVR window, counts discontinuities that leave it, and skips old segments in delta updates', () => {
    const pl = playlist(20);
    pl.init(0, 'source-init-0.mp4');
    pl.init(1, 'source-init-1.mp4');
    feed(pl, 40, 0, 0, 0, 5);
    const full = parsePlaylist(pl.render());
    expect(checkPlaylist(full, { live: true })).toEqual([]);
    expect(full.mediaSequence).toBe(20);
    expect(full.segments).toHaveLength(20);
    expect(full.discontinuitySequence).toBe(1);
    expect(full.segments[0]!.map).toBe('rec/source-init-1.mp4');
    const delta = parsePlaylist(pl.render(true));
    expect(delta.skipped).toBe(8);
    expect(delta.segments[0]!.msn).toBe(28);
    expect(delta.segments.at(-1)!.msn).toBe(39);
    expect(checkPlaylist(delta, { live: true, previous: full })).toEqual([]);
  });

  it('marks a discontinuity before the parts of the first segment after a gap', () => {
    const pl = playlist();
    pl.init(0, 'source-init-0.mp4');
    pl.init(1, 'source-init-1.mp4');
    const seq = feed(pl, 3);
    pl.addPart(3, { part: 0, seq, duration: 0.35, independent: true, uri: `source-p${seq}.m4s` }, { epoch: 1, discontinuity: true, programDateTime: T0 + 9000 });
    const text = pl.render();
    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="rec\/source-init-1.mp4"\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXT-X-PART:DURATION=0.35,URI="rec\/source-p9.m4s",INDEPENDENT=YES/);
  });

  it('closes with EXT-X-ENDLIST, without parts, hints or the unfinished segment', () => {
    const pl = playlist();
    pl.init(0, 'source-init-0.mp4');
    feed(pl, 3, 2);
    pl.end();
    const parsed = parsePlaylist(pl.render());
    expect(checkPlaylist(parsed, { live: false })).toEqual([]);
    expect(parsed.ended).toBe(true);
    expect(parsed.preloadHint).toBeUndefined();
    expect(parsed.pendingParts).toEqual([]);
    expect(parsed.segments).toHaveLength(3);
    expect(pl.has(99, 0)).toBe(true);
  });
});

describe('the conformance checker', () => {
  it('reports what breaks the rules', () => {
    const bad = [
      '#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:1', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.5,HOLD-BACK=2',
      '#EXT-X-PART-INF:PART-TARGET=0.35', '#EXT-X-MEDIA-SEQUENCE:4', '#EXT-X-MAP:URI="i.mp4"', '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z',
      '#EXT-X-PART:DURATION=0.5,URI="p0.m4s",INDEPENDENT=YES', '#EXT-X-PART:DURATION=0.1,URI="p1.m4s"', '#EXT-X-PART:DURATION=0.3,URI="p2.m4s"',
      '#EXTINF:1.8,', 's4.m4s', '',
    ].join('\n');
    const errors = checkPlaylist(parsePlaylist(bad), { live: true, previous: parsePlaylist(bad.replace('MEDIA-SEQUENCE:4', 'MEDIA-SEQUENCE:5')) });
    expect(errors).toEqual(expect.arrayContaining([
      'segment 4: EXTINF 1.8 rounds above the target duration 1',
      'segment 4 part 0: DURATION 0.5 > PART-TARGET 0.35',
      'segment 4 part 1: DURATION 0.1 < 85% of PART-TARGET 0.35',
      'HOLD-BACK 2 < 3 x target duration 1',
      'PART-HOLD-BACK 0.5 < 2 x PART-TARGET 0.35',
      'no EXT-X-PRELOAD-HINT TYPE=PART for the next part',
      'EXT-X-MEDIA-SEQUENCE went back from 5 to 4',
      'segment 4: its parts last 0.900 s but EXTINF says 1.8',
    ]));
  });
});
