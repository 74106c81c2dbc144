/**
 * One recording, inside the recorder process: runs FFmpeg (one supervised job for the
 * copied source; with ABR, a second one for the transcoded rungs below the source's height,
 * started once that height is known), feeds each rendition's fMP4 through a Segmenter,
 * writes the files and the VOD playlists, and reports every init/part/segment to the
 * server. The server points the router's RTP at each FFmpeg's ports when asked (`attach`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecorderCommand, RecorderInput, RecorderMessage, RecorderResume, RecorderSettings, RecorderTrackInfo, RenditionSpec } from '../protocol/recorder.ts';
import { FfmpegJob, type AttachRequest, type RecorderLog } from './ffmpeg-job.ts';
import type { TrackInfo } from './fmp4.ts';
import { initName, MASTER, partName, peakBitrate, playlistName, renderMaster, SOURCE, segmentName, variantOf, VodPlaylist } from './playlists.ts';
import { Segmenter } from './segmenter.ts';

export type { RecorderLog } from './ffmpeg-job.ts';

interface Output {
  spec: RenditionSpec;
  segmenter: Segmenter;
  vod: VodPlaylist;
  tracks: TrackInfo[];
  /** Part files and when they may go (the live playlist no longer lists them by then). */
  partFiles: Array<{ file: string; removeAt: number }>;
  /** Largest segment bitrate seen, bit/s (BANDWIDTH in the master playlist). */
  peakBitrate: number;
}

/** Part files outlive their listing in the live playlist by this long (requests in flight). */
const PART_FILE_GRACE_MS = 30_000;
const MAIN = 'main';
const LADDER = 'ladder';

export class Recorder {
  private readonly outputs = new Map<string, Output>();
  private readonly jobs = new Map<string, FfmpegJob>();
  private input: RecorderInput;
  private stopping: Promise<void> | undefined;
  private readonly attachWaiters = new Map<string, (answer: { ok: boolean; message?: string }) => void>();
  private readonly cleanup: NodeJS.Timeout;

  constructor(
    private readonly s: RecorderSettings,
    /** `sent` is called once the message left (before the process may exit). */
    private readonly send: (m: RecorderMessage, sent?: () => void) => void,
    private readonly log: RecorderLog,
  ) {
    this.input = s.input;
    mkdirSync(s.dir, { recursive: true });
    this.cleanup = setInterval(() => this.removeOldParts(false), 5_000);
    this.cleanup.unref();
  }

  start(): void {
    const source = this.s.renditions.find((r) => r.name === SOURCE) ?? { name: SOURCE };
    this.startJob(MAIN, [source]);
    // Restarted where a previous process stopped: the ladder's height is known already.
    const height = this.s.resume?.[SOURCE] ? this.s.sourceHeight : undefined;
    if (height) this.startLadder(height);
  }

  command(c: RecorderCommand): void {
    switch (c.t) {
      case 'attached':
        this.attachWaiters.get(c.job)?.(c.ok ? { ok: true } : { ok: false, message: c.message });
        break;
      case 'restart':
        this.log.info({ reason: c.reason }, 'restarting FFmpeg');
        this.input = c.input;
        for (const job of this.jobs.values()) job.restart();
        break;
      case 'stop':
        void this.stop();
        break;
      default:
        break;
    }
  }

  /** Lets FFmpeg write what it holds, closes the playlists, reports `finished`. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const w of this.attachWaiters.values()) w({ ok: false, message: 'stopping' });
      await Promise.all([...this.jobs.values()].map((j) => j.stop()));
      for (const o of this.outputs.values()) {
        o.segmenter.finish();
        o.vod.close();
      }
      this.writeMaster();
      clearInterval(this.cleanup);
      this.removeOldParts(true);
      const source = this.outputs.get(SOURCE);
      const finished: RecorderMessage = { t: 'finished', durationSeconds: source?.segmenter.duration ?? 0, segments: source?.segmenter.segments ?? 0 };
      await new Promise<void>((resolve) => this.send(finished, resolve));
    })();
    return this.stopping;
  }

  private startJob(name: string, renditions: RenditionSpec[]): void {
    const outputs = renditions.map((r) => this.output(r));
    const job = new FfmpegJob({
      name,
      dir: this.s.dir,
      ffmpegPath: this.s.ffmpegPath,
      ffmpegMajor: this.s.ffmpegMajor,
      renditions,
      outputs: outputs.map((o) => ({
        init: (data) => o.segmenter.startEpoch(data),
        fragment: (data) => o.segmenter.fragment(data),
        end: () => o.segmenter.finish(),
      })),
      input: () => this.input,
      segmentSeconds: this.s.segmentSeconds,
      audioBitrate: this.s.audioBitrate,
      rtpPortMin: this.s.rtpPortMin,
      rtpPortMax: this.s.rtpPortMax,
      attach: (req) => this.attach(name, req),
      crashed: (info) => this.send({ t: 'ffmpeg-exit', job: name, ...info }),
      log: this.log,
    });
    this.jobs.set(name, job);
    job.start();
  }

  /** The ABR rungs below the source's height, in an FFmpeg of their own. */
  private startLadder(sourceHeight: number): void {
    if (this.jobs.has(LADDER) || this.stopping) return;
    const rungs = this.s.renditions.filter((r) => r.height !== undefined && r.height < sourceHeight);
    if (rungs.length === 0) return;
    this.log.info({ sourceHeight, rungs: rungs.map((r) => r.name) }, 'starting the ABR ladder');
    this.startJob(LADDER, rungs);
  }

  private attach(job: string, req: AttachRequest): Promise<{ ok: boolean; message?: string }> {
    if (this.stopping) return Promise.resolve({ ok: false, message: 'stopping' });
    return new Promise((resolve) => {
      this.attachWaiters.get(job)?.({ ok: false, message: 'superseded' });
      this.attachWaiters.set(job, (answer) => {
        this.attachWaiters.delete(job);
        resolve(answer);
      });
      this.send({ t: 'attach', job, ...req });
    });
  }

  private output(spec: RenditionSpec): Output {
    const existing = this.outputs.get(spec.name);
    if (existing) return existing;
    const name = spec.name;
    const o: Output = {
      spec,
      vod: new VodPlaylist(join(this.s.dir, playlistName(name)), this.s.targetDurationSeconds),
      tracks: [],
      partFiles: [],
      peakBitrate: 0,
      segmenter: undefined as unknown as Segmenter,
    };
    const resume = this.completePartial(o, this.s.resume?.[name]);
    o.segmenter = new Segmenter({
      partTargetSeconds: this.s.partTargetSeconds,
      segmentSeconds: this.s.segmentSeconds,
      targetDurationSeconds: this.s.targetDurationSeconds,
      ...(resume ? { resume } : {}),
      sink: {
        init: (epoch, data, tracks) => {
          const uri = initName(name, epoch);
          writeFileSync(join(this.s.dir, uri), data);
          o.tracks = tracks;
          this.send({ t: 'init', rendition: name, epoch, uri, tracks: tracks.map(trackInfo) });
          this.writeMaster();
          const height = tracks.find((t) => t.kind === 'video')?.height;
          if (name === SOURCE && height) this.startLadder(height);
        },
        part: (p) => {
          const uri = partName(name, p.seq);
          writeFileSync(join(this.s.dir, uri), p.data);
          o.partFiles.push({ file: uri, removeAt: Date.now() + this.s.targetDurationSeconds * 3_000 + PART_FILE_GRACE_MS });
          this.send({
            t: 'part', rendition: name, msn: p.msn, part: p.part, seq: p.seq, duration: p.duration, independent: p.independent,
            uri, bytes: p.data.length, epoch: p.epoch, discontinuity: p.discontinuity, programDateTime: p.programDateTime,
          });
        },
        segment: (seg) => {
          const uri = segmentName(name, seg.msn);
          writeFileSync(join(this.s.dir, uri), seg.data);
          o.vod.add({ uri, duration: seg.duration, discontinuity: seg.discontinuity, initUri: initName(name, seg.epoch), programDateTime: seg.programDateTime });
          o.peakBitrate = peakBitrate(o.peakBitrate, seg.data.length, seg.duration);
          this.send({
            t: 'segment', rendition: name, msn: seg.msn, duration: seg.duration, uri, bytes: seg.data.length,
            discontinuity: seg.discontinuity, epoch: seg.epoch, independent: seg.independent, programDateTime: seg.programDateTime,
          });
        },
      },
    });
    this.outputs.set(name, o);
    return o;
  }

  /**
   * The previous process died in the middle of a segment whose parts players already have:
   * the segment is those parts joined, and numbering continues after it.
   */
  private completePartial(o: Output, resume: RecorderResume | undefined): RecorderResume | undefined {
    const p = resume?.partial;
    if (!resume || !p) return resume;
    const name = o.spec.name;
    try {
      const data = Buffer.concat(p.parts.map((part) => readFileSync(join(this.s.dir, part.uri))));
      const duration = p.parts.reduce((a, part) => a + part.duration, 0);
      const uri = segmentName(name, p.msn);
      writeFileSync(join(this.s.dir, uri), data);
      o.vod.add({ uri, duration, discontinuity: p.discontinuity, initUri: initName(name, p.epoch), programDateTime: p.programDateTime });
      this.send({
        t: 'segment', rendition: name, msn: p.msn, duration, uri, bytes: data.length, discontinuity: p.discontinuity,
        epoch: p.epoch, independent: p.parts[0]?.independent ?? false, programDateTime: p.programDateTime,
      });
      return { msn: p.msn + 1, partSeq: resume.partSeq, epoch: resume.epoch, timelineSeconds: resume.timelineSeconds + duration };
    } catch (err) {
      this.log.error({ rendition: name, msn: p.msn, err: (err as Error).message }, 'cannot complete the segment the previous recorder left');
      return { msn: resume.msn, partSeq: resume.partSeq, epoch: resume.epoch, timelineSeconds: resume.timelineSeconds };
    }
  }

  /** The recording's master playlist: the renditions that produced media, source first. */
  private writeMaster(): void {
    const variants = [...this.outputs.values()]
      .filter((o) => o.tracks.length > 0)
      .map((o) => variantOf(o.spec.name, o.tracks.map(trackInfo), o.peakBitrate, { videoBitrate: o.spec.videoBitrate, audioBitrate: this.s.audioBitrate }));
    if (variants.length > 0) writeFileSync(join(this.s.dir, MASTER), renderMaster(variants));
  }

  /** Part files are for the live edge only; at the end every one goes (a crashed process's too). */
  private removeOldParts(all: boolean): void {
    const now = Date.now();
    for (const o of this.outputs.values()) {
      while (o.partFiles.length > 0 && (all || o.partFiles[0]!.removeAt <= now)) {
        rmSync(join(this.s.dir, o.partFiles.shift()!.file), { force: true });
      }
    }
    if (all) for (const f of readdirSync(this.s.dir)) if (/^[a-z0-9]+-p\d+\.m4s$/.test(f)) rmSync(join(this.s.dir, f), { force: true });
  }
}

function trackInfo(t: TrackInfo): RecorderTrackInfo {
  return { kind: t.kind, codec: t.codec, ...(t.width ? { width: t.width, height: t.height } : {}) };
}
