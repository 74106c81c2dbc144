import { CreateStreamBody, PageQuery, UpdateStreamBody } from '../../protocol/api.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { StreamControl } from '../media/stream-control.ts';
import type { StreamId } from '../../protocol/ids.ts';
import type { HttpRouter } from './http-router.ts';

export function registerStreamRoutes(router: HttpRouter, auth: AuthService, streams: StreamService, control: StreamControl): void {
  const caller = async (authorization: string | undefined) => (await auth.authenticate(authorization)).userId;

  router.post('/streams', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    return { status: 201, json: await streams.create(userId, ctx.json(CreateStreamBody), ctx.origin) };
  });
  router.get('/streams/live', async (ctx) => {
    const { limit, cursor } = ctx.queryAs(PageQuery);
    return { json: await streams.listLive(limit, cursor, ctx.origin) };
  });
  router.get('/streams/:id', async (ctx) => ({ json: { stream: streams.view(await streams.get(ctx.params.id!), ctx.origin) } }));
  router.patch('/streams/:id', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    return { json: { stream: await streams.update(ctx.params.id!, userId, ctx.json(UpdateStreamBody), ctx.origin) } };
  });
  router.delete('/streams/:id', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    const stream = await streams.getOwned(ctx.params.id!, userId);
    // The broadcast ends and its recordings become unreachable at once, on every node; their
    // files are removed in the background.
    await control.end(stream.id as StreamId, 'deleted');
    await streams.delete(ctx.params.id!, userId);
    return { status: 204 };
  });
  router.get('/streams/:id/key', async (ctx) => ({
    json: await streams.revealKey(ctx.params.id!, await caller(ctx.headers.authorization), ctx.origin),
    headers: { 'Cache-Control': 'no-store' },
  }));
  router.post('/streams/:id/key/rotate', async (ctx) => {
    const rotated = await streams.rotateKey(ctx.params.id!, await caller(ctx.headers.authorization), ctx.origin);
    // The old key stops working at once: an encoder publishing with it is ended too.
    await control.end(ctx.params.id! as StreamId, 'key-rotated');
    return { json: rotated, headers: { 'Cache-Control': 'no-store' } };
  });
  router.post('/streams/:id/start', async (ctx) => {
    const stream = await streams.getOwned(ctx.params.id!, await caller(ctx.headers.authorization));
    await control.startByHand(stream.id as StreamId);
    return { json: { stream: streams.view(await streams.get(stream.id), ctx.origin) } };
  });
  router.post('/streams/:id/stop', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    const stream = await streams.getOwned(ctx.params.id!, userId);
    // Stop ends the broadcast itself, not only the status: the encoder's session closes, and
    // the stream's owner marks it offline (once).
    await control.end(stream.id as StreamId, 'stopped');
    return { json: { stream: streams.view(await streams.get(stream.id), ctx.origin) } };
  });
}
