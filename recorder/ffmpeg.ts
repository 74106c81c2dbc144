/**
 * FFmpeg for the recorder: finding the binary, describing the router's RTP in an SDP file,
 * and the command line that turns it into fragmented MP4 on pipes (one per rendition).
 * The video of the source rendition is copied (H.264) or encoded once (VP8 publishers);
 * audio becomes AAC. Works with FFmpeg 4.1 and later (5.x options only when present).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { RecorderInput, RenditionSpec } from '../protocol/recorder.ts';

export const VIDEO_PAYLOAD_TYPE = 96;
export const AUDIO_PAYLOAD_TYPE = 111;
/** FFmpeg's fragments: a few tens of milliseconds each; Glint groups them into parts. */
const FRAGMENT_MICROSECONDS = 20_000;

export interface FfmpegBinary {
  path: string;
  /** Major version (4, 5, 6, 7; 0 when unknown, e.g. a git build). */
  major: number;
  /** Where it came from, for the log. */
  source: 'FFMPEG_PATH' | 'PATH' | '@ffmpeg-installer/ffmpeg';
}

export function ffmpegMajorVersion(path: string): number {
  const out = execFileSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /ffmpeg version n?(\d+)\./.exec(out);
  return m ? Number(m[1]) : 0;
}

/**
 * `configured` (FFMPEG_PATH), else `ffmpeg` on PATH, else the binary of the optional
 * `@ffmpeg-installer/ffmpeg` package. Undefined when none runs.
 */
export function findFfmpeg(configured: string): FfmpegBinary | undefined {
  if (!found.has(configured)) found.set(configured, search(configured));
  return found.get(configured);
}

/** Per configured path: looking costs a process start, and servers in tests start often. */
const found = new Map<string, FfmpegBinary | undefined>();

function search(configured: string): FfmpegBinary | undefined {
  const candidates: Array<{ path: string; source: FfmpegBinary['source'] }> = [];
  if (configured) candidates.push({ path: configured, source: 'FFMPEG_PATH' });
  else {
    // A bare name is looked up on PATH when run.
    candidates.push({ path: 'ffmpeg', source: 'PATH' });
    try {
      const req = createRequire(import.meta.url);
      const installer = req('@ffmpeg-installer/ffmpeg') as { path: string };
      candidates.push({ path: installer.path, source: '@ffmpeg-installer/ffmpeg' });
    } catch {
      // The optional package is not installed.
    }
  }
  for (const c of candidates) {
    try {
      return { ...c, major: ffmpegMajorVersion(c.path) };
    } catch {
      // Not a working ffmpeg; try the next.
    }
  }
  return undefined;
}

/** The SDP FFmpeg reads: the router's RTP arriving on loopback (RTCP ports are port + 1). */
export function buildSdp(input: RecorderInput, videoPort: number, audioPort: number): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=Glint recorder', 'c=IN IP4 127.0.0.1', 't=0 0'];
  if (input.video) {
    lines.push(`m=video ${videoPort} RTP/AVP ${VIDEO_PAYLOAD_TYPE}`);
    if (input.video.codec === 'h264') {
      lines.push(`a=rtpmap:${VIDEO_PAYLOAD_TYPE} H264/90000`, `a=fmtp:${VIDEO_PAYLOAD_TYPE} packetization-mode=1`);
    } else {
      lines.push(`a=rtpmap:${VIDEO_PAYLOAD_TYPE} VP8/90000`);
    }
    lines.push('a=recvonly');
  }
  if (input.audio) {
    lines.push(`m=audio ${audioPort} RTP/AVP ${AUDIO_PAYLOAD_TYPE}`, `a=rtpmap:${AUDIO_PAYLOAD_TYPE} opus/48000/2`, 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface FfmpegArgsOptions {
  sdpPath: string;
  input: RecorderInput;
  renditions: RenditionSpec[];
  /** Keyframe spacing of the video Glint encodes itself (VP8 sources, ABR rungs). */
  segmentSeconds: number;
  audioBitrate: number;
  major: number;
}

/**
 * The command line. Rendition i is written as fragmented MP4 to pipe `i === 0 ? 1 : i + 2`
 * (stdout, then fds 3, 4, ...).
 */
export function buildFfmpegArgs(o: FfmpegArgsOptions): string[] {
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'warning',
    '-protocol_whitelist', 'file,udp,rtp',
    // Start as soon as the codecs are known (a keyframe for H.264), without waiting for a
    // frame-rate estimate over 20 frames.
    '-fpsprobesize', '0', '-analyzeduration', '3000000', '-probesize', '5000000',
    '-i', o.sdpPath,
  ];
  // Keyframes at segment boundaries for video we encode: where the source has them when
  // FFmpeg can tell (5.0+), else on a fixed beat.
  const forceKeyframes = (fromSource: boolean) =>
    fromSource && o.major >= 5 ? 'source' : `expr:gte(t,n_forced*${o.segmentSeconds})`;
  o.renditions.forEach((r, i) => {
    const transcode = r.height !== undefined;
    if (o.input.video) args.push('-map', '0:v:0');
    if (o.input.audio) args.push('-map', '0:a:0');
    if (o.input.video) {
      if (!transcode && o.input.video.codec === 'h264') {
        args.push('-c:v', 'copy');
      } else {
        const bitrate = r.videoBitrate ?? 2_500_000;
        args.push(
          // Main 4.1 plays everywhere (x264 would derive the level from the 90 kHz clock otherwise).
          '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-bf', '0', '-profile:v', 'main', '-level:v', '4.1',
          '-b:v', String(bitrate), '-maxrate', String(bitrate), '-bufsize', String(bitrate * 2),
          '-force_key_frames', forceKeyframes(o.input.video.codec === 'h264'), '-sc_threshold', '0',
          // Frames as they come: RTP has no frame rate, and a constant-rate output would be
          // filled with duplicates at the 90 kHz clock.
          ...(o.major >= 6 ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
        );
        // Never upscale: a rung above the source keeps the source's size.
        if (transcode) args.push('-vf', `scale=-2:'min(${r.height},ih)'`);
      }
    }
    if (o.input.audio) args.push('-c:a', 'aac', '-b:a', String(o.audioBitrate), '-ac', '2', '-ar', '48000');
    args.push(
      '-f', 'mp4',
      '-movflags', '+empty_moov+default_base_moof+frag_keyframe',
      '-frag_duration', String(FRAGMENT_MICROSECONDS),
      '-flush_packets', '1',
      // Never hold one track back for long waiting for the other to interleave.
      '-max_interleave_delta', '500000',
      i === 0 ? 'pipe:1' : `pipe:${i + 2}`,
    );
  });
  return args;
}
