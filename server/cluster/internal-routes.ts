/**
 * Routes between the nodes of a cluster, under `/internal/`. Every one is signed with the
 * cluster secret and comes from a live node of the directory (cluster-auth.ts); nothing a
 * user holds (access token, stream key) opens them. Keep NODE_URL on a private network.
 */
import { z } from 'zod';
import type { PipeAnswer } from '../../protocol/cluster.ts';
import type { HlsService } from '../hls/hls-service.ts';
import type { HttpRouter } from '../http/http-router.ts';
import type { MediaService } from '../media/media-service.ts';
import type { Cluster } from './cluster.ts';

const PipeRequestSchema = z.strictObject({ offer: z.string().min(1).max(64 * 1024) });

export function registerInternalRoutes(router: HttpRouter, d: { cluster: Cluster; media: MediaService; hls: HlsService }): void {
  // An edge node's offer for a pipe of a stream published here: the answer of the origin end.
  router.post('/internal/streams/:id/pipes', async (ctx) => {
    const node = await d.cluster.auth.verify(ctx);
    const { offer } = ctx.json(PipeRequestSchema);
    const { session, answer } = await d.media.openPipe(ctx.params.id!, offer, node);
    const body: PipeAnswer = { pipeId: session.id, answer };
    return { status: 201, json: body };
  });

  // The edge no longer needs it (its last viewer left, or it is stopping).
  router.delete('/internal/streams/:id/pipes/:pipeId', async (ctx) => {
    const node = await d.cluster.auth.verify(ctx);
    await d.media.closePipe(ctx.params.pipeId!, node);
    return { status: 204 };
  });

  // The stream's encoder, lost here, came back through the calling node: the stream moves there.
  router.post('/internal/streams/:id/hand-over', async (ctx) => {
    await d.cluster.auth.verify(ctx);
    await d.media.handOver(ctx.params.id!);
    return { status: 204 };
  });

  // HLS of recordings made here, for a node whose viewer asked it (see hls/hls-relay.ts):
  // answered from this node's files and live playlists, never passed on again.
  router.get('/internal/hls/:streamId/:name', async (ctx) => {
    await d.cluster.auth.verify(ctx);
    return d.hls.playlist(ctx.params.streamId!, ctx.params.name!, ctx.query);
  });
  router.get('/internal/hls/:streamId/:recordingId/:file', async (ctx) => {
    await d.cluster.auth.verify(ctx);
    return d.hls.media(ctx.params.streamId!, ctx.params.recordingId!, ctx.params.file!);
  });
}
