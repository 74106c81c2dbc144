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

export interface PaymentProvider {
  /** Checks the signature (and its age) of a webhook body; throws WebhookSignatureError. */
  verifyWebhook(body: Buffer, signature: string | undefined): Promise<ProviderEvent>;
}
