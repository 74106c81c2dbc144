/**
 * One supervised FFmpeg: started on free RTP ports, attached to the router once it holds
 * them, its fMP4 pipes split into boxes for its outputs, restarted after a crash (after a
 * pause that doubles up to 10 s; a long healthy run resets it), stopped with a flush.
 * A recording runs one for the copied source and, with ABR, one for the transcoded ladder,
 * so the source never waits on an encoder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { RecorderInput, RenditionSpec } from '../protocol/recorder.ts';
import { AUDIO_PAYLOAD_TYPE, buildFfmpegArgs, buildSdp, VIDEO_PAYLOAD_TYPE } from './ffmpeg.ts';
import { BoxSplitter } from './fmp4.ts';

export interface RecorderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Where one FFmpeg output (one rendition) goes. */
export interface JobOutput {
  /** A new FFmpeg's init segment (ftyp + moov): a new epoch. */
  init(data: Buffer): void;
  /** One moof + mdat. */
  fragment(data: Buffer): void;
  /** FFmpeg ended: what it wrote is complete. */
  end(): void;
}

export interface AttachRequest {
  pid: number;
  videoPort: number;
  audioPort: number;
  videoPayloadType: number;
  audioPayloadType: number;
}

export interface FfmpegJobOptions {
  /** `main` (the source) or `ladder` (ABR rungs): names the router's RTP output for it. */
  name: string;
  dir: string;
  ffmpegPath: string;
  ffmpegMajor: number;
  renditions: RenditionSpec[];
  outputs: JobOutput[];
  input: () => RecorderInput;
  segmentSeconds: number;
  audioBitrate: number;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Asks the server to send the router's RTP to these ports; resolves with its answer. */
  attach: (req: AttachRequest) => Promise<{ ok: boolean; message?: string }>;
  /** FFmpeg exited unexpectedly (restarted after `restartInMs`). */
  crashed: (info: { code: number | null; signal: string | null; restartInMs: number; stderr: string }) => void;
  log: RecorderLog;
}

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 10_000;
const HEALTHY_RUN_MS = 30_000;
const STOP_TIMEOUT_MS = 8_000;
const PORT_WAIT_MS = 5_000;

export class FfmpegJob {
  private ffmpeg: ChildProcess | undefined;
  private stderrTail = '';
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private startedAt = 0;
  private expectingExit = false;
  private stopping = false;

  constructor(private readonly o: FfmpegJobOptions) {}

  start(): void {
    void this.spawnOnFreePorts().catch((err) => {
      this.o.log.error({ job: this.o.name, err: (err as Error).message }, 'cannot start FFmpeg');
      this.ffmpeg = undefined;
      this.onExit(undefined, null, null);
    });
  }

  /** Kills the running FFmpeg (if any); the next one starts at once. */
  restart(): void {
    const ff = this.ffmpeg;
    if (!ff || ff.exitCode !== null || ff.signalCode !== null) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.start();
      return;
    }
    this.expectingExit = true;
    ff.kill('SIGKILL');
  }

  /** Lets FFmpeg write what it holds and exit (no restart). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const ff = this.ffmpeg;
    if (!ff || ff.exitCode !== null || ff.signalCode !== null) return;
    this.expectingExit = true;
    const closed = new Promise<void>((resolve) => ff.once('close', () => resolve()));
    // SIGINT: FFmpeg stops, flushes its encoders and writes the last fragment. Once it is
    // running, one signal only ends it after its next input packet, which may never come
    // (the stream ended): a second one interrupts the read (a third would skip the flush).
    ff.kill('SIGINT');
    const second = setTimeout(() => ff.kill('SIGINT'), 100);
    const timer = setTimeout(() => ff.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await closed;
    clearTimeout(second);
    clearTimeout(timer);
  }

  private async spawnOnFreePorts(): Promise<void> {
    if (this.stopping) return;
    const base = await freePortBase(this.o.rtpPortMin, this.o.rtpPortMax);
    if (this.stopping) return;
    const input = this.o.input();
    const videoPort = base;
    const audioPort = base + 2;
    const sdpPath = join(this.o.dir, `.${this.o.name}.sdp`);
    writeFileSync(sdpPath, buildSdp(input, videoPort, audioPort));
    const args = buildFfmpegArgs({
      sdpPath, input, renditions: this.o.renditions, segmentSeconds: this.o.segmentSeconds, audioBitrate: this.o.audioBitrate, major: this.o.ffmpegMajor,
    });
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...this.o.outputs.slice(1).map(() => 'pipe' as const)];
    const ff = spawn(this.o.ffmpegPath, args, { stdio });
    this.ffmpeg = ff;
    this.expectingExit = false;
    this.startedAt = Date.now();
    this.stderrTail = '';
    this.o.log.info({ job: this.o.name, pid: ff.pid, videoPort, audioPort, input }, 'FFmpeg started');
    this.o.outputs.forEach((out, i) => {
      const splitter = new BoxSplitter();
      let ftyp: Buffer | undefined;
      let moof: Buffer | undefined;
      let started = false;
      (ff.stdio[i === 0 ? 1 : i + 2] as Readable).on('data', (chunk: Buffer) => {
        if (this.ffmpeg !== ff) return;
        try {
          for (const box of splitter.push(chunk)) {
            if (box.type === 'ftyp') ftyp = box.data;
            else if (box.type === 'moov') {
              out.init(ftyp ? Buffer.concat([ftyp, box.data]) : box.data);
              started = true;
            } else if (box.type === 'moof') moof = box.data;
            else if (box.type === 'mdat' && moof && started) {
              out.fragment(Buffer.concat([moof, box.data]));
              moof = undefined;
            }
          }
        } catch (err) {
          this.o.log.error({ job: this.o.name, err: (err as Error).message }, 'cannot read FFmpeg output; restarting it');
          this.restart();
        }
      });
    });
    ff.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    ff.once('error', (err) => this.o.log.error({ job: this.o.name, err: err.message, path: this.o.ffmpegPath }, 'cannot run FFmpeg'));
    // 'close': after the pipes are drained, so the last fragments are read first.
    ff.once('close', (code, signal) => this.onExit(ff, code, signal));
    void this.attach(ff, input, videoPort, audioPort);
  }

  /** Once FFmpeg holds its ports, asks the server to send the router's RTP there. */
  private async attach(ff: ChildProcess, input: RecorderInput, videoPort: number, audioPort: number): Promise<void> {
    const ports = [input.video ? videoPort : 0, input.audio ? audioPort : 0].filter(Boolean);
    if (!(await waitForPorts(ports, () => this.ffmpeg !== ff))) {
      if (this.ffmpeg === ff && !this.stopping) {
        this.o.log.warn({ job: this.o.name, videoPort, audioPort }, 'FFmpeg did not open its RTP ports; restarting it');
        this.restart();
      }
      return;
    }
    for (let attempt = 0; this.ffmpeg === ff && !this.stopping; attempt++) {
      const answer = await this.o.attach({ pid: ff.pid ?? 0, videoPort, audioPort, videoPayloadType: VIDEO_PAYLOAD_TYPE, audioPayloadType: AUDIO_PAYLOAD_TYPE });
      if (answer.ok || this.ffmpeg !== ff || this.stopping) return;
      this.o.log.warn({ job: this.o.name, message: answer.message, attempt }, 'the server could not attach the recorder; trying again');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 500 * 2 ** attempt)));
    }
  }

  private onExit(ff: ChildProcess | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.ffmpeg !== ff) return;
    for (const out of this.o.outputs) out.end();
    if (this.stopping) return;
    const ranFor = Date.now() - this.startedAt;
    if (ranFor > HEALTHY_RUN_MS) this.restarts = 0;
    const delay = this.expectingExit ? 0 : Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.restarts++);
    if (!this.expectingExit) {
      const stderr = this.stderrTail.trim().split('\n').slice(-5).join('\n');
      this.o.log.warn({ job: this.o.name, code, signal, ranForMs: ranFor, restartInMs: delay, stderr }, 'FFmpeg exited; restarting it');
      this.o.crashed({ code, signal, restartInMs: delay, stderr });
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, delay);
  }
}

/**
 * A port p (multiple of 4 from `min`) with p .. p+3 free right now: FFmpeg takes RTP and
 * RTCP of two tracks. Random, so recorders starting together rarely collide.
 */
async function freePortBase(min: number, max: number): Promise<number> {
  const slots = Math.max(1, Math.floor((max - min + 1) / 4));
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = min + 4 * randomInt(0, slots);
    const taken = await Promise.all([0, 1, 2, 3].map((i) => portTaken(base + i)));
    if (!taken.some(Boolean)) return base;
  }
  throw new Error(`no free UDP ports for FFmpeg between ${min} and ${max}`);
}

/** Resolves true once every port is bound (by FFmpeg), false on timeout or when `abandon()`. */
async function waitForPorts(ports: number[], abandon: () => boolean): Promise<boolean> {
  const deadline = Date.now() + PORT_WAIT_MS;
  while (Date.now() < deadline) {
    if (abandon()) return false;
    const bound = boundUdpPorts();
    const taken = bound ? ports.map((p) => bound.has(p)) : await Promise.all(ports.map(portTaken));
    if (taken.every(Boolean)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Bound UDP ports from /proc (Linux), so the wait never holds a port FFmpeg is about to bind. */
function boundUdpPorts(): Set<number> | undefined {
  if (!existsSync('/proc/net/udp')) return undefined;
  const ports = new Set<number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(true));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}
