/**
 * The Stripe implementation of PaymentProvider, on the official `stripe` SDK. STRIPE_API_URL
 * points the SDK at another host (the tests' stand-in); everything else is Stripe's API as is.
 */
import Stripe from 'stripe';
import type { Config } from '../config.ts';
import { ProviderError, WebhookSignatureError, type PaymentProvider, type ProviderEvent, type ProviderSubscription, type SubscriptionCheckout } from './payment-provider.ts';

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

  async createSubscriptionCheckout(c: SubscriptionCheckout): Promise<{ id: string; url: string }> {
    const metadata = { glintSubscriptionId: c.subscriptionId, subscriberId: c.subscriberId, streamerId: c.streamerId };
    const session = await call(() =>
      this.stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          line_items: [{ quantity: 1, price_data: { currency: c.currency, unit_amount: c.priceMinor, recurring: { interval: 'month' }, product_data: { name: c.tierName } } }],
          client_reference_id: c.subscriptionId,
          metadata,
          subscription_data: { metadata },
          success_url: c.successUrl,
          cancel_url: c.cancelUrl,
        },
        // One checkout per subscription row: a retried request gets the same session.
        { idempotencyKey: `checkout-${c.subscriptionId}-${c.priceMinor}` },
      ),
    );
    if (!session.url) throw new ProviderError('Stripe returned a checkout session without a URL');
    return { id: session.id, url: session.url };
  }

  async getSubscription(id: string): Promise<ProviderSubscription> {
    return toSubscription(await call(() => this.stripe.subscriptions.retrieve(id)));
  }

  async cancelAtPeriodEnd(id: string): Promise<ProviderSubscription> {
    return toSubscription(await call(() => this.stripe.subscriptions.update(id, { cancel_at_period_end: true }, { idempotencyKey: `cancel-${id}` })));
  }
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) throw new ProviderError(`Stripe: ${err.message}`, { cause: err });
    throw err;
  }
}

function toSubscription(s: Stripe.Subscription): ProviderSubscription {
  // The period end moved from the subscription to its items in newer API versions: take either.
  const raw = s as unknown as { current_period_end?: number; items?: { data?: Array<{ current_period_end?: number }> } };
  const end = raw.current_period_end ?? raw.items?.data?.[0]?.current_period_end;
  return { id: s.id, status: s.status, cancelAtPeriodEnd: s.cancel_at_period_end, currentPeriodEnd: end ? new Date(end * 1000) : null, metadata: { ...(s.metadata ?? {}) } };
}
