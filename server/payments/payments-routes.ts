/**
 * The payments module's routes. `POST /payments/webhook` takes the provider's events (the
 * raw body is what the signature covers); `GET /payments/config` tells the web client
 * whether paid features are on.
 */
import type { HttpRouter } from '../http/http-router.ts';
import type { PaymentsService } from './payments-service.ts';

export function registerPaymentsRoutes(router: HttpRouter, deps: { payments: PaymentsService }): void {
  const { payments } = deps;
  router.get('/payments/config', () => ({ json: payments.publicConfig(), headers: { 'Cache-Control': 'no-store' } }));
  router.post(
    '/payments/webhook',
    async (ctx) => {
      const result = await payments.receiveWebhook(ctx.body, ctx.headers['stripe-signature']);
      return { json: { received: true, ...result } };
    },
    { accepts: ['application/json'] },
  );
}
