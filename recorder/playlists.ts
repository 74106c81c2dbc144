/**
 * Names and playlists of a recording folder. Every file of a recording sits in one folder,
 * named by rendition: `<r>-init-<epoch>.mp4`, `<r>-s<msn>.m4s` (segments), `<r>-p<n>.m4s`
 * (LL-HLS parts, removed once old), `index.m3u8` / `<r>.m3u8` (the rendition's playlist:
 * an EVENT playlist while recording, VOD once closed) and `master.m3u8`.
 * The server serves exactly these names (MEDIA_FILE) and nothing else.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { RecorderTrackInfo } from '../protocol/recorder.ts';

export const SOURCE = 'source';

/** Every file name a recording folder may hold and the server may serve. */
export const MEDIA_FILE = /^(?:[a-z0-9]{1,16}-(?:init-\d{1,6}\.mp4|s\d{1,9}\.m4s|p\d{1,10}\.m4s)|[a-z0-9]{1,16}\.m3u8)$/;

export const initName = (rendition: string, epoch: number) => `${rendition}-init-${epoch}.mp4`;
export const segmentName = (rendition: string, msn: number) => `${rendition}-s${msn}.m4s`;
export const partName = (rendition: string, seq: number) => `${rendition}-p${seq}.m4s`;
/** The source rendition's playlist is `index.m3u8`; others are `<name>.m3u8`. */
export const playlistName = (rendition: string) => (rendition === SOURCE ? 'index.m3u8' : `${rendition}.m3u8`);
export const MASTER = 'master.m3u8';

/** Seconds with at most 5 decimals, no trailing zeros. */
export function num(seconds: number): string {
  return String(Math.round(seconds * 100000) / 100000);
}

export interface Variant {
  uri: string;
  /** Peak bit/s. */
  bandwidth: number;
  codecs: string[];
  width?: number;
  height?: number;
}

/** What a rendition is encoded at: `videoBitrate` is absent for the copied source. */
export interface BitrateEstimate {
  videoBitrate?: number | undefined;
  audioBitrate: number;
}

/** Video bit/s assumed for the copied source until its first segment is measured. */
const SOURCE_VIDEO_ESTIMATE = 2_500_000;

/** A rendition's peak bit/s after one more segment (short segments say little). */
export function peakBitrate(peak: number, bytes: number, durationSeconds: number): number {
  return durationSeconds > 0.2 ? Math.max(peak, (bytes * 8) / durationSeconds) : peak;
}

/**
 * A rendition in the master playlist: BANDWIDTH is its measured peak, else what it is
 * encoded at (`videoBitrate`; the source: a typical publisher's) plus the audio.
 */
export function variantOf(rendition: string, tracks: RecorderTrackInfo[], peak: number, estimate: BitrateEstimate): Variant {
  const video = tracks.find((t) => t.kind === 'video');
  return {
    uri: playlistName(rendition),
    bandwidth: peak > 0 ? peak : (estimate.videoBitrate ?? SOURCE_VIDEO_ESTIMATE) + estimate.audioBitrate,
    codecs: tracks.map((t) => t.codec),
    ...(video?.width && video.height ? { width: video.width, height: video.height } : {}),
  };
}

export function renderMaster(variants: Variant[]): string {
  const out = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${Math.max(1, Math.round(v.bandwidth))}`];
    if (v.codecs.length > 0) attrs.push(`CODECS="${v.codecs.join(',')}"`);
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    out.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  out.push('');
  return out.join('\n');
}

export interface VodSegment {
  uri: string;
  duration: number;
  discontinuity: boolean;
  initUri: string;
  programDateTime: number;
}

/**
 * The playlist of one rendition on disk: appended to as segments complete (an EVENT
 * playlist, playable as DVR from its start), closed as a VOD with EXT-X-ENDLIST.
 */
export class VodPlaylist {
  private lastInit: string | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    targetDurationSeconds: number,
  ) {
    if (existsSync(path)) {
      // The recorder restarted: continue the file (the next segment is a discontinuity).
      const text = readFileSync(path, 'utf8').replace(/#EXT-X-ENDLIST\n?$/, '');
      writeFileSync(path, text);
      this.lastInit = [...text.matchAll(/^#EXT-X-MAP:URI="([^"]+)"/gm)].at(-1)?.[1];
    } else {
      writeFileSync(path, ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${targetDurationSeconds}`, '#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-MEDIA-SEQUENCE:0', ''].join('\n'));
    }
  }

  add(s: VodSegment): void {
    if (this.closed) return;
    const lines: string[] = [];
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.initUri !== this.lastInit) {
      lines.push(`#EXT-X-MAP:URI="${s.initUri}"`);
      this.lastInit = s.initUri;
    }
    if (s.discontinuity || lines.length > 0) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
    lines.push(`#EXTINF:${num(s.duration)},`, s.uri, '');
    appendFileSync(this.path, lines.join('\n'));
  }

  /** Ends the playlist: PLAYLIST-TYPE VOD and EXT-X-ENDLIST (written atomically). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeAbandonedPlaylist(this.path);
  }
}

/**
 * Ends an EVENT playlist as a VOD (atomically): a finished recording's, or one a recorder
 * left open when it did not finish (server crash). False when already closed or absent.
 */
export function closeAbandonedPlaylist(path: string): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  if (text.includes('#EXT-X-ENDLIST')) return false;
  writeFileSync(`${path}.tmp`, `${text.replace('#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-PLAYLIST-TYPE:VOD')}#EXT-X-ENDLIST\n`);
  renameSync(`${path}.tmp`, path);
  return true;
}
