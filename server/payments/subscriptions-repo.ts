import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { subscriptions, subscriptionTiers } from '../db/schema.ts';
import { subscriptionAccess } from '../db/subscription-access.ts';

export type TierRow = typeof subscriptionTiers.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;

/** Statuses of a subscription that has not ended (one per viewer and channel). */
export const LIVE_STATUSES = ['pending', 'active', 'past_due', 'canceled'] as const;

export class SubscriptionsRepo {
  constructor(private readonly db: Db) {}

  async createTier(streamerId: string, name: string, priceMinor: number, currency: string): Promise<TierRow> {
    const [row] = await this.db.insert(subscriptionTiers).values({ streamerId, name, priceMinor, currency }).returning();
    return row!;
  }

  async activeTiers(streamerId: string): Promise<TierRow[]> {
    return this.db.select().from(subscriptionTiers).where(and(eq(subscriptionTiers.streamerId, streamerId), eq(subscriptionTiers.active, true))).orderBy(subscriptionTiers.priceMinor, subscriptionTiers.id);
  }

  async tier(id: string): Promise<TierRow | undefined> {
    const [row] = await this.db.select().from(subscriptionTiers).where(eq(subscriptionTiers.id, id)).limit(1);
    return row;
  }

  /** The viewer's subscription to a channel that has not ended, if any. */
  async open(subscriberId: string, streamerId: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.db.select().from(subscriptions)
      .where(and(eq(subscriptions.subscriberId, subscriberId), eq(subscriptions.streamerId, streamerId), inArray(subscriptions.status, [...LIVE_STATUSES])))
      .orderBy(desc(subscriptions.startDate)).limit(1);
    return row;
  }

  async createPending(subscriberId: string, streamerId: string, tierId: string): Promise<SubscriptionRow> {
    const [row] = await this.db.insert(subscriptions).values({ subscriberId, streamerId, tierId, status: 'pending' }).returning();
    return row!;
  }

  async setTier(id: string, tierId: string): Promise<void> {
    await this.db.update(subscriptions).set({ tierId, updatedAt: new Date() }).where(eq(subscriptions.id, id));
  }

  async get(id: string, db: Db = this.db): Promise<SubscriptionRow | undefined> {
    const [row] = await db.select().from(subscriptions).where(eq(subscriptions.id, id)).limit(1);
    return row;
  }

  async byProviderId(providerId: string, db: Db = this.db): Promise<SubscriptionRow | undefined> {
    const [row] = await db.select().from(subscriptions).where(eq(subscriptions.providerSubscriptionId, providerId)).limit(1);
    return row;
  }

  async hasAccess(subscriberId: string, streamerId: string, now: Date): Promise<boolean> {
    const [row] = await this.db.select({ id: subscriptions.id }).from(subscriptions).where(subscriptionAccess(subscriberId, streamerId, now)).limit(1);
    return !!row;
  }

  async listBySubscriber(subscriberId: string): Promise<SubscriptionRow[]> {
    return this.db.select().from(subscriptions).where(eq(subscriptions.subscriberId, subscriberId)).orderBy(desc(subscriptions.startDate)).limit(100);
  }

  async update(id: string, change: Partial<Pick<SubscriptionRow, 'status' | 'providerSubscriptionId' | 'currentPeriodEnd' | 'cancelAtPeriodEnd' | 'endDate'>>, db: Db = this.db): Promise<SubscriptionRow | undefined> {
    const [row] = await db.update(subscriptions).set({ ...change, updatedAt: new Date() }).where(eq(subscriptions.id, id)).returning();
    return row;
  }
}
