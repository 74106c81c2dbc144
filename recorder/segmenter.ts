/**
 * Cuts FFmpeg's fragmented MP4 into LL-HLS parts and segments. FFmpeg fragments every few
 * tens of milliseconds; we take its samples one by one and write our own fragments:
 *   - a part is as many samples as fit in PART-TARGET (timed on the video track); a frame
 *     that outlasts the part (an encoder dropping frames, a static screen share) stays in
 *     it, and parts are then cut on the PART-TARGET beat while that frame shows, carrying
 *     the audio of that time, so every part is 85-100 % of PART-TARGET (a segment's last
 *     part may be shorter);
 *   - a segment starts at a video keyframe once the current one is `segmentSeconds` long,
 *     or (an encoder ignoring keyframe requests) at a part boundary at `targetDuration`.
 * A sample's duration is the distance to the next sample of its track, so each sample is
 * held until the next one arrives. FFmpeg restarts start a new epoch: a new init segment,
 * a discontinuity, and decode times that continue where the previous epoch ended. A pause
 * of every track (the publisher's network dropped for a moment) is cut out of the timeline
 * the same way, without a discontinuity: the decoder state carries on.
 * Pure logic: the caller writes the files and tells the server.
 */
import { isSync, parseFragment, parseInit, writeFragment, type Sample, type TrackInfo } from './fmp4.ts';

export interface PartOut {
  msn: number;
  /** Index of the part in its segment. */
  part: number;
  /** Stream-wide part number: names the part's file, so the next one is known in advance. */
  seq: number;
  duration: number;
  independent: boolean;
  /** Of the segment the part belongs to (known from its first part on). */
  epoch: number;
  discontinuity: boolean;
  programDateTime: number;
  data: Buffer;
}

export interface SegmentOut {
  msn: number;
  duration: number;
  independent: boolean;
  discontinuity: boolean;
  epoch: number;
  programDateTime: number;
  parts: number;
  data: Buffer;
}

export interface SegmenterSink {
  init(epoch: number, data: Buffer, tracks: TrackInfo[]): void;
  part(p: PartOut): void;
  segment(s: SegmentOut): void;
}

export interface SegmenterOptions {
  partTargetSeconds: number;
  /** Segments are cut at keyframes about this far apart (keyframes are asked for at this beat). */
  segmentSeconds: number;
  targetDurationSeconds: number;
  sink: SegmenterSink;
  /** Continue a recording whose recorder process restarted. */
  resume?: { msn: number; partSeq: number; epoch: number; timelineSeconds: number };
  /** Wall clock, ms (tests pass their own). */
  now?: () => number;
}

interface TrackState {
  info: TrackInfo;
  /** Added to FFmpeg's decode times (track timescale) to continue the timeline. */
  offset: number;
  pending: Sample | undefined;
  lastEnd: number;
  lastDuration: number;
  emitted: number;
}

interface OpenPart {
  /** Seconds, where the part starts. */
  start: number;
  samples: Map<number, Sample[]>;
  /** Seconds: where the main track's last frame in (or carried into) the part ends. */
  mainEnd: number;
  /** Whether a main-track sample is in the part. */
  hasMain: boolean;
  /** Seconds: where the other tracks' samples in the part end. */
  otherEnd: number;
  independent: boolean;
}

interface OpenSegment {
  msn: number;
  start: number;
  parts: Buffer[];
  duration: number;
  independent: boolean;
  discontinuity: boolean;
  epoch: number;
  programDateTime: number;
}

/** Slack for float comparisons of seconds. */
const EPSILON = 1e-6;
/** Audio samples kept while waiting for the first keyframe of an epoch. */
const PREROLL_SAMPLES = 64;
/** Every track silent this long (media seconds): a pause, cut out of the timeline. */
const GAP_SECONDS = 2;

export class Segmenter {
  private tracks = new Map<number, TrackState>();
  private mainTrack = 0;
  private epoch = -1;
  /** Seconds on our timeline where the current epoch starts. */
  private resumeAt = 0;
  private epochInStart: number | undefined;
  /** Wall clock (ms) at timeline second `anchorAt`, for EXT-X-PROGRAM-DATE-TIME. */
  private anchorWall = 0;
  private anchorAt = 0;
  private segment: OpenSegment | undefined;
  private part: OpenPart | undefined;
  private preroll: Sample[] = [];
  private nextMsn = 0;
  private partSeq = 0;
  private fragmentSeq = 1;
  private segmentsDone = 0;
  private discontinuityPending = false;
  private readonly now: () => number;
  /** Seconds of media written in segments. */
  duration = 0;

  constructor(private readonly o: SegmenterOptions) {
    this.now = o.now ?? Date.now;
    if (o.resume) {
      this.nextMsn = o.resume.msn;
      this.partSeq = o.resume.partSeq;
      this.epoch = o.resume.epoch - 1;
      this.resumeAt = o.resume.timelineSeconds;
      this.duration = o.resume.timelineSeconds;
      this.segmentsDone = o.resume.msn;
    }
  }

  /** Where a recorder restarted now would continue. */
  get resumePoint(): { msn: number; partSeq: number; epoch: number; timelineSeconds: number } {
    let timeline = this.resumeAt;
    for (const t of this.tracks.values()) timeline = Math.max(timeline, t.lastEnd / t.info.timescale);
    return { msn: this.nextMsn, partSeq: this.partSeq, epoch: this.epoch + 1, timelineSeconds: timeline };
  }

  get segments(): number {
    return this.segmentsDone;
  }

  /** A new FFmpeg output begins with this init segment (ftyp + moov). */
  startEpoch(init: Buffer): void {
    const tracks = parseInit(init);
    if (this.tracks.size > 0) this.finishEpoch();
    let resume = this.resumeAt;
    for (const t of this.tracks.values()) resume = Math.max(resume, t.lastEnd / t.info.timescale);
    this.resumeAt = resume;
    this.epoch++;
    this.epochInStart = undefined;
    this.discontinuityPending = this.segmentsDone > 0;
    this.tracks = new Map(tracks.map((info) => [info.id, { info, offset: 0, pending: undefined, lastEnd: Math.round(resume * info.timescale), lastDuration: 0, emitted: 0 }]));
    this.mainTrack = (tracks.find((t) => t.kind === 'video') ?? tracks[0]!).id;
    this.preroll = [];
    this.o.sink.init(this.epoch, init, tracks);
  }

  /** One moof + mdat of the current epoch. */
  fragment(data: Buffer): void {
    if (this.epoch < 0) throw new Error('fragment before the init segment');
    for (const s of parseFragment(data)) this.accept(s);
  }

  /** FFmpeg ended (or is being replaced): everything held is written out. */
  finish(): void {
    if (this.tracks.size > 0) this.finishEpoch();
  }

  private finishEpoch(): void {
    this.flushPending();
    this.closeSegment();
    this.preroll = [];
  }

  /** Places every held sample, with the duration of the one before it. */
  private flushPending(): void {
    for (const t of this.tracks.values()) {
      if (!t.pending) continue;
      const s = t.pending;
      t.pending = undefined;
      s.duration = t.lastDuration > 0 ? t.lastDuration : Math.round(t.info.timescale / (t.info.kind === 'video' ? 30 : 50));
      this.place(t, s);
    }
  }

  private accept(sample: Sample): void {
    const t = this.tracks.get(sample.trackId);
    if (!t) return;
    const inAt = sample.dts / t.info.timescale;
    if (this.epochInStart === undefined) {
      this.epochInStart = inAt;
      this.anchorWall = this.now();
      this.anchorAt = this.resumeAt;
      for (const track of this.tracks.values()) track.offset = Math.round((this.resumeAt - inAt) * track.info.timescale);
    } else if (this.pausedBefore(inAt)) {
      // Every track was silent: continue the timeline where it stopped.
      this.flushPending();
      let end = 0;
      for (const track of this.tracks.values()) end = Math.max(end, track.lastEnd / track.info.timescale);
      const shift = inAt + t.offset / t.info.timescale - end;
      for (const track of this.tracks.values()) track.offset -= Math.round(shift * track.info.timescale);
      this.anchorWall = this.now();
      this.anchorAt = end;
    }
    let dts = sample.dts + t.offset;
    // Before the timeline (a track starting earlier than the first sample) or overlapping
    // the previous epoch's end: not playable in order, dropped.
    if (dts < t.lastEnd && !t.pending) return;
    const pending = t.pending;
    if (pending) {
      if (dts <= pending.dts) dts = pending.dts + 1;
      pending.duration = dts - pending.dts;
      this.place(t, pending);
    }
    t.pending = { ...sample, dts };
  }

  /** True when every track's newest sample is more than GAP_SECONDS before `inAt` (FFmpeg's time). */
  private pausedBefore(inAt: number): boolean {
    let any = false;
    for (const track of this.tracks.values()) {
      const last = track.pending ?? undefined;
      if (!last) continue;
      any = true;
      const lastIn = (last.dts - track.offset) / track.info.timescale;
      if (inAt - lastIn <= GAP_SECONDS) return false;
    }
    return any;
  }

  private place(t: TrackState, s: Sample): void {
    t.lastEnd = s.dts + s.duration;
    t.lastDuration = s.duration;
    t.emitted++;
    const ts = t.info.timescale;
    const at = s.dts / ts;
    const main = t.info.id === this.mainTrack;
    if (!this.segment) {
      if (!main) {
        this.preroll.push(s);
        if (this.preroll.length > PREROLL_SAMPLES) this.preroll.shift();
        return;
      }
      if (!isSync(s)) return; // wait for the first keyframe
      this.openSegment(at, true);
      this.takePreroll(at);
    } else {
      this.cutOutlastedParts(at);
      if (main) this.cutBefore(s, at);
    }
    const part = this.part!;
    let list = part.samples.get(t.info.id);
    if (!list) part.samples.set(t.info.id, (list = []));
    list.push(s);
    const end = at + s.duration / ts;
    if (main) {
      part.hasMain = true;
      part.mainEnd = Math.max(part.mainEnd, end);
    } else part.otherEnd = Math.max(part.otherEnd, end);
  }

  /** Before main-track sample `s` (at `at` seconds): a new segment at a keyframe, or a new part when it does not fit. */
  private cutBefore(s: Sample, at: number): void {
    const seg = this.segment!;
    const part = this.part!;
    const target = this.o.partTargetSeconds;
    const segmentAge = at - seg.start;
    // Keyframes come about every segmentSeconds (asked for); one a little early still cuts.
    const minimum = this.tracks.get(this.mainTrack)!.info.kind === 'video' ? this.o.segmentSeconds / 2 : this.o.segmentSeconds;
    if (isSync(s) && segmentAge >= minimum - EPSILON) {
      this.closeSegment(at);
      this.openSegment(at, true);
      return;
    }
    const end = at + s.duration / this.tracks.get(this.mainTrack)!.info.timescale;
    if (!part.hasMain || end - part.start <= target + EPSILON) return;
    // Too short a part to end here: the frame stays, and the part is cut at PART-TARGET
    // while it shows (cutOutlastedParts).
    if (at - part.start < 0.85 * target - EPSILON) return;
    this.closePart(at);
    if (segmentAge >= this.o.targetDurationSeconds - EPSILON) {
      // No keyframe in time (the encoder ignores requests): cut anyway, not independent.
      this.closeSegment(at);
      this.openSegment(at, isSync(s));
    } else {
      this.openPart(at, isSync(s));
    }
  }

  /**
   * The open part holds a frame that shows past PART-TARGET: parts end on the PART-TARGET
   * beat until `at`, the newer ones carrying that frame's remaining time (and the audio).
   */
  private cutOutlastedParts(at: number): void {
    const target = this.o.partTargetSeconds;
    for (;;) {
      const part = this.part!;
      const cut = part.start + target;
      if (part.mainEnd <= cut + EPSILON || at < cut - EPSILON || part.samples.size === 0) return;
      const carried = part.mainEnd;
      this.closePart(cut);
      this.openPart(cut, false);
      this.part!.mainEnd = carried;
    }
  }

  private takePreroll(at: number): void {
    for (const s of this.preroll) {
      const t = this.tracks.get(s.trackId)!;
      const ts = t.info.timescale;
      // Samples mostly after the keyframe play with it; earlier ones are dropped.
      if ((s.dts + s.duration / 2) / ts < at) continue;
      let list = this.part!.samples.get(s.trackId);
      if (!list) this.part!.samples.set(s.trackId, (list = []));
      list.push(s);
    }
    this.preroll = [];
  }

  private openSegment(at: number, independent: boolean): void {
    this.segment = {
      msn: this.nextMsn++,
      start: at,
      parts: [],
      duration: 0,
      independent,
      discontinuity: this.discontinuityPending,
      epoch: this.epoch,
      programDateTime: Math.round(this.anchorWall + (at - this.anchorAt) * 1000),
    };
    this.discontinuityPending = false;
    this.openPart(at, independent);
  }

  private openPart(at: number, independent: boolean): void {
    this.part = { start: at, samples: new Map(), mainEnd: at, hasMain: false, otherEnd: at, independent };
  }

  /** Ends the open part at `end` seconds (the next part's start), else where its media ends. */
  private closePart(end?: number): void {
    const part = this.part;
    const seg = this.segment;
    this.part = undefined;
    if (!part || !seg || part.samples.size === 0) return;
    const data = writeFragment(this.fragmentSeq++, [...part.samples].map(([id, samples]) => ({ id, samples })));
    // Timed on the video (audio only when the video stalled); parts tile the timeline.
    const duration = (end ?? (part.mainEnd > part.start ? part.mainEnd : part.otherEnd)) - part.start;
    const index = seg.parts.length;
    seg.parts.push(data);
    seg.duration += duration;
    this.o.sink.part({
      msn: seg.msn, part: index, seq: this.partSeq++, duration, independent: part.independent,
      epoch: seg.epoch, discontinuity: seg.discontinuity, programDateTime: seg.programDateTime, data,
    });
  }

  private closeSegment(end?: number): void {
    this.closePart(end);
    const seg = this.segment;
    this.segment = undefined;
    if (!seg || seg.parts.length === 0) return;
    this.segmentsDone++;
    this.duration += seg.duration;
    this.o.sink.segment({
      msn: seg.msn,
      duration: seg.duration,
      independent: seg.independent,
      discontinuity: seg.discontinuity,
      epoch: seg.epoch,
      programDateTime: seg.programDateTime,
      parts: seg.parts.length,
      data: Buffer.concat(seg.parts),
    });
  }
}
