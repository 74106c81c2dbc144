import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { paymentEvents } from '../db/schema.ts';

export type PaymentEventRow = typeof paymentEvents.$inferSelect;

/** The webhook inbox: events by the provider's id, applied once. */
export class PaymentEventsRepo {
  constructor(private readonly db: Db) {}

  /** Keeps an event; false when it was already kept (a redelivery). */
  async keep(e: { id: string; type: string; createdAt: Date; payload: Record<string, unknown> }): Promise<boolean> {
    const rows = await this.db.insert(paymentEvents).values(e).onConflictDoNothing({ target: paymentEvents.id }).returning({ id: paymentEvents.id });
    return rows.length === 1;
  }

  async get(id: string): Promise<PaymentEventRow | undefined> {
    const [row] = await this.db.select().from(paymentEvents).where(eq(paymentEvents.id, id)).limit(1);
    return row;
  }

  /**
   * Applies an event once: `apply` runs inside a transaction that holds the event's row
   * (concurrent deliveries of one event wait, then find it applied) and marks it applied
   * with its own writes, so both happen or neither. Returns false when it was applied before.
   */
  async applyOnce(id: string, apply: (tx: Db) => Promise<void>): Promise<boolean> {
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx.select({ appliedAt: paymentEvents.appliedAt }).from(paymentEvents).where(eq(paymentEvents.id, id)).for('update');
        if (!row || row.appliedAt) return false;
        await apply(tx as unknown as Db);
        await tx.update(paymentEvents).set({ appliedAt: new Date(), attempts: sql`${paymentEvents.attempts} + 1`, lastError: null }).where(eq(paymentEvents.id, id));
        return true;
      });
    } catch (err) {
      await this.db.update(paymentEvents).set({ attempts: sql`${paymentEvents.attempts} + 1`, lastError: String((err as Error).message ?? err).slice(0, 1000) }).where(eq(paymentEvents.id, id));
      throw err;
    }
  }

  /** Events kept but not applied, oldest first. */
  async unapplied(limit = 100): Promise<PaymentEventRow[]> {
    return this.db.select().from(paymentEvents).where(and(isNull(paymentEvents.appliedAt))).orderBy(asc(paymentEvents.receivedAt)).limit(limit);
  }
}
