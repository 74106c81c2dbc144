/**
 * LL-HLS, DVR and VOD over HTTP. While a stream is recorded, its playlists live in memory
 * (fed by the recorder's reports) and are rendered per request, with blocking reloads
 * (`_HLS_msn` / `_HLS_part`, held until that part exists) and delta updates (`_HLS_skip`).
 * Once the recording is finished, the same URLs answer from the files on disk: the closed
 * playlists (EXT-X-ENDLIST) make it a VOD.
 *
 * URLs: `/hls/<stream>/index.m3u8` (source), `/hls/<stream>/<rendition>.m3u8`,
 * `/hls/<stream>/master.m3u8`: the current (or latest) recording. `/hls/<stream>/<recording>/<file>`:
 * any file of a recording (segments, parts, init segments, its own playlists).
 * Only names matching MEDIA_FILE under UUID folders are ever read: nothing outside the media folder.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamId } from '../../protocol/ids.ts';
import { isUuid } from '../../protocol/ids.ts';
import type { RecorderTrackInfo } from '../../protocol/recorder.ts';
import { MASTER, MEDIA_FILE, partName, peakBitrate, playlistName, renderMaster, SOURCE, variantOf, type BitrateEstimate } from '../../recorder/playlists.ts';
import type { RecordingsRepo } from '../db/recordings-repo.ts';
import { AppError, BadRequestError, NotFoundError, UnavailableError } from '../errors.ts';
import type { Reply } from '../http/http-router.ts';
import type { Logger } from '../logger.ts';
import { LivePlaylist } from './live-playlist.ts';

export interface HlsOptions {
  /** `<dataDir>/media`: recordings are `<mediaDir>/<stream>/<recording>/`. */
  mediaDir: string;
  targetDurationSeconds: number;
  partTargetSeconds: number;
  dvrWindowSeconds: number;
  /** PART-HOLD-BACK of the live playlists, in parts. */
  partHoldBackParts?: number;
  /** What a rendition is encoded at (BANDWIDTH before its first segment is measured). */
  bitrates: (rendition: string) => BitrateEstimate;
  recordings: RecordingsRepo;
  log: Logger;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const MEDIA_SEQUENCE = /^\d{1,9}$/;
/** A request for a part this far ahead of the newest is answered when it exists. */
const PARTS_AHEAD = 2;

interface Rendition {
  playlist: LivePlaylist;
  tracks: RecorderTrackInfo[];
  peakBitrate: number;
}

interface Waiter {
  ready: () => boolean;
  done: (ok: boolean) => void;
}

/** One recording being made: its renditions' live playlists and the requests waiting on them. */
export class LiveRecording {
  readonly renditions = new Map<string, Rendition>();
  private readonly waiters = new Set<Waiter>();
  ended = false;

  constructor(
    readonly streamId: StreamId,
    readonly recordingId: string,
    names: string[],
    private readonly o: HlsOptions,
  ) {
    for (const name of names) {
      this.renditions.set(name, {
        playlist: new LivePlaylist({
          uriPrefix: `${recordingId}/`,
          targetDurationSeconds: o.targetDurationSeconds,
          partTargetSeconds: o.partTargetSeconds,
          dvrWindowSeconds: o.dvrWindowSeconds,
          ...(o.partHoldBackParts ? { partHoldBackParts: o.partHoldBackParts } : {}),
          partUri: (seq) => partName(name, seq),
        }),
        tracks: [],
        peakBitrate: 0,
      });
    }
  }

  init(rendition: string, epoch: number, uri: string, tracks: RecorderTrackInfo[]): void {
    const r = this.renditions.get(rendition);
    if (!r) return;
    r.tracks = tracks;
    r.playlist.init(epoch, uri);
    this.wake();
  }

  part(rendition: string, p: { msn: number; part: number; seq: number; duration: number; independent: boolean; uri: string; epoch: number; discontinuity: boolean; programDateTime: number }): void {
    this.renditions.get(rendition)?.playlist.addPart(p.msn, { part: p.part, seq: p.seq, duration: p.duration, independent: p.independent, uri: p.uri }, p);
    this.wake();
  }

  /** The segment in progress of `rendition` (its recorder died: the next one completes it). */
  partial(rendition: string): ReturnType<LivePlaylist['partial']> {
    return this.renditions.get(rendition)?.playlist.partial();
  }

  segment(rendition: string, s: { msn: number; duration: number; uri: string; bytes: number; discontinuity: boolean; epoch: number; programDateTime: number }): void {
    const r = this.renditions.get(rendition);
    if (!r) return;
    r.playlist.addSegment(s);
    r.peakBitrate = peakBitrate(r.peakBitrate, s.bytes, s.duration);
    this.wake();
  }

  /** No more media: playlists get EXT-X-ENDLIST and every waiting request is answered. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const r of this.renditions.values()) r.playlist.end();
    this.wake();
  }

  /** Resolves true when `ready()` holds (checked at every change), false after `timeoutMs`. */
  wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ready,
        done: (ok) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Answers every waiting request now (server stopping). */
  release(): void {
    for (const w of [...this.waiters]) w.done(false);
  }

  master(): string {
    const variants = [...this.renditions]
      .filter(([, r]) => r.tracks.length > 0)
      .map(([name, r]) => variantOf(name, r.tracks, r.peakBitrate, this.o.bitrates(name)));
    return renderMaster(variants);
  }

  private wake(): void {
    for (const w of [...this.waiters]) if (w.ready()) w.done(true);
  }
}

export class HlsService {
  /** The recording in progress (or just finished) per stream. */
  private readonly live = new Map<StreamId, LiveRecording>();
  /** Deleted streams: their media is gone for good, even before its files are. */
  private readonly removed = new Set<StreamId>();
  private closed = false;

  constructor(private readonly o: HlsOptions) {}

  begin(streamId: StreamId, recordingId: string, renditions: string[]): LiveRecording {
    this.live.get(streamId)?.end();
    const rec = new LiveRecording(streamId, recordingId, renditions, this.o);
    this.live.set(streamId, rec);
    return rec;
  }

  /** The recording finished and its files are final: answer from disk from now on. */
  finish(rec: LiveRecording): void {
    rec.end();
    if (this.live.get(rec.streamId) === rec) this.live.delete(rec.streamId);
  }

  /** The stream was deleted: every URL of its media answers 404 from now on (held requests too). */
  remove(streamId: StreamId): void {
    this.removed.add(streamId);
    const rec = this.live.get(streamId);
    if (rec) {
      rec.end();
      this.live.delete(streamId);
    }
  }

  /** Answers every held request (the server is stopping). */
  close(): void {
    this.closed = true;
    for (const rec of this.live.values()) rec.release();
  }

  /** This node records the stream now (its live playlists are here). */
  holdsLive(streamId: StreamId): boolean {
    const rec = this.live.get(streamId);
    return !!rec && !rec.ended;
  }

  /** A recording's files are on this node (being made here, or in its media folder). */
  holdsRecording(streamId: StreamId, recordingId: string): boolean {
    if (this.live.get(streamId)?.recordingId === recordingId) return true;
    return isUuid(recordingId) && existsSync(join(this.o.mediaDir, streamId, recordingId));
  }

  /** The stream id of an HLS URL when it can have media (a UUID of a stream not deleted). */
  acceptsStream(raw: string): StreamId | undefined {
    if (!isUuid(raw)) return undefined;
    const id = raw.toLowerCase() as StreamId;
    return this.removed.has(id) ? undefined : id;
  }

  /** `GET /hls/:streamId/:name` — the media playlists and the master playlist. */
  async playlist(streamIdParam: string, name: string, query: URLSearchParams): Promise<Reply> {
    const streamId = this.streamId(streamIdParam);
    const rendition = renditionOf(name);
    const rec = this.live.get(streamId);
    if (rec && !rec.ended) {
      if (name === MASTER) return playlistReply(rec.master(), 'no-cache');
      const r = rendition ? rec.renditions.get(rendition) : undefined;
      if (!r) throw notFound();
      return this.livePlaylist(rec, r.playlist, query);
    }
    // Not recording now: the latest recording, from disk (a VOD once it is closed).
    const latest = await this.o.recordings.latest(streamId);
    if (!latest || (name !== MASTER && !rendition)) throw notFound();
    const text = await this.readText(streamId, latest.id, name);
    if (name === MASTER) return playlistReply(text, 'no-cache');
    return playlistReply(prefixUris(text, `${latest.id}/`), text.includes('#EXT-X-ENDLIST') ? 'public, max-age=30' : 'no-cache');
  }

  /** `GET /hls/:streamId/:recordingId/:file` — a file of a recording. */
  async media(streamIdParam: string, recordingId: string, file: string): Promise<Reply> {
    const streamId = this.streamId(streamIdParam);
    if (!isUuid(recordingId) || !MEDIA_FILE.test(file)) throw notFound();
    if (file.endsWith('.m3u8')) {
      const text = await this.readText(streamId, recordingId, file);
      const closed = text.includes('#EXT-X-ENDLIST') || file === MASTER;
      return playlistReply(text, closed ? 'public, max-age=30' : 'no-cache');
    }
    const rec = this.live.get(streamId);
    if (rec && rec.recordingId === recordingId && !rec.ended) await this.awaitAnnounced(rec, file);
    let body: Buffer;
    try {
      body = await readFile(join(this.o.mediaDir, streamId, recordingId, file));
    } catch {
      throw notFound();
    }
    return { status: 200, body, headers: { 'Content-Type': 'video/mp4', 'Cache-Control': IMMUTABLE } };
  }

  private async livePlaylist(rec: LiveRecording, playlist: LivePlaylist, query: URLSearchParams): Promise<Reply> {
    for (const key of query.keys()) {
      if (key.startsWith('_HLS_') && !['_HLS_msn', '_HLS_part', '_HLS_skip'].includes(key)) {
        throw new BadRequestError('INVALID_QUERY', `Unknown delivery directive ${key.slice(0, 40)}.`);
      }
    }
    const msnRaw = query.get('_HLS_msn');
    const partRaw = query.get('_HLS_part');
    const skipRaw = query.get('_HLS_skip');
    if (partRaw !== null && msnRaw === null) throw new BadRequestError('INVALID_QUERY', '_HLS_part needs _HLS_msn.');
    if (msnRaw !== null && !MEDIA_SEQUENCE.test(msnRaw)) throw new BadRequestError('INVALID_QUERY', '_HLS_msn must be a media sequence number.');
    if (partRaw !== null && !MEDIA_SEQUENCE.test(partRaw)) throw new BadRequestError('INVALID_QUERY', '_HLS_part must be a part index.');
    if (skipRaw !== null && skipRaw !== 'YES' && skipRaw !== 'v2') throw new BadRequestError('INVALID_QUERY', '_HLS_skip must be YES or v2.');
    const skip = skipRaw !== null;
    if (msnRaw === null) return playlistReply(playlist.render(skip), 'no-cache');

    const msn = Number(msnRaw);
    const part = partRaw === null ? undefined : Number(partRaw);
    const last = playlist.lastCompleteMsn;
    if (msn > last + 2) {
      throw new BadRequestError('INVALID_QUERY', `_HLS_msn ${msn} is more than two segments beyond the newest (${last}).`);
    }
    if (part !== undefined && part > Math.ceil(this.o.targetDurationSeconds / this.o.partTargetSeconds) * 2) {
      throw new BadRequestError('INVALID_QUERY', `_HLS_part ${part} is beyond the parts a segment can have.`);
    }
    const ok = await rec.wait(() => this.closed || this.removed.has(rec.streamId) || playlist.has(msn, part), this.o.targetDurationSeconds * 3_000);
    if (this.removed.has(rec.streamId)) throw notFound();
    if (!ok || this.closed) {
      throw new UnavailableError('SERVICE_UNAVAILABLE', 'The requested part did not appear in time; reload the playlist.', { headers: { 'Retry-After': '1' } });
    }
    return playlistReply(playlist.render(skip), 'no-cache');
  }

  /**
   * A media file of the recording in progress is served once the recorder announced it
   * (never half-written). The next parts (the preload hint) are held until they exist.
   */
  private async awaitAnnounced(rec: LiveRecording, file: string): Promise<void> {
    const m = /^([a-z0-9]+)-p(\d+)\.m4s$/.exec(file);
    if (!m) return; // segments and init segments are written before they are announced
    const r = rec.renditions.get(m[1]!);
    if (!r) throw notFound();
    const seq = Number(m[2]);
    if (seq <= r.playlist.partSeq) return;
    if (seq > r.playlist.partSeq + PARTS_AHEAD) throw notFound();
    const ok = await rec.wait(() => this.closed || rec.ended || seq <= r.playlist.partSeq, this.o.targetDurationSeconds * 3_000);
    if (!ok || this.closed || this.removed.has(rec.streamId) || seq > r.playlist.partSeq) throw notFound();
  }

  private async readText(streamId: StreamId, recordingId: string, name: string): Promise<string> {
    try {
      return await readFile(join(this.o.mediaDir, streamId, recordingId, name), 'utf8');
    } catch {
      throw notFound();
    }
  }

  private streamId(raw: string): StreamId {
    const id = this.acceptsStream(raw);
    if (!id) throw notFound();
    return id;
  }
}

function notFound(): AppError {
  return new NotFoundError('MEDIA_NOT_FOUND', 'No HLS media at this URL: the stream has no recording, or it was removed.');
}

/** `index.m3u8` -> source, `720p.m3u8` -> 720p; undefined for anything else. */
function renditionOf(name: string): string | undefined {
  if (name === 'index.m3u8') return SOURCE;
  const m = /^([a-z0-9]{1,16})\.m3u8$/.exec(name);
  return m && m[1] !== 'master' && m[1] !== SOURCE && m[1] !== 'index' ? m[1] : undefined;
}

function playlistReply(text: string, cacheControl: string): Reply {
  return { status: 200, body: text, headers: { 'Content-Type': PLAYLIST_TYPE, 'Cache-Control': cacheControl } };
}

/** Points a recording's playlist (URIs relative to its folder) at `<recording>/...`. */
function prefixUris(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line === '' ) return line;
      if (!line.startsWith('#')) return prefix + line;
      return line.replace(/URI="([^"]+)"/g, (_m, uri: string) => `URI="${prefix}${uri}"`);
    })
    .join('\n');
}
