/**
 * An LL-HLS media playlist checker written from rfc8216bis and ../shared/reference/protocols.md:
 * parses a playlist and lists every rule it breaks. Used on Glint's live playlists in tests
 * and by `npm run bench:hls`. Media-level checks (segments start with a keyframe) are in
 * `checkMedia`, which downloads what the playlist points at.
 */
import { isSync, parseFragment, parseInit } from '../../recorder/fmp4.ts';

export interface Part {
  duration: number;
  uri: string;
  independent: boolean;
}

export interface Segment {
  msn: number;
  duration: number;
  uri: string;
  parts: Part[];
  discontinuity: boolean;
  map: string | undefined;
}

export interface MediaPlaylist {
  version: number;
  targetDuration: number;
  partTarget: number | undefined;
  mediaSequence: number;
  discontinuitySequence: number;
  serverControl: Record<string, string>;
  skipped: number;
  segments: Segment[];
  /** Parts after the last complete segment (the segment in progress). */
  pendingParts: Part[];
  preloadHint: { type: string; uri: string } | undefined;
  ended: boolean;
  programDateTime: boolean;
}

function attrs(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

export function parsePlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines[0] !== '#EXTM3U') throw new Error('the playlist does not start with #EXTM3U');
  const pl: MediaPlaylist = {
    version: 1, targetDuration: NaN, partTarget: undefined, mediaSequence: 0, discontinuitySequence: 0,
    serverControl: {}, skipped: 0, segments: [], pendingParts: [], preloadHint: undefined, ended: false, programDateTime: false,
  };
  let parts: Part[] = [];
  let duration: number | undefined;
  let discontinuity = false;
  let map: string | undefined;
  let msn: number | undefined;
  for (const line of lines.slice(1)) {
    const [tag, rest = ''] = line.startsWith('#') ? [line.split(':')[0]!, line.slice(line.indexOf(':') + 1)] : ['', ''];
    switch (tag) {
      case '#EXT-X-VERSION': pl.version = Number(rest); break;
      case '#EXT-X-TARGETDURATION': pl.targetDuration = Number(rest); break;
      case '#EXT-X-PART-INF': pl.partTarget = Number(attrs(rest)['PART-TARGET']); break;
      case '#EXT-X-MEDIA-SEQUENCE': pl.mediaSequence = Number(rest); break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE': pl.discontinuitySequence = Number(rest); break;
      case '#EXT-X-SERVER-CONTROL': pl.serverControl = attrs(rest); break;
      case '#EXT-X-SKIP': pl.skipped = Number(attrs(rest)['SKIPPED-SEGMENTS']); break;
      case '#EXT-X-MAP': map = attrs(rest).URI; break;
      case '#EXT-X-PROGRAM-DATE-TIME': pl.programDateTime = true; break;
      case '#EXT-X-DISCONTINUITY': discontinuity = true; break;
      case '#EXT-X-ENDLIST': pl.ended = true; break;
      case '#EXT-X-PART': {
        const a = attrs(rest);
        parts.push({ duration: Number(a.DURATION), uri: a.URI ?? '', independent: a.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXT-X-PRELOAD-HINT': {
        const a = attrs(rest);
        pl.preloadHint = { type: a.TYPE ?? '', uri: a.URI ?? '' };
        break;
      }
      case '#EXTINF': duration = Number(rest.split(',')[0]); break;
      case '':
        msn ??= pl.mediaSequence + pl.skipped;
        pl.segments.push({ msn, duration: duration ?? NaN, uri: line, parts, discontinuity, map });
        msn++;
        parts = [];
        duration = undefined;
        discontinuity = false;
        break;
      default:
        break;
    }
  }
  pl.pendingParts = parts;
  return pl;
}

const EPS = 0.0005;

/**
 * Every rule the playlist breaks (empty when it conforms). `previous` is the same
 * playlist loaded earlier: media sequence numbers must not go back, and a segment keeps
 * its URI. `live`: the stream is still live (server control, preload hint required).
 */
export function checkPlaylist(pl: MediaPlaylist, options: { live: boolean; previous?: MediaPlaylist }): string[] {
  const errors: string[] = [];
  const td = pl.targetDuration;
  if (!Number.isInteger(td) || td <= 0) errors.push('EXT-X-TARGETDURATION missing or not a positive integer');
  if (pl.version < 6) errors.push(`EXT-X-VERSION ${pl.version}: fMP4 (EXT-X-MAP) needs 6 or later`);
  if (!pl.programDateTime) errors.push('no EXT-X-PROGRAM-DATE-TIME');
  for (const s of pl.segments) {
    if (!(Math.round(s.duration) <= td)) errors.push(`segment ${s.msn}: EXTINF ${s.duration} rounds above the target duration ${td}`);
    if (!s.map) errors.push(`segment ${s.msn}: no EXT-X-MAP before it`);
  }
  const allParts = [...pl.segments.flatMap((s) => s.parts), ...pl.pendingParts];
  if (allParts.length > 0) {
    const pt = pl.partTarget;
    if (pt === undefined || !(pt > 0)) errors.push('EXT-X-PART without EXT-X-PART-INF:PART-TARGET');
    else {
      const groups = [...pl.segments.map((s) => ({ label: `segment ${s.msn}`, parts: s.parts, complete: true })), { label: 'the segment in progress', parts: pl.pendingParts, complete: false }];
      for (const g of groups) {
        g.parts.forEach((p, i) => {
          if (p.duration > pt + EPS) errors.push(`${g.label} part ${i}: DURATION ${p.duration} > PART-TARGET ${pt}`);
          const last = i === g.parts.length - 1;
          if (!last && !p.independent && p.duration < 0.85 * pt - EPS) errors.push(`${g.label} part ${i}: DURATION ${p.duration} < 85% of PART-TARGET ${pt}`);
        });
      }
      for (const s of pl.segments) {
        if (s.parts.length === 0) continue;
        const sum = s.parts.reduce((a, p) => a + p.duration, 0);
        if (Math.abs(sum - s.duration) > 0.002 * s.parts.length + EPS) errors.push(`segment ${s.msn}: its parts last ${sum.toFixed(3)} s but EXTINF says ${s.duration}`);
      }
    }
  }
  if (options.live) {
    const sc = pl.serverControl;
    if (sc['CAN-BLOCK-RELOAD'] !== 'YES') errors.push('EXT-X-SERVER-CONTROL lacks CAN-BLOCK-RELOAD=YES');
    const holdBack = Number(sc['HOLD-BACK']);
    if (!(holdBack >= 3 * td)) errors.push(`HOLD-BACK ${sc['HOLD-BACK']} < 3 x target duration ${td}`);
    if (pl.partTarget !== undefined) {
      const phb = Number(sc['PART-HOLD-BACK']);
      if (!(phb >= 2 * pl.partTarget - EPS)) errors.push(`PART-HOLD-BACK ${sc['PART-HOLD-BACK']} < 2 x PART-TARGET ${pl.partTarget}`);
      if (!pl.preloadHint || pl.preloadHint.type !== 'PART' || !pl.preloadHint.uri) errors.push('no EXT-X-PRELOAD-HINT TYPE=PART for the next part');
    }
    if (sc['CAN-SKIP-UNTIL'] !== undefined && !(Number(sc['CAN-SKIP-UNTIL']) >= 6 * td)) errors.push(`CAN-SKIP-UNTIL ${sc['CAN-SKIP-UNTIL']} < 6 x target duration`);
    if (pl.ended) errors.push('a live playlist has EXT-X-ENDLIST');
  } else if (!pl.ended) {
    errors.push('a finished recording has no EXT-X-ENDLIST');
  }
  const prev = options.previous;
  if (prev) {
    if (pl.mediaSequence < prev.mediaSequence) errors.push(`EXT-X-MEDIA-SEQUENCE went back from ${prev.mediaSequence} to ${pl.mediaSequence}`);
    if (pl.discontinuitySequence < prev.discontinuitySequence) errors.push('EXT-X-DISCONTINUITY-SEQUENCE went back');
    const before = new Map(prev.segments.map((s) => [s.msn, s.uri]));
    for (const s of pl.segments) {
      const uri = before.get(s.msn);
      if (uri !== undefined && uri !== s.uri) errors.push(`segment ${s.msn} changed its URI from ${uri} to ${s.uri}`);
    }
  }
  return errors;
}

/**
 * Downloads the playlist's init segments, segments and independent parts and checks that
 * each segment (and each INDEPENDENT=YES part) starts with a video keyframe.
 */
export async function checkMedia(pl: MediaPlaylist, baseUrl: string, options: { maxSegments?: number } = {}): Promise<string[]> {
  const errors: string[] = [];
  const get = async (uri: string) => {
    const res = await fetch(new URL(uri, baseUrl));
    if (res.status !== 200) throw new Error(`${uri}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const videoTrack = new Map<string, number | undefined>();
  const startsWithKeyframe = async (map: string, uri: string): Promise<boolean | undefined> => {
    if (!videoTrack.has(map)) videoTrack.set(map, parseInit(await get(map)).find((t) => t.kind === 'video')?.id);
    const id = videoTrack.get(map);
    if (id === undefined) return undefined;
    const first = parseFragment(await get(uri)).find((s) => s.trackId === id);
    return first ? isSync(first) : false;
  };
  const segments = pl.segments.slice(-(options.maxSegments ?? pl.segments.length));
  for (const s of segments) {
    if (!s.map) continue;
    if ((await startsWithKeyframe(s.map, s.uri)) === false) errors.push(`segment ${s.msn} (${s.uri}) does not start with a keyframe`);
    for (const p of s.parts) {
      if (p.independent && (await startsWithKeyframe(s.map, p.uri)) === false) errors.push(`part ${p.uri} says INDEPENDENT=YES but does not start with a keyframe`);
    }
  }
  return errors;
}
