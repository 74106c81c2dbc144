/**
 * A local stand-in for the part of Stripe's REST API Glint uses, for tests (Stripe cannot be
 * reached from here). The real `stripe` SDK talks to it through STRIPE_API_URL: form-encoded
 * requests with bracketed keys, Stripe's JSON objects and error shapes, Idempotency-Key
 * replays. A hosted Checkout page can be "paid" (a form post, or `pay()`), and every change
 * is announced to the webhook URL as Stripe does it: signed with the endpoint secret (the
 * SDK's own test-header helper), retried by the test when it answers an error.
 *
 * Covered: POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id,
 * GET|POST /v1/subscriptions/:id (cancel_at_period_end), and the Checkout page.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

type Obj = Record<string, unknown>;

export interface StripeStandIn {
  url: string;
  /** Where webhooks go, and the endpoint's signing secret. */
  webhook: { url: string; secret: string };
  sessions: Map<string, Obj>;
  subscriptions: Map<string, Obj>;
  /** Every event sent, in order, with the status the endpoint answered. */
  sent: Array<{ event: Obj; status: number }>;
  /** Completes a Checkout session as a paying customer would; returns where it redirects. */
  pay(sessionId: string): Promise<string>;
  /** The paid period of a subscription runs out: it ends if it was set to cancel, else renews. */
  endPeriod(subscriptionId: string): Promise<void>;
  /** Sends an event (the test may replay or reorder `sent` events with this too). */
  send(event: Obj): Promise<number>;
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);
const signer = new Stripe('sk_test_standin_signer');

/** Parses `a[b][0][c]=v` form bodies into nested objects and arrays, as Stripe reads them. */
export function parseForm(body: string): Obj {
  const out: Obj = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.replace(/\]/g, '').split('[');
    let node: Obj = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = /^\d+$/.test(path[i + 1]!) ? [] : {};
      node = node[k] as Obj;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

class StripeApiError extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly param?: string, readonly code?: string) {
    super(message);
  }
}

export async function startStripeStandIn(webhook: { url: string; secret: string }): Promise<StripeStandIn> {
  const sessions = new Map<string, Obj>();
  const subscriptions = new Map<string, Obj>();
  const idempotent = new Map<string, { body: string; status: number; json: string }>();
  const sent: StripeStandIn['sent'] = [];
  let base = '';

  async function send(event: Obj): Promise<number> {
    const payload = JSON.stringify(event);
    const header = signer.webhooks.generateTestHeaderString({ payload, secret: webhook.secret });
    let status = 0;
    try {
      const res = await fetch(webhook.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header }, body: payload });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    sent.push({ event, status });
    return status;
  }

  const emit = (type: string, object: Obj) =>
    send({ id: id('evt'), object: 'event', api_version: '2025-01-27', created: now(), livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object: structuredClone(object) } });

  function createSession(p: Obj): Obj {
    for (const field of ['mode', 'success_url', 'cancel_url']) if (!p[field]) throw new StripeApiError(400, 'invalid_request_error', `Missing required param: ${field}.`, field, 'parameter_missing');
    const items = p.line_items as Obj[] | undefined;
    if (!Array.isArray(items) || items.length === 0) throw new StripeApiError(400, 'invalid_request_error', 'Missing required param: line_items.', 'line_items', 'parameter_missing');
    const price = (items[0]!.price_data ?? {}) as Obj;
    const amount = Number(price.unit_amount);
    if (!Number.isInteger(amount) || amount < 1) throw new StripeApiError(400, 'invalid_request_error', 'Invalid integer: line_items[0][price_data][unit_amount].', 'line_items[0][price_data][unit_amount]');
    const sid = id('cs_test');
    const session: Obj = {
      id: sid, object: 'checkout.session', mode: p.mode, status: 'open', payment_status: 'unpaid', url: `${base}/checkout/${sid}`,
      success_url: p.success_url, cancel_url: p.cancel_url, client_reference_id: p.client_reference_id ?? null, metadata: p.metadata ?? {},
      amount_total: amount * Number(items[0]!.quantity ?? 1), currency: price.currency, subscription: null, created: now(),
      livemode: false, _subscription_data: p.subscription_data ?? {}, _price: price,
    };
    sessions.set(sid, session);
    return session;
  }

  async function pay(sessionId: string): Promise<string> {
    const s = sessions.get(sessionId);
    if (!s) throw new Error(`no checkout session ${sessionId}`);
    if (s.status !== 'open') return String(s.success_url);
    s.status = 'complete';
    s.payment_status = 'paid';
    if (s.mode === 'subscription') {
      const price = s._price as Obj;
      const sub: Obj = {
        id: id('sub'), object: 'subscription', status: 'active', cancel_at_period_end: false, created: now(), current_period_start: now(),
        current_period_end: now() + 30 * 86_400, customer: id('cus'), livemode: false,
        metadata: { ...(((s._subscription_data as Obj).metadata as Obj) ?? {}) },
        items: { object: 'list', data: [{ id: id('si'), object: 'subscription_item', quantity: 1, current_period_end: now() + 30 * 86_400, price: { id: id('price'), object: 'price', currency: price.currency, unit_amount: Number(price.unit_amount), recurring: { interval: 'month' } } }] },
      };
      subscriptions.set(String(sub.id), sub);
      s.subscription = sub.id;
      await emit('customer.subscription.created', sub);
    }
    await emit('checkout.session.completed', s);
    return String(s.success_url);
  }

  async function endPeriod(subscriptionId: string): Promise<void> {
    const sub = subscriptions.get(subscriptionId);
    if (!sub) throw new Error(`no subscription ${subscriptionId}`);
    if (sub.cancel_at_period_end) {
      sub.status = 'canceled';
      sub.ended_at = now();
      await emit('customer.subscription.deleted', sub);
    } else {
      sub.current_period_end = Number(sub.current_period_end) + 30 * 86_400;
      await emit('customer.subscription.updated', sub);
    }
  }

  async function route(req: IncomingMessage, body: string): Promise<{ status: number; json?: Obj; html?: string; redirect?: string }> {
    const url = new URL(req.url ?? '/', base);
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'checkout' && parts[1]) {
      const s = sessions.get(parts[1]);
      if (!s) return { status: 404, html: '<h1>No such checkout session</h1>' };
      if (req.method === 'POST' && parts[2] === 'pay') return { status: 303, redirect: await pay(parts[1]) };
      const amount = `${(Number(s.amount_total) / 100).toFixed(2)} ${String(s.currency).toUpperCase()}`;
      return { status: 200, html: `<!doctype html><title>Checkout (test stand-in)</title><h1>Pay ${amount}</h1><form method="post" action="/checkout/${s.id}/pay"><button type="submit">Pay ${amount}</button></form><a href="${s.cancel_url}">Cancel</a>` };
    }
    const auth = req.headers.authorization ?? '';
    if (!/^Bearer sk_(test|live)_/.test(auth)) throw new StripeApiError(401, 'invalid_request_error', 'Invalid API Key provided.');
    if (parts[0] !== 'v1') throw new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname}).`);
    const params = parseForm(body);
    if (parts[1] === 'checkout' && parts[2] === 'sessions') {
      if (req.method === 'POST' && !parts[3]) return { status: 200, json: publicObject(createSession(params)) };
      const s = parts[3] ? sessions.get(parts[3]) : undefined;
      if (req.method === 'GET' && s) return { status: 200, json: publicObject(s) };
      throw new StripeApiError(404, 'invalid_request_error', `No such checkout.session: '${parts[3]}'`, 'id', 'resource_missing');
    }
    if (parts[1] === 'subscriptions' && parts[2]) {
      const sub = subscriptions.get(parts[2]);
      if (!sub) throw new StripeApiError(404, 'invalid_request_error', `No such subscription: '${parts[2]}'`, 'id', 'resource_missing');
      if (req.method === 'POST') {
        if (params.cancel_at_period_end !== undefined) sub.cancel_at_period_end = params.cancel_at_period_end === 'true';
        await emit('customer.subscription.updated', sub);
      }
      return { status: 200, json: sub };
    }
    throw new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname}).`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const key = req.headers['idempotency-key'];
      const replayKey = typeof key === 'string' && req.method === 'POST' ? `${req.url} ${key}` : null;
      const reply = (status: number, json: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers });
        res.end(json);
      };
      const earlier = replayKey ? idempotent.get(replayKey) : undefined;
      if (earlier) {
        // Stripe: the same key with other parameters is an error; with the same, the first answer again.
        if (earlier.body !== body) return reply(400, JSON.stringify({ error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } }));
        return reply(earlier.status, earlier.json, { 'idempotent-replayed': 'true' });
      }
      route(req, body).then(
        (r) => {
          if (r.redirect) {
            res.writeHead(r.status, { location: r.redirect });
            return res.end();
          }
          if (r.html !== undefined) {
            res.writeHead(r.status, { 'content-type': 'text/html; charset=utf-8' });
            return res.end(r.html);
          }
          const json = JSON.stringify(r.json);
          if (replayKey) idempotent.set(replayKey, { body, status: r.status, json });
          reply(r.status, json);
        },
        (err: unknown) => {
          const e = err instanceof StripeApiError ? err : new StripeApiError(500, 'api_error', (err as Error).message);
          reply(e.status, JSON.stringify({ error: { type: e.type, message: e.message, ...(e.param ? { param: e.param } : {}), ...(e.code ? { code: e.code } : {}) } }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url: base,
    webhook,
    sessions,
    subscriptions,
    sent,
    pay,
    endPeriod,
    send,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A session as the API shows it (without the stand-in's own bookkeeping fields). */
function publicObject(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('_')));
}
