/**
 * WHEP playback (draft-ietf-wish-whep): `POST /whep/:streamId` with a recvonly offer; 201 +
 * answer + Location; 409 + Retry-After while the stream is offline (accepted while it is
 * reconnecting: the viewer waits for the publisher's media); HEAD probes; and the
 * server-sent events extension (active, inactive, viewercount).
 */
import type { StreamId } from '../../protocol/ids.ts';
import type { StreamStatus } from '../../protocol/api.ts';
import type { HttpRouter, StreamSink } from '../http/http-router.ts';
import type { MediaService } from '../media/media-service.ts';
import type { StreamEvent } from '../media/stream-events.ts';
import { iceServerLinks, optionsReply, registerSessionRoutes, sdpAnswerReply, sdpBody } from '../media/session-http.ts';
import type { IceServers } from '../media/ice-servers.ts';
import type { StreamService } from '../streams/stream-service.ts';
import { AddressSlots } from '../http/address-slots.ts';
import { RateLimitError } from '../errors.ts';
import { z } from 'zod';
import { MAX_LAYERS } from '../../protocol/sfu.ts';

const SSE_EVENTS = ['active', 'inactive', 'viewercount'];

const LayersBody = z.strictObject({
  maxWidth: z.number().int().min(1).max(16384).nullable().optional(),
  layer: z.number().int().min(0).max(MAX_LAYERS - 1).nullable().optional(),
});
const KEEPALIVE_MS = 15_000;
/** How often an open event stream looks for a new viewer count from other nodes. */
const AUDIENCE_EVERY_MS = 2_000;

export interface WhepRoutesOptions {
  iceServers: IceServers;
  /** Event streams (both kinds) one client address may have open on this node. */
  maxEventStreamsPerIp: number;
  /** WebRTC viewers of a stream on every node of the cluster (this node's when alone). */
  audience: (streamId: StreamId) => number;
}

export function registerWhepRoutes(router: HttpRouter, media: MediaService, streams: StreamService, o: WhepRoutesOptions): void {
  const { iceServers } = o;
  const slots = new AddressSlots(o.maxEventStreamsPerIp);
  const slotFor = (ip: string) => {
    const release = slots.acquire(ip);
    if (!release) throw new RateLimitError('RATE_LIMITED', `Your address already has ${slots.max} event streams open; close some first.`, 10);
    return release;
  };
  router.add('OPTIONS', '/whep/:streamId', () => optionsReply('POST, HEAD, OPTIONS', iceServerLinks(iceServers.forClient())));
  router.add('HEAD', '/whep/:streamId', async (ctx) => {
    await streams.get(ctx.params.streamId!);
    return { status: 200, body: '', headers: { 'Content-Type': 'application/sdp', 'Accept-Post': 'application/sdp' } };
  });
  router.post(
    '/whep/:streamId',
    async (ctx) => {
      const { session, answer } = await media.view(ctx.params.streamId!, sdpBody(ctx), ctx.ip);
      const reply = sdpAnswerReply(session, answer, iceServerLinks(iceServers.forClient()));
      const sse = `</whep/sessions/${session.id}/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="${SSE_EVENTS.join(',')}"`;
      reply.headers!.Link = reply.headers!.Link ? `${reply.headers!.Link}, ${sse}` : sse;
      return reply;
    },
    { accepts: ['application/sdp'] },
  );
  registerSessionRoutes(router, 'whep', media);

  // Simulcast: the player says how wide it is (device pixels) and which quality the viewer chose.
  router.post('/whep/sessions/:id/layers', async (ctx) => {
    const body = ctx.json(LayersBody);
    const layers = await media.setViewerLayers(ctx.params.id!, { maxWidth: body.maxWidth ?? null, pinned: body.layer ?? null });
    return { json: { layers } };
  });

  // The SSE extension: POST the list of wanted events, then GET the stream at Location.
  router.post('/whep/sessions/:id/events', async (ctx) => {
    media.session(ctx.params.id!, 'whep');
    return { status: 201, headers: { Location: `/whep/sessions/${ctx.params.id}/events` } };
  });
  router.get('/whep/sessions/:id/events', (ctx) => {
    const session = media.session(ctx.params.id!, 'whep');
    return eventStream(media, o.audience, session.streamId, slotFor(ctx.ip), (e) => SSE_EVENTS.includes(e.type), () => !media.hasSession(session.id));
  });

  // The same events for a stream page that has no session yet (offline -> live).
  router.get('/streams/:id/events', async (ctx) => {
    const stream = await streams.get(ctx.params.id!);
    return eventStream(media, o.audience, stream.id as StreamId, slotFor(ctx.ip), () => true, () => false, stream.status);
  });
}

function eventStream(
  media: MediaService,
  audience: (streamId: StreamId) => number,
  streamId: StreamId,
  releaseSlot: () => void,
  wanted: (e: StreamEvent) => boolean,
  ended: () => boolean,
  status?: StreamStatus,
) {
  return {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    stream: (sink: StreamSink) => {
      const send = (e: StreamEvent) => {
        const { type, ...data } = e;
        sink.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      // Viewer counts are the cluster's: sent when this node's change, and when other nodes' do.
      let viewers = -1;
      const sendViewers = () => {
        const n = audience(streamId);
        if (n === viewers) return;
        viewers = n;
        send({ type: 'viewercount', viewercount: n });
      };
      if (status) send({ type: status });
      send({ type: media.isActive(streamId) ? 'active' : 'inactive' });
      sendViewers();
      const unsubscribe = media.events.subscribe(streamId, (e) => {
        if (!wanted(e)) return;
        if (e.type === 'viewercount') sendViewers();
        else send(e);
        if (ended()) sink.end();
      });
      const keepalive = setInterval(() => {
        if (ended()) return sink.end();
        sink.write(': keepalive\n\n');
      }, KEEPALIVE_MS);
      const others = setInterval(sendViewers, AUDIENCE_EVERY_MS);
      sink.onClose(() => {
        unsubscribe();
        clearInterval(keepalive);
        clearInterval(others);
        releaseSlot();
      });
    },
  };
}
