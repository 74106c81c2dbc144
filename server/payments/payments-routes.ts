/**
 * The payments module's routes. `POST /payments/webhook` takes the provider's events (the
 * raw body is what the signature covers); `GET /payments/config` tells the web client
 * whether paid features are on; the rest are channel subscriptions.
 */
import { z } from 'zod';
import { isUuid, type UserId } from '../../protocol/ids.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { NotFoundError } from '../errors.ts';
import type { HttpRouter } from '../http/http-router.ts';
import type { PaymentsService } from './payments-service.ts';
import type { SubscriptionsService } from './subscriptions-service.ts';

const CreateTierBody = z.strictObject({
  name: z.string().trim().min(1).max(60),
  /** Monthly price in minor units (cents): an integer, never a float. */
  priceMinor: z.number().int().min(50).max(1_000_000),
});
const SubscribeBody = z.strictObject({ tierId: z.uuid() });

export function registerPaymentsRoutes(router: HttpRouter, deps: { payments: PaymentsService; subscriptions: SubscriptionsService; auth: AuthService }): void {
  const { payments, subscriptions, auth } = deps;
  const caller = async (authorization: string | undefined) => (await auth.authenticate(authorization)).userId;
  const channel = (id: string | undefined): UserId => {
    if (!id || !isUuid(id)) throw new NotFoundError('USER_NOT_FOUND', 'No user has this id.');
    return id as UserId;
  };

  router.get('/payments/config', () => ({ json: payments.publicConfig(), headers: { 'Cache-Control': 'no-store' } }));
  router.post(
    '/payments/webhook',
    async (ctx) => {
      const result = await payments.receiveWebhook(ctx.body, ctx.headers['stripe-signature']);
      return { json: { received: true, ...result } };
    },
    { accepts: ['application/json'] },
  );

  router.post('/me/tiers', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    const body = ctx.json(CreateTierBody);
    return { status: 201, json: { tier: await subscriptions.createTier(userId, body.name, body.priceMinor) } };
  });
  router.get('/channels/:userId/tiers', async (ctx) => ({ json: { tiers: await subscriptions.tiers(channel(ctx.params.userId)) } }));
  router.post('/channels/:userId/subscribe', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    const streamerId = channel(ctx.params.userId);
    const { tierId } = ctx.json(SubscribeBody);
    return { status: 201, json: await subscriptions.subscribe(userId, streamerId, tierId), headers: { 'Cache-Control': 'no-store' } };
  });
  router.get('/me/subscriptions', async (ctx) => ({
    json: { subscriptions: await subscriptions.mine(await caller(ctx.headers.authorization)) },
    headers: { 'Cache-Control': 'no-store' },
  }));
  router.post('/me/subscriptions/:id/cancel', async (ctx) => {
    const userId = await caller(ctx.headers.authorization);
    const id = ctx.params.id!;
    if (!isUuid(id)) throw new NotFoundError('SUBSCRIPTION_NOT_FOUND', 'You have no subscription with this id.');
    return { json: { subscription: await subscriptions.cancel(userId, id) } };
  });
}
