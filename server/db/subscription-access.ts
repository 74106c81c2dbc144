import { and, eq, gt, inArray, isNull, or, type SQL } from 'drizzle-orm';
import { subscriptions } from './schema.ts';

/**
 * The one rule for "this viewer has paid access to this channel now", shared by playback
 * (WHEP, HLS) and the chat's subscribers-only mode: an active subscription, or one canceled
 * to end at its period's end that has not reached it, or one past due (a renewal failed and
 * the provider still retries; it ends the subscription when it gives up).
 */
export function subscriptionAccess(subscriberId: string, streamerId: string, now: Date): SQL {
  return and(
    eq(subscriptions.subscriberId, subscriberId),
    eq(subscriptions.streamerId, streamerId),
    or(
      eq(subscriptions.status, 'past_due'),
      and(inArray(subscriptions.status, ['active', 'canceled']), or(isNull(subscriptions.currentPeriodEnd), gt(subscriptions.currentPeriodEnd, now))),
    ),
  )!;
}
