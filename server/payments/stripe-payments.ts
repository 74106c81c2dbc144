/**
 * The Stripe implementation of PaymentProvider, on the official `stripe` SDK. STRIPE_API_URL
 * points the SDK at another host (the tests' stand-in); everything else is Stripe's API as is.
 */
import Stripe from 'stripe';
import type { Config } from '../config.ts';
import { WebhookSignatureError, type PaymentProvider, type ProviderEvent } from './payment-provider.ts';

export class StripePayments implements PaymentProvider {
  readonly stripe: Stripe;

  constructor(private readonly o: Readonly<Config['payments']>) {
    const api = o.stripeApiUrl ? new URL(o.stripeApiUrl) : null;
    this.stripe = new Stripe(o.stripeSecretKey, {
      maxNetworkRetries: 2,
      timeout: 15_000,
      ...(api ? { host: api.hostname, port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)), protocol: api.protocol === 'https:' ? 'https' : 'http' } : {}),
    });
  }

  async verifyWebhook(body: Buffer, signature: string | undefined): Promise<ProviderEvent> {
    if (!signature) throw new WebhookSignatureError('the request has no Stripe-Signature header');
    let event: Stripe.Event;
    try {
      event = await this.stripe.webhooks.constructEventAsync(body, signature, this.o.stripeWebhookSecret, this.o.webhookToleranceSeconds);
    } catch (err) {
      // The SDK says which: no valid signature for this body, or a timestamp outside the tolerance.
      throw new WebhookSignatureError((err as Error).message);
    }
    return {
      id: event.id,
      type: event.type,
      created: new Date(event.created * 1000),
      object: event.data.object as unknown as Record<string, unknown>,
      raw: event as unknown as Record<string, unknown>,
    };
  }
}
