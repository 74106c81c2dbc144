/**
 * Records every live stream of this node: when a stream's media starts flowing, a recorder
 * process (recorder/main.ts, which runs FFmpeg) is started for it and the stream's router
 * sends it plain RTP; its reports feed the live LL-HLS playlists (HlsService) and the
 * segment index in the database. When the stream goes offline the recording is finished
 * and becomes a VOD. A recorder process that dies is started again where it stopped.
 * Finished recordings past the retention are deleted, files and rows together.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Gauge } from 'prom-client';
import type { VodView } from '../../protocol/api.ts';
import type { StreamId } from '../../protocol/ids.ts';
import { isUuid } from '../../protocol/ids.ts';
import type { RecorderInput, RecorderMessage, RecorderResume, RecorderSettings, RenditionSpec } from '../../protocol/recorder.ts';
import type { FfmpegBinary } from '../../recorder/ffmpeg.ts';
import { closeAbandonedPlaylist, SOURCE } from '../../recorder/playlists.ts';
import type { Config } from '../config.ts';
import type { RecordingsRepo, NewSegment } from '../db/recordings-repo.ts';
import type { HlsService, LiveRecording } from '../hls/hls-service.ts';
import type { Logger } from '../logger.ts';
import type { MediaService, StreamRouter } from '../media/media-service.ts';
import type { PlainTransportHandle } from '../sfu/worker-handle.ts';
import type { TransportId } from '../../protocol/ids.ts';
import type { Metrics } from '../metrics.ts';
import { RecorderProcess } from './recorder-process.ts';

/** The ABR ladder (RECORDING_ABR): transcoded besides the copied source. */
export const ABR_LADDER: RenditionSpec[] = [
  { name: '720p', height: 720, videoBitrate: 2_500_000 },
  { name: '480p', height: 480, videoBitrate: 1_000_000 },
  { name: '240p', height: 240, videoBitrate: 300_000 },
];

export interface RecordingServiceOptions {
  config: Readonly<Config['recording']>;
  mediaDir: string;
  ffmpeg: FfmpegBinary | undefined;
  media: MediaService;
  hls: HlsService;
  repo: RecordingsRepo;
  /** This node: its recordings' rows name it (other nodes pass their HLS requests here). */
  nodeId: string;
  metrics: Metrics;
  logLevel: string;
  log: Logger;
}

interface Active {
  id: string;
  streamId: StreamId;
  dir: string;
  live: LiveRecording;
  proc: RecorderProcess;
  /** The router it records from, and what the publisher sends. */
  source: StreamRouter;
  input: RecorderInput;
  renditions: RenditionSpec[];
  /** Where each rendition would continue if the recorder process had to start again. */
  resume: Record<string, RecorderResume>;
  stopping: boolean;
  finished: boolean;
  /** Its stream was deleted (with its rows): nothing more is written, its files go. */
  discarded: boolean;
  /** Resolves when the recording is finalised (files closed, row updated). */
  done: Promise<void>;
  resolveDone: () => void;
  /** Segment rows are written in order, one batch at a time. */
  writes: Promise<void>;
  crashes: number;
  /** The FFmpeg processes its recorder runs, by job (killed should the recorder die without them). */
  ffmpegPids: Map<string, number>;
  /** The plain RTP transports pointed at them, by job. */
  attached: Map<string, PlainTransportHandle[]>;
  sourceHeight: number | undefined;
  log: Logger;
}

const STOP_TIMEOUT_MS = 15_000;
const RETENTION_SWEEP_MS = 3600_000;
const SEGMENT_WRITE_ATTEMPTS = 3;
/** A new spare boots this long after one was taken (not while the new stream starts up). */
const SPARE_DELAY_MS = 3_000;

export class RecordingService {
  private readonly active = new Map<StreamId, Active>();
  private readonly queues = new Map<StreamId, Promise<void>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** A recorder process booted ahead, so a new recording does not wait for Node to start. */
  private spare: RecorderProcess | undefined;
  private spareTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ffmpegExits: Counter;
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly o: RecordingServiceOptions) {
    const registers = [o.metrics.registry];
    const active = this.active;
    new Gauge({
      name: 'glint_recordings_active',
      help: 'Streams being recorded on this node (one recorder process each).',
      registers,
      collect() {
        this.set(active.size);
      },
    });
    this.ffmpegExits = new Counter({ name: 'glint_recorder_ffmpeg_restarts_total', help: 'FFmpeg processes that exited unexpectedly and were restarted by their recorder.', registers });
    // A recording starts with the publish (FFmpeg is ready before the first packet), follows
    // the stream to a new router, and ends when the stream goes offline.
    this.unsubscribe = [
      // The stream moved to another node (its encoder reconnected there): that node records on.
      o.media.onHandOver((streamId) => {
        if (!this.closed && this.enabled) this.serially(streamId, () => this.stop(streamId));
      }),
      o.media.onPublish((streamId) => {
        if (!this.closed && this.enabled) this.serially(streamId, () => this.onActive(streamId));
      }),
      o.media.events.onAny((streamId, e) => {
        if (this.closed || !this.enabled) return;
        if (e.type === 'active') this.serially(streamId, () => this.onActive(streamId));
        else if (e.type === 'offline') this.serially(streamId, () => this.stop(streamId));
      }),
    ];
  }

  get enabled(): boolean {
    return this.o.config.enabled && !!this.o.ffmpeg;
  }

  /** Process id of the stream's recorder (its FFmpeg is a child of it). */
  recorderPid(streamId: StreamId): number | undefined {
    return this.active.get(streamId)?.proc.pid;
  }

  isRecording(streamId: StreamId): boolean {
    const a = this.active.get(streamId);
    return !!a && !a.stopping;
  }

  /** Closes what a previous run left open, deletes what retention says, then sweeps hourly. */
  async start(): Promise<void> {
    mkdirSync(this.o.mediaDir, { recursive: true });
    for (const row of await this.o.repo.unfinished(this.o.nodeId)) {
      await this.finalizeAbandoned(row.id, join(this.o.mediaDir, row.path), this.o.log.child({ recording: row.id }));
    }
    await this.sweep();
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err) => this.o.log.error({ err }, 'recording retention sweep failed'));
    }, RETENTION_SWEEP_MS);
    this.sweepTimer.unref();
    if (this.enabled) this.spare = new RecorderProcess(this.o.log.child({ component: 'recorder' }));
  }

  /** Finishes every recording (the server is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.spareTimer);
    this.spare?.kill('SIGTERM');
    this.spare = undefined;
    for (const u of this.unsubscribe) u();
    await Promise.all([...this.active.keys()].map((id) => this.stop(id)));
  }

  /**
   * The stream was deleted: its playlists and media answer 404 from now on, on this node; a
   * recording in progress stops without writing more rows (they went with the stream), and
   * the stream's media folder is removed in the background.
   */
  removeStream(streamId: StreamId): void {
    this.o.hls.remove(streamId);
    const a = this.active.get(streamId);
    if (a) a.discarded = true;
    this.serially(streamId, async () => {
      await this.stop(streamId);
      await rm(join(this.o.mediaDir, streamId), { recursive: true, force: true });
      this.o.log.info({ streamId }, 'media of a deleted stream removed');
    });
  }

  /** The stream's finished recordings, newest first. */
  async listVods(streamId: StreamId): Promise<VodView[]> {
    const rows = await this.o.repo.listByStream(streamId);
    return rows
      .filter((r) => r.status === 'complete' && r.durationSeconds > 0)
      .map((r) => ({
        id: r.id,
        streamId,
        startedAt: r.startedAt.toISOString(),
        endedAt: r.endedAt?.toISOString() ?? null,
        durationSeconds: Math.round(r.durationSeconds * 1000) / 1000,
        playlistUrl: `/hls/${streamId}/${r.id}/master.m3u8`,
      }));
  }

  private serially(streamId: StreamId, run: () => Promise<void>): void {
    const next = (this.queues.get(streamId) ?? Promise.resolve())
      .then(run)
      .catch((err) => this.o.log.error({ err, streamId }, 'recording step failed'));
    this.queues.set(streamId, next);
    void next.then(() => {
      if (this.queues.get(streamId) === next) this.queues.delete(streamId);
    });
  }

  /** A publisher (re)started on the stream's router: start recording, or follow a router/codec change. */
  private async onActive(streamId: StreamId): Promise<void> {
    const source = this.o.media.routerOf(streamId);
    if (!source || this.closed) return;
    const input = inputOf(source);
    if (!input.video && !input.audio) return;
    const a = this.active.get(streamId);
    if (!a || a.stopping) {
      if (a) await a.done;
      await this.begin(streamId, source, input);
      return;
    }
    const moved = a.source.router !== source.router;
    const recoded = JSON.stringify(a.input) !== JSON.stringify(input);
    a.source = source;
    if (moved || recoded) {
      a.input = input;
      a.log.info({ moved, recoded, input }, 'the stream moved or changed codec: restarting FFmpeg');
      a.proc.send({ t: 'restart', reason: moved ? 'the stream moved to another router' : 'the publisher changed codec', input });
    }
  }

  private async begin(streamId: StreamId, source: StreamRouter, input: RecorderInput): Promise<void> {
    const row = await this.o.repo.create(streamId, (id) => `${streamId}/${id}`, { nodeId: this.o.nodeId });
    if (this.closed) {
      await this.o.repo.delete(row.id); // the server began stopping meanwhile
      return;
    }
    const dir = join(this.o.mediaDir, row.path);
    const renditions: RenditionSpec[] = [{ name: SOURCE }, ...(this.o.config.abr && input.video ? ABR_LADDER : [])];
    const log = this.o.log.child({ streamId, recording: row.id });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const a: Active = {
      id: row.id, streamId, dir, source, input, renditions, log,
      live: this.o.hls.begin(streamId, row.id, renditions.map((r) => r.name)),
      proc: undefined as unknown as RecorderProcess,
      resume: {}, stopping: false, finished: false, discarded: false, done, resolveDone, writes: Promise.resolve(), crashes: 0, ffmpegPids: new Map(), attached: new Map(), sourceHeight: undefined,
    };
    this.active.set(streamId, a);
    this.spawn(a);
    log.info({ input, renditions: renditions.map((r) => r.name) }, 'recording started');
  }

  private spawn(a: Active): void {
    const c = this.o.config;
    const settings: RecorderSettings = {
      recordingId: a.id,
      streamId: a.streamId,
      dir: a.dir,
      ffmpegPath: this.o.ffmpeg!.path,
      ffmpegMajor: this.o.ffmpeg!.major,
      input: a.input,
      renditions: a.renditions,
      partTargetSeconds: c.partTargetSeconds,
      segmentSeconds: c.segmentSeconds,
      targetDurationSeconds: c.targetDurationSeconds,
      audioBitrate: c.audioBitrate,
      rtpPortMin: c.rtpPortMin,
      rtpPortMax: c.rtpPortMax,
      logLevel: this.o.logLevel,
      ...(Object.keys(a.resume).length > 0 ? { resume: a.resume } : {}),
      ...(a.sourceHeight ? { sourceHeight: a.sourceHeight } : {}),
    };
    const proc = this.takeProcess();
    proc.start(settings, (m) => this.onMessage(a, proc, m), a.log.child({ component: 'recorder' }));
    a.proc = proc;
    void proc.exit.then(({ code, signal }) => this.onProcessExit(a, proc, code, signal));
  }

  /** The spare process (booted ahead) or a new one; a new spare boots a little later. */
  private takeProcess(): RecorderProcess {
    const spare = this.spare;
    this.spare = undefined;
    clearTimeout(this.spareTimer);
    this.spareTimer = setTimeout(() => {
      if (!this.closed && !this.spare) this.spare = new RecorderProcess(this.o.log.child({ component: 'recorder' }));
    }, SPARE_DELAY_MS);
    this.spareTimer.unref();
    return spare?.alive ? spare : new RecorderProcess(this.o.log.child({ component: 'recorder' }));
  }

  private onMessage(a: Active, proc: RecorderProcess, m: RecorderMessage): void {
    if (a.proc !== proc) return;
    switch (m.t) {
      case 'attach':
        a.ffmpegPids.set(m.job, m.pid);
        void this.attach(a, proc, m);
        break;
      case 'init':
        a.live.init(m.rendition, m.epoch, m.uri, m.tracks);
        if (m.rendition === SOURCE) a.sourceHeight = m.tracks.find((t) => t.kind === 'video')?.height ?? a.sourceHeight;
        this.resumeOf(a, m.rendition).epoch = m.epoch + 1;
        break;
      case 'part':
        a.live.part(m.rendition, m);
        this.resumeOf(a, m.rendition).partSeq = m.seq + 1;
        break;
      case 'segment': {
        a.live.segment(m.rendition, m);
        const r = this.resumeOf(a, m.rendition);
        r.msn = m.msn + 1;
        r.timelineSeconds += m.duration;
        this.writeSegment(a, {
          streamId: a.streamId, recordingId: a.id, sequence: m.msn, segmentUrl: `/hls/${a.streamId}/${a.id}/${m.uri}`,
          duration: m.duration, byteSize: m.bytes, discontinuity: m.discontinuity, timestamp: new Date(m.programDateTime),
        });
        break;
      }
      case 'ffmpeg-exit':
        this.ffmpegExits.inc();
        a.log.warn({ job: m.job, code: m.code, signal: m.signal, restartInMs: m.restartInMs, stderr: m.stderr }, 'FFmpeg exited; its recorder restarts it');
        break;
      case 'finished':
        a.finished = true;
        void this.finalize(a, 'complete', m.durationSeconds);
        break;
    }
  }

  private resumeOf(a: Active, rendition: string): RecorderResume {
    return (a.resume[rendition] ??= { msn: 0, partSeq: 0, epoch: 0, timelineSeconds: 0 });
  }

  /** Points the stream's router at the ports FFmpeg listens on: a plain RTP transport per track. */
  private async attach(a: Active, proc: RecorderProcess, m: Extract<RecorderMessage, { t: 'attach' }>): Promise<void> {
    const router = a.source.router;
    // The same ids again re-point the transports (FFmpeg restarted on new ports).
    const id = (kind: string) => `${a.id}:${m.job}:${kind}` as TransportId;
    const keyframeIntervalMs = Math.round(this.o.config.segmentSeconds * 1000);
    try {
      const video = await router.createPlainTransport(id('video'), '127.0.0.1', m.videoPort);
      const audio = await router.createPlainTransport(id('audio'), '127.0.0.1', m.audioPort);
      a.attached.set(m.job, [video, audio]);
      // Audio first: the video starts both at the keyframe asked for when it is consumed.
      const tracks = [await audio.consume('audio', m.audioPayloadType), await video.consume('video', m.videoPayloadType, keyframeIntervalMs)];
      if (a.stopping) for (const t of [video, audio]) void t.close();
      a.log.info({ job: m.job, videoPort: m.videoPort, audioPort: m.audioPort, tracks: tracks.map((t) => `${t.kind}:${t.codec}`) }, 'recorder attached to the router');
      proc.send({ t: 'attached', job: m.job, ok: true });
    } catch (err) {
      proc.send({ t: 'attached', job: m.job, ok: false, message: (err as Error).message });
    }
  }

  private writeSegment(a: Active, row: NewSegment): void {
    a.writes = a.writes.then(async () => {
      for (let attempt = 1; !a.discarded; attempt++) {
        try {
          await this.o.repo.addSegments([row]);
          return;
        } catch (err) {
          if (attempt >= SEGMENT_WRITE_ATTEMPTS) {
            a.log.error({ err, segment: row.segmentUrl }, 'cannot index a segment in the database');
            return;
          }
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    });
  }

  /** The broadcast ended: FFmpeg flushes, the playlists close, the row is completed. */
  private async stop(streamId: StreamId): Promise<void> {
    const a = this.active.get(streamId);
    if (!a) return;
    if (!a.stopping) {
      a.stopping = true;
      for (const transports of a.attached.values()) for (const t of transports) void t.close();
      a.attached.clear();
      if (!a.proc.alive) {
        // Between a crash and its restart: nothing runs that could finish it.
        void this.finalizeAbandoned(a.id, a.dir, a.log).then(() => this.forget(a));
        await a.done;
        return;
      }
      a.proc.send({ t: 'stop' });
      const timer = setTimeout(() => {
        a.log.warn('the recorder did not finish in time; killing it');
        a.proc.kill();
      }, STOP_TIMEOUT_MS);
      void a.done.then(() => clearTimeout(timer));
    }
    await a.done;
  }

  private onProcessExit(a: Active, proc: RecorderProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (a.proc !== proc || a.finished) return;
    for (const pid of a.ffmpegPids.values()) killOrphan(pid, a.id);
    a.ffmpegPids.clear();
    if (a.stopping || this.closed) {
      // It ended without reporting: close what it left.
      void this.finalizeAbandoned(a.id, a.dir, a.log).then(() => this.forget(a));
      return;
    }
    // A crash: start it again where it stopped (a discontinuity in the playlists).
    a.crashes++;
    const delay = Math.min(10_000, 500 * 2 ** (a.crashes - 1));
    a.log.error({ code, signal, restartInMs: delay }, 'recorder process exited; restarting it');
    // The segments it was in the middle of: the next process completes them from their parts.
    for (const [rendition, resume] of Object.entries(a.resume)) {
      const partial = a.live.partial(rendition);
      if (partial) resume.partial = partial;
      else delete resume.partial;
    }
    setTimeout(() => {
      if (a.stopping || this.closed || this.active.get(a.streamId) !== a) return;
      this.spawn(a);
    }, delay).unref();
  }

  private async finalize(a: Active, status: 'complete' | 'failed', durationSeconds: number): Promise<void> {
    await a.writes;
    try {
      if (a.discarded) {
        a.log.info('recording of a deleted stream stopped');
      } else if (durationSeconds > 0) {
        await this.o.repo.finish(a.id, status, durationSeconds);
        a.log.info({ durationSeconds }, 'recording finished');
      } else {
        // Nothing was recorded (the publisher never sent media): leave no empty VOD behind.
        await this.o.repo.delete(a.id);
        await rm(a.dir, { recursive: true, force: true });
        a.log.info('recording discarded: no media arrived');
      }
    } catch (err) {
      a.log.error({ err }, 'cannot mark the recording finished');
    }
    this.forget(a);
  }

  private forget(a: Active): void {
    this.o.hls.finish(a.live);
    if (this.active.get(a.streamId) === a) this.active.delete(a.streamId);
    a.resolveDone();
  }

  /** A recording whose recorder did not finish it: close its playlists, complete its row. */
  private async finalizeAbandoned(id: string, dir: string, log: Logger): Promise<void> {
    try {
      for (const name of await safeList(dir)) if (name.endsWith('.m3u8') && name !== 'master.m3u8') closeAbandonedPlaylist(join(dir, name));
      const totals = await this.o.repo.totals(id);
      if (totals.segments === 0) {
        await this.o.repo.delete(id);
        await rm(dir, { recursive: true, force: true });
        log.warn('discarded a recording its recorder left without media');
        return;
      }
      await this.o.repo.finish(id, 'complete', totals.duration, totals.lastTimestamp ?? new Date());
      log.warn({ segments: totals.segments, durationSeconds: totals.duration }, 'closed a recording its recorder left unfinished');
    } catch (err) {
      log.error({ err }, 'cannot close an unfinished recording');
    }
  }

  /** Retention (files and rows together) and folders no recording owns any more. */
  private async sweep(): Promise<void> {
    const days = this.o.config.retentionDays;
    if (days > 0) {
      const before = new Date(Date.now() - days * 86400_000);
      for (;;) {
        const rows = await this.o.repo.endedBefore(before, 100, this.o.nodeId);
        for (const r of rows) {
          await rm(join(this.o.mediaDir, r.path), { recursive: true, force: true });
          await this.o.repo.delete(r.id);
          this.o.log.info({ recording: r.id, streamId: r.streamId, endedAt: r.endedAt }, 'recording deleted (retention)');
        }
        if (rows.length < 100) break;
      }
    }
    // Folders of deleted streams or recordings.
    const known = await this.o.repo.ids();
    for (const a of this.active.values()) known.add(a.id);
    for (const stream of await safeList(this.o.mediaDir)) {
      if (!isUuid(stream)) continue;
      for (const rec of await safeList(join(this.o.mediaDir, stream))) {
        if (isUuid(rec) && !known.has(rec)) await rm(join(this.o.mediaDir, stream, rec), { recursive: true, force: true });
      }
    }
  }
}

function inputOf(p: StreamRouter): RecorderInput {
  const input: RecorderInput = {};
  const video = p.producers.find((x) => x.kind === 'video');
  const audio = p.producers.find((x) => x.kind === 'audio');
  if (video && (video.codec === 'h264' || video.codec === 'vp8')) input.video = { codec: video.codec };
  if (audio && audio.codec === 'opus') input.audio = { codec: 'opus' };
  return input;
}

/** Kills an FFmpeg left behind by a recorder that died (it would wait for RTP forever). */
function killOrphan(pid: number, recordingId: string): void {
  if (!pid) return;
  try {
    // Only that FFmpeg: its command line names the recording's folder.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(recordingId)) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already, or not Linux: nothing to do.
  }
}

async function safeList(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

