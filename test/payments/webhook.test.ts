/**
 * The Stripe webhook inbox, through the real HTTP server, the real `stripe` SDK's signature
 * check and the embedded database: signed events are applied once by id, forged and stale
 * ones are refused, unknown types are kept and ignored, and an event whose handler failed is
 * applied once when Stripe delivers it again; on embedded PGlite and on PostgreSQL (concurrent
 * deliveries contend for the event's row there). Signatures are made the way Stripe makes them
 * (the SDK's own test-header helper).
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET = 'whsec_test_0123456789abcdef0123456789abcdef';
const stripe = new Stripe('sk_test_glint_webhook_suite');

let server: TestServer;
let seq = 0;

function event(type: string, object: Record<string, unknown> = {}): { id: string; body: string } {
  const id = `evt_test_${Date.now().toString(36)}_${++seq}`;
  const body = JSON.stringify({
    id, object: 'event', api_version: '2025-01-27', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type, data: { object: { id: `obj_${seq}`, ...object } },
  });
  return { id, body };
}

function deliver(body: string, signature: string | null = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET })): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (signature !== null) headers['stripe-signature'] = signature;
  return fetch(`${server.url}/payments/webhook`, { method: 'POST', headers, body });
}

describe.each(['pglite', 'postgres'] as const)('with Stripe configured (%s)', (db) => {
  const applied: string[] = [];
  let failNext = true;

  beforeAll(async () => {
    server = await startTestServer({ db, config: { payments: { stripeSecretKey: 'sk_test_glint_webhook_suite', stripeWebhookSecret: SECRET, webhookToleranceSeconds: 300 } } });
    server.app.payments.on('test_suite.counted', async (e) => {
      applied.push(e.id);
    });
    server.app.payments.on('test_suite.flaky', async (e) => {
      if (failNext) {
        failNext = false;
        throw new Error('the handler crashed half way');
      }
      applied.push(e.id);
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('applies a signed event once, however often it is delivered', async () => {
    const e = event('test_suite.counted');
    const first = await deliver(e.body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, duplicate: false, ignored: false });
    const replays = await Promise.all([deliver(e.body), deliver(e.body), deliver(e.body)]);
    for (const r of replays) expect(await r.json()).toEqual({ received: true, duplicate: true, ignored: false });
    expect(applied.filter((id) => id === e.id)).toHaveLength(1);
  });

  it('applies concurrent first deliveries of one event once', async () => {
    const e = event('test_suite.counted');
    const results = await Promise.all(Array.from({ length: 5 }, () => deliver(e.body).then((r) => r.json())));
    expect(results.filter((r) => r.duplicate === false)).toHaveLength(1);
    expect(applied.filter((id) => id === e.id)).toHaveLength(1);
  });

  it('refuses a forged, an altered, an unsigned and a stale delivery with 400 WEBHOOK_SIGNATURE_INVALID', async () => {
    const e = event('test_suite.counted');
    const forged = stripe.webhooks.generateTestHeaderString({ payload: e.body, secret: 'whsec_someone_else_entirely_000000' });
    const altered = stripe.webhooks.generateTestHeaderString({ payload: e.body, secret: SECRET });
    const stale = stripe.webhooks.generateTestHeaderString({ payload: e.body, secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 });
    for (const [body, sig] of [[e.body, forged], [e.body.replace('test_suite.counted', 'test_suite.flaky'), altered], [e.body, null], [e.body, stale], [e.body, 'garbage']] as const) {
      const res = await deliver(body, sig);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    }
    expect(applied).not.toContain(e.id);
    // The genuine delivery still goes through afterwards.
    expect((await deliver(e.body)).status).toBe(200);
    expect(applied.filter((id) => id === e.id)).toHaveLength(1);
  });

  it('answers 200 to an event type nothing handles, and keeps it', async () => {
    const e = event('customer.tax_id.created');
    const res = await deliver(e.body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: false, ignored: true });
    expect(await (await deliver(e.body)).json()).toEqual({ received: true, duplicate: true, ignored: true });
  });

  it('loses nothing when applying fails: the error answer makes Stripe deliver again, and that applies it once', async () => {
    const e = event('test_suite.flaky');
    const failed = await deliver(e.body);
    expect(failed.status).toBe(500);
    expect(applied).not.toContain(e.id);
    const retried = await deliver(e.body);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ received: true, duplicate: false, ignored: false });
    expect(await (await deliver(e.body)).json()).toMatchObject({ duplicate: true });
    expect(applied.filter((id) => id === e.id)).toHaveLength(1);
  });

  it('tells the web client that paid features are on', async () => {
    expect(await (await fetch(`${server.url}/payments/config`)).json()).toEqual({ enabled: true, currency: 'usd', platformFeePercent: 10 });
  });
});

describe('without a Stripe key', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer();
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it('answers 503 PAYMENTS_NOT_CONFIGURED to webhooks and says paid features are off', async () => {
    const e = event('test_suite.counted');
    const res = await fetch(`${plain.url}/payments/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: e.body, secret: SECRET }) }, body: e.body });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('PAYMENTS_NOT_CONFIGURED');
    expect(await (await fetch(`${plain.url}/payments/config`)).json()).toMatchObject({ enabled: false });
  });
});
