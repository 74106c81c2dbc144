/**
 * One live LL-HLS media playlist (one rendition of one recording) in memory: segments of the
 * DVR window, the parts of the last few segments, the preload hint, and the rendering with
 * blocking-reload positions and delta updates (EXT-X-SKIP). Renders are cached per change,
 * so thousands of players polling the same playlist cost one render per part.
 */
import { num } from '../../recorder/playlists.ts';

export interface LivePlaylistOptions {
  /** Prefix of every URI in the playlist (the recording's folder, relative to the playlist). */
  uriPrefix: string;
  targetDurationSeconds: number;
  partTargetSeconds: number;
  /** Segments older than this (from the live edge) leave the playlist. */
  dvrWindowSeconds: number;
  /** PART-HOLD-BACK in parts (default 3, the spec's recommendation; at least 2). */
  partHoldBackParts?: number;
  /** File name of the part with this stream-wide number (for the preload hint). */
  partUri: (seq: number) => string;
}

interface PartEntry {
  part: number;
  seq: number;
  duration: number;
  independent: boolean;
  uri: string;
}

interface SegmentEntry {
  msn: number;
  duration: number;
  uri: string;
  discontinuity: boolean;
  epoch: number;
  programDateTime: number;
  parts: PartEntry[];
  complete: boolean;
}

/** Position of the newest media: the last part, as (media sequence, part index). */
export interface Position {
  msn: number;
  part: number;
}

export class LivePlaylist {
  private readonly segments: SegmentEntry[] = [];
  private readonly inits = new Map<number, string>();
  /** Discontinuities of segments that already left the window. */
  private droppedDiscontinuities = 0;
  private lastPartSeq = -1;
  private ended = false;
  private cache = new Map<string, string>();
  private windowDuration = 0;

  constructor(private readonly o: LivePlaylistOptions) {}

  /** Highest part file number announced so far (-1 before the first). */
  get partSeq(): number {
    return this.lastPartSeq;
  }

  /** Media sequence number of the newest complete segment (-1 before the first). */
  get lastCompleteMsn(): number {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i]!.complete) return this.segments[i]!.msn;
    return -1;
  }

  get position(): Position | undefined {
    const last = this.segments.at(-1);
    if (!last) return undefined;
    if (last.parts.length === 0) return { msn: last.msn, part: -1 };
    return { msn: last.msn, part: last.parts.at(-1)!.part };
  }

  init(epoch: number, uri: string): void {
    this.inits.set(epoch, uri);
  }

  addPart(msn: number, p: PartEntry, of: { epoch: number; discontinuity: boolean; programDateTime: number }): void {
    let seg = this.segments.at(-1);
    if (!seg || seg.complete || seg.msn !== msn) {
      seg = { msn, duration: 0, uri: '', discontinuity: of.discontinuity, epoch: of.epoch, programDateTime: of.programDateTime, parts: [], complete: false };
      this.segments.push(seg);
    }
    seg.parts.push(p);
    this.lastPartSeq = Math.max(this.lastPartSeq, p.seq);
    this.changed();
  }

  addSegment(s: { msn: number; duration: number; uri: string; discontinuity: boolean; epoch: number; programDateTime: number }): void {
    let seg = this.segments.at(-1);
    if (!seg || seg.complete || seg.msn !== s.msn) {
      seg = { ...s, parts: [], complete: true };
      this.segments.push(seg);
    }
    Object.assign(seg, { duration: s.duration, uri: s.uri, discontinuity: s.discontinuity, epoch: s.epoch, programDateTime: s.programDateTime, complete: true });
    this.windowDuration += s.duration;
    // The DVR window: drop the oldest complete segments beyond it (keep at least 3).
    while (this.segments.length > 3 && this.windowDuration - this.segments[0]!.duration >= this.o.dvrWindowSeconds && this.segments[0]!.complete) {
      const dropped = this.segments.shift()!;
      this.windowDuration -= dropped.duration;
      if (dropped.discontinuity) this.droppedDiscontinuities++;
    }
    this.changed();
  }

  /** The segment in progress (parts announced, not complete yet), if any. */
  partial(): { msn: number; epoch: number; discontinuity: boolean; programDateTime: number; parts: Array<{ uri: string; duration: number; independent: boolean }> } | undefined {
    const s = this.segments.at(-1);
    if (!s || s.complete || s.parts.length === 0) return undefined;
    return { msn: s.msn, epoch: s.epoch, discontinuity: s.discontinuity, programDateTime: s.programDateTime, parts: s.parts.map((p) => ({ uri: p.uri, duration: p.duration, independent: p.independent })) };
  }

  /** The broadcast ended: no more parts, EXT-X-ENDLIST. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    // An in-progress segment that never completed is left out.
    if (this.segments.at(-1) && !this.segments.at(-1)!.complete) this.segments.pop();
    this.changed();
  }

  /** True when the playlist holds media at or after (msn, part); part undefined = segment msn complete. */
  has(msn: number, part: number | undefined): boolean {
    if (this.ended) return true;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (s.msn > msn) {
        if (s.complete || s.parts.length > 0) return true;
        continue;
      }
      if (s.msn < msn) return false;
      if (part === undefined) return s.complete;
      return s.parts.some((p) => p.part >= part);
    }
    return false;
  }

  render(skip = false): string {
    const key = skip ? 'skip' : 'full';
    let text = this.cache.get(key);
    if (text === undefined) {
      text = this.build(skip);
      this.cache.set(key, text);
    }
    return text;
  }

  /** Seconds before the live edge the client may skip in delta updates. */
  get skipUntilSeconds(): number {
    return this.o.targetDurationSeconds * 6;
  }

  private changed(): void {
    this.cache.clear();
  }

  private build(skip: boolean): string {
    const o = this.o;
    const out: string[] = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      `#EXT-X-TARGETDURATION:${o.targetDurationSeconds}`,
    ];
    if (!this.ended) {
      out.push(
        `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${num(this.skipUntilSeconds)},PART-HOLD-BACK=${num(o.partTargetSeconds * (o.partHoldBackParts ?? 2))},HOLD-BACK=${num(o.targetDurationSeconds * 3)}`,
      );
    }
    out.push(`#EXT-X-PART-INF:PART-TARGET=${num(o.partTargetSeconds)}`);
    const first = this.segments[0];
    out.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`);
    // The discontinuity sequence number of the first segment (a gap before it counts).
    out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${this.droppedDiscontinuities + (first?.discontinuity ? 1 : 0)}`);

    // Delta update: complete segments older than the skip boundary are left out.
    let skipped = 0;
    if (skip && !this.ended) {
      let total = 0;
      for (const s of this.segments) total += s.complete ? s.duration : s.parts.reduce((a, p) => a + p.duration, 0);
      let at = 0;
      for (const s of this.segments) {
        if (!s.complete || total - at - s.duration < this.skipUntilSeconds) break;
        at += s.duration;
        skipped++;
      }
      if (skipped > 0) out.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
    }

    // Parts are listed for the segments within three target durations of the live edge.
    let fromEnd = 0;
    let partsFrom = this.segments.length;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      partsFrom = i;
      fromEnd += this.segments[i]!.complete ? this.segments[i]!.duration : 0;
      if (fromEnd >= o.targetDurationSeconds * 3) break;
    }

    let epoch = -1;
    for (let i = skipped; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      const firstShown = i === skipped;
      if (s.discontinuity && i > 0) out.push('#EXT-X-DISCONTINUITY');
      if (s.epoch !== epoch) {
        const init = this.inits.get(s.epoch);
        if (init) out.push(`#EXT-X-MAP:URI="${o.uriPrefix}${init}"`);
        epoch = s.epoch;
      }
      if (firstShown || s.discontinuity) out.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
      if (i >= partsFrom && !this.ended) {
        for (const p of s.parts) {
          out.push(`#EXT-X-PART:DURATION=${num(p.duration)},URI="${o.uriPrefix}${p.uri}"${p.independent ? ',INDEPENDENT=YES' : ''}`);
        }
      }
      if (s.complete) out.push(`#EXTINF:${num(s.duration)},`, `${o.uriPrefix}${s.uri}`);
    }
    if (this.ended) out.push('#EXT-X-ENDLIST');
    else out.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${o.uriPrefix}${o.partUri(this.lastPartSeq + 1)}"`);
    out.push('');
    return out.join('\n');
  }
}
