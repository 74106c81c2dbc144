import { LoginBody, LogoutBody, RefreshBody, RegisterBody, UpdateMeBody } from '../../protocol/api.ts';
import { isUuid, type UserId } from '../../protocol/ids.ts';
import { NotFoundError } from '../errors.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { HttpRouter } from './http-router.ts';

export function registerAuthRoutes(router: HttpRouter, auth: AuthService, streams: StreamService): void {
  router.post('/auth/register', async (ctx) => ({ status: 201, json: await auth.register(ctx.json(RegisterBody), ctx.ip) }));
  router.post('/auth/login', async (ctx) => ({ json: await auth.login(ctx.json(LoginBody), ctx.ip) }));
  router.post('/auth/refresh', async (ctx) => ({ json: await auth.refresh(ctx.json(RefreshBody).refreshToken) }));
  router.post('/auth/logout', async (ctx) => {
    await auth.logout(ctx.json(LogoutBody).refreshToken);
    return { status: 204 };
  });

  router.get('/users/me', async (ctx) => {
    const { userId } = await auth.authenticate(ctx.headers.authorization);
    return { json: { user: await auth.me(userId) } };
  });
  router.patch('/users/me', async (ctx) => {
    const { userId } = await auth.authenticate(ctx.headers.authorization);
    return { json: { user: await auth.updateMe(userId, ctx.json(UpdateMeBody)) } };
  });
  router.get('/users/me/streams', async (ctx) => {
    const { userId } = await auth.authenticate(ctx.headers.authorization);
    return { json: { items: await streams.listMine(userId, ctx.origin) } };
  });
  router.get('/users/:id/profile', async (ctx) => {
    const id = ctx.params.id!;
    if (!isUuid(id)) throw new NotFoundError('USER_NOT_FOUND', 'No user has this id.');
    return { json: { profile: await auth.profile(id as UserId) } };
  });
}
