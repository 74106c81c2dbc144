/**
 * The payments module's core: whether paid features are on, and the webhook inbox. Money
 * moves only on the provider's signed word (a webhook), never on the browser's: each event
 * is verified, kept, then applied once by its id inside one transaction with its effects.
 * Features (subscriptions, gifts, the ledger) register a handler per event type; a type
 * nothing handles is kept and marked applied (ignored), so a redelivery is not reapplied
 * should a handler for it arrive later.
 */
import type { Db } from '../db/index.ts';
import { BadRequestError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { PaymentEventsRepo, type PaymentEventRow } from './payment-events-repo.ts';
import { WebhookSignatureError, type PaymentProvider, type ProviderEvent } from './payment-provider.ts';

/** Applies one event's effects with `tx` (the transaction that marks it applied). */
export type PaymentEventHandler = (event: ProviderEvent, tx: Db) => Promise<void>;

export interface WebhookResult {
  /** Applied before (a redelivery or replay): nothing was done. */
  duplicate: boolean;
  /** No handler takes this type. */
  ignored: boolean;
}

export interface PaymentsOptions {
  /** null: no key configured, paid features answer 503. */
  provider: PaymentProvider | null;
  events: PaymentEventsRepo;
  currency: string;
  platformFeePercent: number;
  log: Logger;
}

export class PaymentsService {
  private readonly handlers = new Map<string, PaymentEventHandler>();

  constructor(private readonly o: PaymentsOptions) {}

  get enabled(): boolean {
    return this.o.provider !== null;
  }

  /** What the web client needs to show or hide paid features. */
  publicConfig(): { enabled: boolean; currency: string; platformFeePercent: number } {
    return { enabled: this.enabled, currency: this.o.currency, platformFeePercent: this.o.platformFeePercent };
  }

  /** The provider, or 503 PAYMENTS_NOT_CONFIGURED. */
  provider(): PaymentProvider {
    if (!this.o.provider) throw new UnavailableError('PAYMENTS_NOT_CONFIGURED', 'Payments are not configured on this server (no STRIPE_SECRET_KEY); paid features are off.');
    return this.o.provider;
  }

  /** One handler per event type. */
  on(type: string, handler: PaymentEventHandler): void {
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
    this.handlers.set(type, handler);
  }

  /**
   * A webhook delivery: verified, kept, applied once. A handler that throws leaves the event
   * kept but unapplied and the error goes to the caller (a 500, so the provider delivers it
   * again); a crash at any point loses nothing for the same reason.
   */
  async receiveWebhook(body: Buffer, signature: string | undefined): Promise<WebhookResult> {
    const provider = this.provider();
    let event: ProviderEvent;
    try {
      event = await provider.verifyWebhook(body, signature);
    } catch (err) {
      if (err instanceof WebhookSignatureError) throw new BadRequestError('WEBHOOK_SIGNATURE_INVALID', `The webhook signature was refused: ${err.message}`);
      throw err;
    }
    await this.o.events.keep({ id: event.id, type: event.type, createdAt: event.created, payload: event.raw });
    return this.apply(event);
  }

  /** At start: events kept but never applied (the process stopped in between). Returns how many were applied. */
  async applyPending(): Promise<number> {
    let applied = 0;
    for (const row of await this.o.events.unapplied()) {
      try {
        if (!(await this.apply(fromRow(row))).duplicate) applied++;
      } catch (err) {
        this.o.log.error({ err, event: row.id, type: row.type }, 'payment event still fails; the provider will deliver it again');
      }
    }
    return applied;
  }

  private async apply(event: ProviderEvent): Promise<WebhookResult> {
    const handler = this.handlers.get(event.type);
    const applied = await this.o.events.applyOnce(event.id, async (tx) => {
      if (handler) await handler(event, tx);
    });
    if (applied) this.o.log.info({ event: event.id, type: event.type, ignored: !handler }, 'payment event applied');
    return { duplicate: !applied, ignored: !handler };
  }
}

function fromRow(row: PaymentEventRow): ProviderEvent {
  const data = row.payload.data as { object?: Record<string, unknown> } | undefined;
  return { id: row.id, type: row.type, created: row.createdAt, object: data?.object ?? {}, raw: row.payload };
}
