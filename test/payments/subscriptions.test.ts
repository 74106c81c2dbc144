/**
 * Channel subscriptions on the real `stripe` SDK against the local Stripe stand-in
 * (test/helpers/stripe-standin.ts): a tier, a Checkout that the viewer pays, webhooks that
 * make the subscription active (the return URL alone does not), cancellation at the period's
 * end, webhooks replayed late or out of order that still leave the right state, and the
 * gate of a subscribers-only stream (WHEP, HLS, chat) following the subscription.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatRepo } from '../../server/db/chat-repo.ts';
import { api } from '../helpers/http.ts';
import { createViewerPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startStripeStandIn, type StripeStandIn } from '../helpers/stripe-standin.ts';

const SECRET = 'whsec_test_subscriptions_0123456789abcdef';
let server: TestServer;
let stripe: StripeStandIn;
let call: ReturnType<typeof api>;

async function user(name: string): Promise<{ id: string; token: string }> {
  const username = `${name}_${Date.now().toString(36)}`;
  const res = await call('POST', '/auth/register', { json: { username, email: `${username}@example.com`, password: 'Quartz-Meadow-Signal-5821' } });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.user.id, token: res.body.accessToken };
}

const mine = async (token: string) => (await call('GET', '/me/subscriptions', { token })).body.subscriptions as Array<{ id: string; status: string; cancelAtPeriodEnd: boolean; currentPeriodEnd: string | null; streamerId: string }>;

beforeAll(async () => {
  const webhook = { url: '', secret: SECRET };
  stripe = await startStripeStandIn(webhook);
  server = await startTestServer({ config: { payments: { stripeSecretKey: 'sk_test_glint_subscriptions', stripeWebhookSecret: SECRET, stripeApiUrl: stripe.url } } });
  webhook.url = `${server.url}/payments/webhook`;
  call = api(server.url);
});
afterAll(async () => {
  await server?.stop();
  await stripe?.close();
});

it('subscribes through Checkout: pending until the signed webhook, active after, canceled at period end, then ended', async () => {
  const streamer = await user('creator');
  const viewer = await user('viewer');
  const tier = await call('POST', '/me/tiers', { token: streamer.token, json: { name: 'Supporter', priceMinor: 499 } });
  expect(tier.status, tier.text).toBe(201);
  expect(tier.body.tier).toMatchObject({ name: 'Supporter', priceMinor: 499, currency: 'usd' });
  expect((await call('GET', `/channels/${streamer.id}/tiers`)).body.tiers.map((t: { id: string }) => t.id)).toEqual([tier.body.tier.id]);

  const started = await call('POST', `/channels/${streamer.id}/subscribe`, { token: viewer.token, json: { tierId: tier.body.tier.id } });
  expect(started.status, started.text).toBe(201);
  expect(started.body.url).toMatch(new RegExp(`^${stripe.url}/checkout/cs_test_`));
  expect(started.body.subscription.status).toBe('pending');
  // Asking again before paying reuses the pending subscription.
  const again = await call('POST', `/channels/${streamer.id}/subscribe`, { token: viewer.token, json: { tierId: tier.body.tier.id } });
  expect(again.body.subscription.id).toBe(started.body.subscription.id);
  expect(await server.app.subscriptions.hasAccess(viewer.id as never, streamer.id as never)).toBe(false);

  // The viewer pays on the hosted page; it sends them back to the channel page.
  const page = await fetch(started.body.url);
  expect(await page.text()).toContain('Pay 4.99 USD');
  const paid = await fetch(`${started.body.url}/pay`, { method: 'POST', redirect: 'manual' });
  expect(paid.status).toBe(303);
  expect(paid.headers.get('location')).toBe(`${server.app.publicUrl()}/channel/${streamer.id}?checkout=success`);
  const [active] = await mine(viewer.token);
  expect(active).toMatchObject({ id: started.body.subscription.id, status: 'active', cancelAtPeriodEnd: false, streamerId: streamer.id });
  expect(Date.parse(active!.currentPeriodEnd!)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  expect(await server.app.subscriptions.hasAccess(viewer.id as never, streamer.id as never)).toBe(true);
  expect((await call('POST', `/channels/${streamer.id}/subscribe`, { token: viewer.token, json: { tierId: tier.body.tier.id } })).body.error.code).toBe('ALREADY_SUBSCRIBED');

  // Another user cannot see or cancel it.
  const stranger = await user('stranger');
  expect(await mine(stranger.token)).toEqual([]);
  expect((await call('POST', `/me/subscriptions/${active!.id}/cancel`, { token: stranger.token })).status).toBe(404);

  const canceled = await call('POST', `/me/subscriptions/${active!.id}/cancel`, { token: viewer.token });
  expect(canceled.status, canceled.text).toBe(200);
  expect(canceled.body.subscription).toMatchObject({ status: 'canceled', cancelAtPeriodEnd: true });
  expect(await server.app.subscriptions.hasAccess(viewer.id as never, streamer.id as never)).toBe(true); // paid until the period's end

  const providerId = [...stripe.subscriptions.keys()].pop()!;
  await stripe.endPeriod(providerId);
  expect((await mine(viewer.token))[0]).toMatchObject({ status: 'ended' });
  expect(await server.app.subscriptions.hasAccess(viewer.id as never, streamer.id as never)).toBe(false);

  // Stripe delivers the older events again, late and out of order: the state stays ended
  // (each event reads the subscription as it is now), and each applies nothing twice.
  const older = stripe.sent.filter((s) => String(s.event.type).startsWith('customer.subscription.') && s.event.type !== 'customer.subscription.deleted');
  expect(older.length).toBeGreaterThanOrEqual(2);
  for (const s of older.reverse()) expect(await stripe.send(s.event)).toBe(200);
  expect((await mine(viewer.token))[0]).toMatchObject({ status: 'ended' });
  expect(stripe.sent.every((s) => s.status === 200)).toBe(true);
});

it('refuses what cannot be bought, with codes', async () => {
  const streamer = await user('creator2');
  const viewer = await user('viewer2');
  const tier = (await call('POST', '/me/tiers', { token: streamer.token, json: { name: 'Gold', priceMinor: 999 } })).body.tier;
  expect((await call('POST', '/me/tiers', { token: streamer.token, json: { name: 'Float', priceMinor: 4.99 } })).body.error.code).toBe('VALIDATION_FAILED');
  expect((await call('POST', '/me/tiers', { json: { name: 'Anon', priceMinor: 500 } })).status).toBe(401);
  expect((await call('POST', `/channels/${streamer.id}/subscribe`, { token: streamer.token, json: { tierId: tier.id } })).body.error.code).toBe('SELF_SUBSCRIPTION');
  expect((await call('POST', `/channels/${viewer.id}/subscribe`, { token: streamer.token, json: { tierId: tier.id } })).body.error.code).toBe('TIER_NOT_FOUND');
  expect((await call('POST', `/channels/${streamer.id}/subscribe`, { token: viewer.token, json: { tierId: 'not-a-uuid' } })).body.error.code).toBe('VALIDATION_FAILED');
  expect((await call('GET', '/channels/00000000-0000-4000-8000-000000000000/tiers')).body.error.code).toBe('USER_NOT_FOUND');
  expect((await call('POST', '/me/subscriptions/nope/cancel', { token: viewer.token })).body.error.code).toBe('SUBSCRIPTION_NOT_FOUND');
});

it('answers 502 PAYMENT_PROVIDER_ERROR when Stripe cannot be reached, and keeps nothing half done', async () => {
  const down = await startTestServer({ config: { payments: { stripeSecretKey: 'sk_test_glint_down', stripeWebhookSecret: SECRET, stripeApiUrl: 'http://127.0.0.1:9' } } });
  try {
    const c = api(down.url);
    const reg = async (n: string) => (await c('POST', '/auth/register', { json: { username: `${n}_${Date.now().toString(36)}`, email: `${n}_${Date.now().toString(36)}@example.com`, password: 'Quartz-Meadow-Signal-5821' } })).body;
    const s = await reg('downcreator');
    const v = await reg('downviewer');
    const tier = (await c('POST', '/me/tiers', { token: s.accessToken, json: { name: 'T', priceMinor: 300 } })).body.tier;
    const res = await c('POST', `/channels/${s.user.id}/subscribe`, { token: v.accessToken, json: { tierId: tier.id } });
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.code).toBe('PAYMENT_PROVIDER_ERROR');
    expect((await c('GET', '/me/subscriptions', { token: v.accessToken })).body.subscriptions.every((x: { status: string }) => x.status === 'pending')).toBe(true);
  } finally {
    await down.stop();
  }
}, 60_000);

it('lets only subscribers and the owner watch a subscribers-only stream (WHEP 401/403), serves its HLS to nobody yet, and opens subscriber-only chat', async () => {
  const streamer = await user('gated');
  const viewer = await user('payer');
  const stranger = await user('passerby');
  const created = await call('POST', '/streams', { token: streamer.token, json: { title: 'members' } });
  const streamId = created.body.stream.id;
  expect(created.body.stream.subscribersOnly).toBe(false);
  const patched = await call('PATCH', `/streams/${streamId}`, { token: streamer.token, json: { subscribersOnly: true } });
  expect(patched.status, patched.text).toBe(200);
  expect((await call('GET', `/streams/${streamId}`)).body.stream.subscribersOnly).toBe(true);

  const peer = await createViewerPeer();
  try {
    const whep = (token?: string) => call('POST', `/whep/${streamId}`, { token, body: peer.offer, headers: { 'content-type': 'application/sdp' } });
    const anonymous = await whep();
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('UNAUTHENTICATED');
    const refused = await whep(stranger.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SUBSCRIBERS_ONLY');
    // The owner passes the gate (and learns the stream is not live yet).
    expect((await whep(streamer.token)).body.error.code).toBe('STREAM_NOT_LIVE');

    // Subscribe and pay: the gate opens; the chat counts the viewer as a subscriber.
    const tier = (await call('POST', '/me/tiers', { token: streamer.token, json: { name: 'Member', priceMinor: 500 } })).body.tier;
    const started = await call('POST', `/channels/${streamer.id}/subscribe`, { token: viewer.token, json: { tierId: tier.id } });
    await fetch(`${started.body.url}/pay`, { method: 'POST', redirect: 'manual' });
    expect((await whep(viewer.token)).body.error.code).toBe('STREAM_NOT_LIVE');
    expect(await new ChatRepo(server.app.db.db).isSubscriber(viewer.id, streamer.id)).toBe(true);
    expect(await new ChatRepo(server.app.db.db).isSubscriber(stranger.id, streamer.id)).toBe(false);

    // HLS of a subscribers-only stream is served to no one until signed playback tokens exist.
    const hls = await call('GET', `/hls/${streamId}/master.m3u8`);
    expect(hls.status).toBe(403);
    expect(hls.body.error.code).toBe('SUBSCRIBERS_ONLY');
    expect((await call('GET', `/streams/${streamId}/vods`)).body.error.code).toBe('SUBSCRIBERS_ONLY');

    // The subscription ends: new joins are refused at once.
    const [sub] = await mine(viewer.token);
    await call('POST', `/me/subscriptions/${sub!.id}/cancel`, { token: viewer.token });
    await stripe.endPeriod([...stripe.subscriptions.keys()].pop()!);
    expect((await whep(viewer.token)).body.error.code).toBe('SUBSCRIBERS_ONLY');
    expect(await new ChatRepo(server.app.db.db).isSubscriber(viewer.id, streamer.id)).toBe(false);
  } finally {
    peer.pc.close();
  }
});
