/**
 * HTTP routes of LL-HLS, DVR and VOD: the playlists and media files of recordings, the
 * list of a stream's VODs, and which playback the Watch page should start with.
 */
import type { PlaybackView, VodView } from '../../protocol/api.ts';
import type { StreamId } from '../../protocol/ids.ts';
import type { HttpRouter } from '../http/http-router.ts';
import type { MediaService } from '../media/media-service.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { HlsRelay } from './hls-relay.ts';

export interface HlsRoutesDeps {
  /** Answers from this node, or from the node that holds the recording. */
  hls: HlsRelay;
  recording: RecordingService;
  media: MediaService;
  streams: StreamService;
  /** HLS becomes the preferred playback above this many WebRTC viewers; 0 = never. */
  preferAboveViewers: number;
}

export function registerHlsRoutes(router: HttpRouter, d: HlsRoutesDeps): void {
  router.get('/hls/:streamId/:name', (ctx) => d.hls.playlist(ctx.params.streamId!, ctx.params.name!, ctx.query));
  router.get('/hls/:streamId/:recordingId/:file', (ctx) => d.hls.media(ctx.params.streamId!, ctx.params.recordingId!, ctx.params.file!));

  router.get('/streams/:id/vods', async (ctx) => {
    const stream = await d.streams.get(ctx.params.id!);
    const items: VodView[] = await d.recording.listVods(stream.id as StreamId);
    return { json: { items }, headers: { 'Cache-Control': 'no-cache' } };
  });

  router.get('/streams/:id/playback', async (ctx) => {
    const stream = await d.streams.get(ctx.params.id!);
    const id = stream.id as StreamId;
    const viewers = d.media.viewerCount(id);
    const hlsUrl = await d.media.hlsUrl(id);
    const view: PlaybackView = {
      preferred: hlsUrl && d.preferAboveViewers > 0 && viewers >= d.preferAboveViewers ? 'hls' : 'webrtc',
      webrtcViewers: viewers,
      webrtc: d.media.canTakeViewer() ? 'available' : 'full',
      hls: hlsUrl ? { url: hlsUrl } : null,
    };
    return { json: view, headers: { 'Cache-Control': 'no-store' } };
  });
}
