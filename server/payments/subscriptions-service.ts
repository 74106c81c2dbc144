/**
 * Channel subscriptions: tiers a streamer sets, a Checkout page to subscribe, and the
 * subscription's state kept in step with the provider's by webhooks. Each webhook reads the
 * provider's subscription as it is now instead of trusting the event's copy, so events that
 * arrive late or out of order still leave the right state.
 */
import type { UserId } from '../../protocol/ids.ts';
import type { Db } from '../db/index.ts';
import { AppError, BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ProviderError, type PaymentProvider, type ProviderSubscription } from './payment-provider.ts';
import type { PaymentsService } from './payments-service.ts';
import type { SubscriptionRow, SubscriptionsRepo, TierRow } from './subscriptions-repo.ts';

export interface Tier {
  id: string;
  streamerId: string;
  name: string;
  priceMinor: number;
  currency: string;
}

export interface Subscription {
  id: string;
  streamerId: string;
  tierId: string | null;
  status: string;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  startDate: string;
}

export const SUBSCRIPTION_EVENTS = ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'] as const;

export class SubscriptionsService {
  constructor(
    private readonly o: {
      repo: SubscriptionsRepo;
      payments: PaymentsService;
      currency: string;
      /** Where Checkout sends the viewer back (our public URL). */
      publicUrl: () => string;
      /** Throws USER_NOT_FOUND for an unknown user. */
      requireUser: (id: UserId) => Promise<unknown>;
      log: Logger;
    },
  ) {
    for (const type of SUBSCRIPTION_EVENTS) o.payments.on(type, (event, tx) => this.onProviderEvent(String(event.object.id ?? ''), tx));
  }

  async createTier(streamerId: UserId, name: string, priceMinor: number): Promise<Tier> {
    this.o.payments.provider();
    return toTier(await this.o.repo.createTier(streamerId, name, priceMinor, this.o.currency));
  }

  async tiers(streamerId: UserId): Promise<Tier[]> {
    await this.o.requireUser(streamerId);
    return (await this.o.repo.activeTiers(streamerId)).map(toTier);
  }

  /** Starts a checkout for `tierId` of `streamerId`'s channel: where to send the viewer. */
  async subscribe(subscriberId: UserId, streamerId: UserId, tierId: string): Promise<{ url: string; subscription: Subscription }> {
    const provider = this.o.payments.provider();
    if (subscriberId === streamerId) throw new BadRequestError('SELF_SUBSCRIPTION', 'You cannot subscribe to your own channel.');
    await this.o.requireUser(streamerId);
    const tier = await this.o.repo.tier(tierId);
    if (!tier || !tier.active || tier.streamerId !== streamerId) throw new NotFoundError('TIER_NOT_FOUND', 'This channel has no active tier with that id.');
    let row = await this.o.repo.open(subscriberId, streamerId);
    if (row && row.status !== 'pending') throw new ConflictError('ALREADY_SUBSCRIBED', `You already subscribe to this channel (${row.status}).`);
    // A checkout left unfinished is reused: one pending row per viewer and channel.
    if (!row) row = await this.o.repo.createPending(subscriberId, streamerId, tier.id);
    else if (row.tierId !== tier.id) await this.o.repo.setTier(row.id, tier.id);
    const back = `${this.o.publicUrl()}/channel/${streamerId}`;
    const checkout = await viaProvider(() =>
      provider.createSubscriptionCheckout({
        subscriptionId: row.id, subscriberId, streamerId, tierName: tier.name, priceMinor: tier.priceMinor, currency: tier.currency,
        successUrl: `${back}?checkout=success`, cancelUrl: `${back}?checkout=cancelled`,
      }),
    );
    return { url: checkout.url, subscription: toSubscription(row) };
  }

  async mine(subscriberId: UserId): Promise<Subscription[]> {
    return (await this.o.repo.listBySubscriber(subscriberId)).map(toSubscription);
  }

  /** Cancels at the period's end (access stays until then); the provider's answer is applied at once. */
  async cancel(subscriberId: UserId, id: string): Promise<Subscription> {
    const provider = this.o.payments.provider();
    const row = await this.o.repo.get(id);
    if (!row || row.subscriberId !== subscriberId) throw new NotFoundError('SUBSCRIPTION_NOT_FOUND', 'You have no subscription with this id.');
    if (!row.providerSubscriptionId || row.status === 'ended') throw new ConflictError('ALREADY_SUBSCRIBED', `This subscription is ${row.status}: there is nothing to cancel.`);
    const state = await viaProvider(() => provider.cancelAtPeriodEnd(row.providerSubscriptionId!));
    return toSubscription((await this.applyState(row, state)) ?? row);
  }

  /** Whether the viewer has paid access to the channel now. */
  async hasAccess(subscriberId: UserId, streamerId: UserId, now = new Date()): Promise<boolean> {
    return this.o.repo.hasAccess(subscriberId, streamerId, now);
  }

  private async onProviderEvent(providerId: string, tx: Db): Promise<void> {
    if (!providerId) return;
    const state = await viaProvider(() => this.o.payments.provider().getSubscription(providerId));
    const row = (await this.o.repo.byProviderId(providerId, tx)) ?? (state.metadata.glintSubscriptionId ? await this.o.repo.get(state.metadata.glintSubscriptionId, tx) : undefined);
    if (!row) {
      this.o.log.warn({ subscription: providerId }, 'a subscription event for no subscription of ours: ignored');
      return;
    }
    await this.applyState(row, state, tx);
  }

  private async applyState(row: SubscriptionRow, s: ProviderSubscription, tx?: Db): Promise<SubscriptionRow | undefined> {
    const status = statusOf(s);
    return this.o.repo.update(row.id, {
      status,
      providerSubscriptionId: s.id,
      currentPeriodEnd: s.currentPeriodEnd,
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
      endDate: status === 'ended' ? (row.endDate ?? new Date()) : null,
    }, tx);
  }
}

/** Our status for the provider's. */
export function statusOf(s: ProviderSubscription): string {
  switch (s.status) {
    case 'active':
    case 'trialing':
      return s.cancelAtPeriodEnd ? 'canceled' : 'active';
    case 'past_due':
    case 'unpaid':
      return 'past_due';
    case 'canceled':
    case 'incomplete_expired':
      return 'ended';
    default:
      return 'pending';
  }
}

async function viaProvider<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProviderError) throw new AppError('PAYMENT_PROVIDER_ERROR', `The payment provider failed: ${err.message}`, { cause: err });
    throw err;
  }
}

function toTier(t: TierRow): Tier {
  return { id: t.id, streamerId: t.streamerId, name: t.name, priceMinor: t.priceMinor, currency: t.currency };
}

function toSubscription(s: SubscriptionRow): Subscription {
  return {
    id: s.id, streamerId: s.streamerId, tierId: s.tierId, status: s.status, currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd, startDate: s.startDate.toISOString(),
  };
}
