/**
 * What Glint needs from a payment provider. Only the payments module talks to one, and only
 * through this interface (`StripePayments` is the implementation; tests point it at a local
 * stand-in of Stripe's API with STRIPE_API_URL, it does not know).
 */

/** A webhook event the provider signed: what happened to which object, and when. */
export interface ProviderEvent {
  /** The provider's event id: the key each event is applied once by. */
  id: string;
  type: string;
  /** When the provider created it. */
  created: Date;
  /** The object the event is about, as the provider sent it. */
  object: Record<string, unknown>;
  /** The whole event, as received (kept in the inbox). */
  raw: Record<string, unknown>;
}

export class WebhookSignatureError extends Error {
  override name = 'WebhookSignatureError';
}

/** The provider's subscription as it is now (its own state, not an event's old copy). */
export interface ProviderSubscription {
  id: string;
  /** The provider's status word (Stripe: active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused). */
  status: string;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  metadata: Record<string, string>;
}

export interface SubscriptionCheckout {
  /** Our subscription row, carried in the provider's metadata so webhooks find it. */
  subscriptionId: string;
  subscriberId: string;
  streamerId: string;
  tierName: string;
  priceMinor: number;
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

/** The provider could not be reached or refused a request (a 502 to our caller). */
export class ProviderError extends Error {
  override name = 'ProviderError';
}

export interface PaymentProvider {
  /** Checks the signature (and its age) of a webhook body; throws WebhookSignatureError. */
  verifyWebhook(body: Buffer, signature: string | undefined): Promise<ProviderEvent>;
  /** A hosted checkout page for a monthly subscription; where to send the viewer. */
  createSubscriptionCheckout(c: SubscriptionCheckout): Promise<{ id: string; url: string }>;
  getSubscription(id: string): Promise<ProviderSubscription>;
  /** Ends the subscription when its paid period does (the viewer keeps access until then). */
  cancelAtPeriodEnd(id: string): Promise<ProviderSubscription>;
}
