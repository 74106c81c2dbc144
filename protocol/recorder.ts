/**
 * The channel between the server and a recorder process (one per live stream): the
 * settings it is spawned with, and the messages both ways (Node IPC, JSON). The recorder
 * owns FFmpeg and the files of one recording; the server owns the database, the live
 * playlists and the sfu-workers, so the recorder asks it to point the router's RTP at it.
 */
import type { StreamId } from './ids.ts';

/** One output of the recorder: the source (video copied) or a transcoded ABR rung. */
export interface RenditionSpec {
  /** `source`, `720p`, `480p`, `240p`: file-name prefix and playlist name. */
  name: string;
  /** Output height for transcoded renditions; absent for the source. */
  height?: number;
  /** Video bitrate (bit/s) for transcoded renditions. */
  videoBitrate?: number;
}

/** What the publisher sends, as the recorder's SDP must describe it. */
export interface RecorderInput {
  video?: { codec: 'h264' | 'vp8' };
  audio?: { codec: 'opus' };
}

export interface RecorderSettings {
  recordingId: string;
  streamId: StreamId;
  /** Absolute folder of this recording's files. */
  dir: string;
  ffmpegPath: string;
  /** FFmpeg's major version (options of newer versions are used only when present). */
  ffmpegMajor: number;
  input: RecorderInput;
  renditions: RenditionSpec[];
  /** PART-TARGET, seconds. */
  partTargetSeconds: number;
  /** A segment ends at the first keyframe after this many seconds. */
  segmentSeconds: number;
  /** EXT-X-TARGETDURATION (integer seconds); a segment without keyframe is cut before it. */
  targetDurationSeconds: number;
  /** Audio bitrate of the AAC encode, bit/s. */
  audioBitrate: number;
  /** UDP ports for FFmpeg's RTP input are picked in this range (4 per start). */
  rtpPortMin: number;
  rtpPortMax: number;
  logLevel: string;
  /** Set when the recorder process itself was restarted: continue numbering and files (per rendition). */
  resume?: Record<string, RecorderResume>;
  /** The source's video height, when known (a restarted recorder starts its ABR ladder at once). */
  sourceHeight?: number;
}

export interface RecorderResume {
  /** Next media sequence number, next part file number, next epoch. */
  msn: number;
  partSeq: number;
  epoch: number;
  /** Seconds of media already recorded (the timeline continues from here). */
  timelineSeconds: number;
  /**
   * The segment the previous process was in the middle of: its announced parts, which the
   * new process joins into that segment (players saw them), so numbering stays as it was.
   */
  partial?: {
    msn: number;
    epoch: number;
    discontinuity: boolean;
    programDateTime: number;
    parts: Array<{ uri: string; duration: number; independent: boolean }>;
  };
}

export interface RecorderTrackInfo {
  kind: 'video' | 'audio';
  codec: string;
  width?: number;
  height?: number;
}

/** Recorder -> server. */
export type RecorderMessage =
  /**
   * FFmpeg (`pid`) of `job` (`main`: the source; `ladder`: ABR rungs) listens on these ports:
   * point the router's RTP here (answered with `attached`).
   */
  | { t: 'attach'; job: string; pid: number; videoPort: number; audioPort: number; videoPayloadType: number; audioPayloadType: number }
  /** A new init segment (first start, or FFmpeg restarted): later segments use it. */
  | { t: 'init'; rendition: string; epoch: number; uri: string; tracks: RecorderTrackInfo[] }
  | {
      t: 'part';
      rendition: string;
      msn: number;
      /** Index in its segment, and stream-wide number (`<rendition>-p<seq>.m4s`). */
      part: number;
      seq: number;
      duration: number;
      independent: boolean;
      uri: string;
      bytes: number;
      /** Of its segment: the playlist needs them before the segment completes. */
      epoch: number;
      discontinuity: boolean;
      programDateTime: number;
    }
  | {
      t: 'segment';
      rendition: string;
      msn: number;
      duration: number;
      uri: string;
      bytes: number;
      /** Follows a gap (FFmpeg restarted): EXT-X-DISCONTINUITY before it. */
      discontinuity: boolean;
      epoch: number;
      /** Starts with a keyframe. */
      independent: boolean;
      /** Wall-clock time of its first frame (EXT-X-PROGRAM-DATE-TIME), ms since the epoch. */
      programDateTime: number;
    }
  /** FFmpeg exited unexpectedly; the recorder starts it again after `restartInMs`. */
  | { t: 'ffmpeg-exit'; job: string; code: number | null; signal: string | null; restartInMs: number; stderr: string }
  /** Everything is on disk and the VOD playlists are closed; the process exits next. */
  | { t: 'finished'; durationSeconds: number; segments: number };

/** Server -> recorder. */
export type RecorderCommand =
  /** A spare process (started ahead, without GLINT_RECORDER_SETTINGS) takes a recording. */
  | { t: 'start'; settings: RecorderSettings }
  | { t: 'attached'; job: string; ok: true }
  | { t: 'attached'; job: string; ok: false; message: string }
  /** The stream's router or codecs changed: start FFmpeg again (with this input) and re-attach. */
  | { t: 'restart'; reason: string; input: RecorderInput }
  /** The broadcast ended: finish the last segment, close the playlists, exit. */
  | { t: 'stop' };
