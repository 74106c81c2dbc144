/**
 * The HTTP edge on uWebSockets.js: reads the request (headers synchronously, body with a
 * size limit), runs the matched route, and writes one response with request id, CORS and
 * security headers. Every error becomes `{ error: { code, message } }` here and only here.
 * Non-API GETs fall through to the static client (SPA fallback).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import uWS from 'uWebSockets.js';
import type { ZodType } from 'zod';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { AppError, BadRequestError, issuesFromZod } from '../errors.ts';
import type { ErrorBody } from '../../protocol/errors.ts';
import { HttpRouter, type Method, type Reply, type RequestContext, type Route, type StreamSink } from './http-router.ts';
import type { StaticFiles } from './static-files.ts';
import { ClientAddress } from './client-address.ts';
import { HSTS } from './security-policy.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  corsOrigins: string[];
  trustProxy: boolean;
  /** Proxies besides the immediate peer whose X-Forwarded-For hops are skipped (CIDRs). */
  trustedProxies: readonly string[];
  /** Paths under these prefixes are API: unknown ones get a JSON 404, never the SPA. */
  apiPrefixes: string[];
  log: Logger;
  metrics: Metrics;
  staticFiles: StaticFiles;
  /** The Content-Security-Policy of HTML pages, for the origin the browser used. */
  contentSecurityPolicy: (requestOrigin: string | undefined) => string;
}

/** LIBUS_LISTEN_EXCLUSIVE_PORT (the enum is in the typings but not exported at run time). */
const LISTEN_EXCLUSIVE_PORT = 1;
const METHODS = new Set<Method>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const EXPOSED = 'Location, ETag, Link, Retry-After, X-Request-Id, Accept-Post, Accept-Patch, Content-Type';
const ALLOWED_REQ_HEADERS = 'Authorization, Content-Type, If-Match, X-Request-Id';
const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

interface Pending {
  aborted: boolean;
  done: boolean;
  onAbort?: () => void;
}

export class HttpServer {
  readonly router = new HttpRouter();
  readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | null = null;
  private inflight = 0;
  private draining = false;
  /** Drain is over: what the requests needed (database, bus) is being closed. */
  private drained = false;
  private idleWaiters: Array<() => void> = [];
  private readonly streams = new Set<StreamSink>();
  private boundPort = 0;
  private readonly clientAddress: ClientAddress;

  constructor(private readonly o: HttpServerOptions) {
    this.clientAddress = new ClientAddress(o.trustProxy, o.trustedProxies);
    this.app = uWS.App();
    this.app.any('/*', (res, req) => this.onRequest(res, req));
  }

  get port(): number {
    return this.boundPort;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Requests being answered now (a drain waits for these). */
  get inflightRequests(): number {
    return this.inflight;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      // Exclusive: uWS otherwise sets SO_REUSEPORT and a second server on the same port
      // would silently share its traffic instead of failing.
      const listen = this.app.listen as unknown as (host: string, port: number, options: number, cb: (s: uWS.us_listen_socket | false) => void) => void;
      listen.call(this.app, this.o.host, this.o.port, LISTEN_EXCLUSIVE_PORT, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${this.o.host}:${this.o.port} (port in use or address not available)`));
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
        resolve(this.boundPort);
      });
    });
  }

  /** Stops accepting connections and waits (up to timeoutMs) for requests in flight. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    for (const s of [...this.streams]) s.end();
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.drained = true;
  }

  private onRequest(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    const started = process.hrtime.bigint();
    // Everything from `req` must be read now: it is invalid after this function returns.
    const rawMethod = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const queryString = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    });
    const ip = this.clientIp(res, headers);
    const origin = this.requestOrigin(headers);
    const incomingId = headers['x-request-id'];
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const state: Pending = { aborted: false, done: false };
    res.onAborted(() => {
      state.aborted = true;
      this.finish(state);
      state.onAbort?.();
    });
    this.inflight++;

    const log = this.o.log.child({ requestId });
    const method = METHODS.has(rawMethod as Method) ? (rawMethod as Method) : null;
    let routeLabel = 'unmatched';
    const send = (status: number, reply: Reply, closeConnection = false) => {
      if (state.aborted || state.done) {
        // The client left before the answer: a stream is started on a closed sink, so what
        // its handler took (a slot, a subscription) is given back by its onClose.
        if (reply.stream && state.aborted) this.openStream(res, state, reply.stream);
        return;
      }
      const outHeaders: Record<string, string> = { ...SECURITY_HEADERS, 'X-Request-Id': requestId, ...this.corsHeaders(headers), ...(reply.headers ?? {}) };
      if (origin?.startsWith('https:')) outHeaders['Strict-Transport-Security'] = HSTS;
      let body: string | Buffer = '';
      if (reply.json !== undefined) {
        body = JSON.stringify(reply.json);
        outHeaders['Content-Type'] ??= 'application/json; charset=utf-8';
      } else if (reply.body !== undefined) {
        body = reply.body;
      }
      if (this.draining) closeConnection = true;
      const streaming = reply.stream && method !== 'HEAD';
      // RFC 9110: 204 and 304 carry no body and (204) no Content-Length; HEAD announces the
      // length GET would send. uWS's endWithoutBody(length) leaves the response open (and an
      // explicit undefined writes a bogus length), so the length is written as a header and
      // the response ended without one.
      const bodiless = status === 204 || status === 304;
      const announced = method === 'HEAD' && !bodiless && !reply.stream ? String(Buffer.byteLength(body)) : undefined;
      res.cork(() => {
        res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`);
        for (const [k, v] of Object.entries(outHeaders)) res.writeHeader(k, v);
        if (streaming) {
          res.write('');
        } else if (bodiless || method === 'HEAD') {
          if (announced !== undefined) res.writeHeader('Content-Length', announced);
          if (closeConnection) res.writeHeader('Connection', 'close');
          res.endWithoutBody();
        } else {
          res.end(body, closeConnection);
        }
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.o.metrics.httpRequests.inc({ method: method ?? 'OTHER', route: routeLabel, status: String(status) });
      this.o.metrics.httpDuration.observe({ method: method ?? 'OTHER', route: routeLabel }, seconds);
      const level = status >= 500 ? 'error' : routeLabel.startsWith('static') || routeLabel === '/healthz' || routeLabel === '/metrics' ? 'debug' : 'info';
      log[level]({ method, path, route: routeLabel, status, ms: Math.round(seconds * 1e4) / 10, ip }, 'request');
      this.finish(state);
      if (streaming) this.openStream(res, state, reply.stream!);
    };
    const sendError = (err: unknown) => {
      const { status, body, extra, close } = this.errorReply(err, requestId, log);
      send(status, { json: body, headers: extra }, close);
    };

    if (!method) return sendError(new AppError('METHOD_NOT_ALLOWED', `Method ${rawMethod} is not supported.`));
    // A request on a connection opened before the drain, arriving after it: it would run
    // against a closing database; another node (or this one restarted) answers the retry.
    if (this.drained) return sendError(new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry shortly.', { headers: { 'Retry-After': '1' } }));

    const match = this.router.match(method, path);
    if (match.kind !== 'found') {
      if (method === 'OPTIONS' && match.kind === 'method-not-allowed') {
        routeLabel = 'preflight';
        return send(204, { headers: this.preflightHeaders(match.allowed) });
      }
      if ((method === 'GET' || method === 'HEAD') && !this.isApiPath(path)) {
        routeLabel = 'static';
        const file = this.o.staticFiles.lookup(path);
        const fileHeaders = { ...file.headers, ...(file.html ? { 'Content-Security-Policy': this.o.contentSecurityPolicy(origin) } : {}) };
        if (matchesEtag(headers['if-none-match'], file.headers.ETag)) return send(304, { headers: fileHeaders });
        return send(200, { body: file.body, headers: fileHeaders });
      }
      if (match.kind === 'method-not-allowed') {
        return sendError(new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}.`, { headers: { Allow: match.allowed.join(', ') } }));
      }
      return sendError(new AppError('ROUTE_NOT_FOUND', `No route for ${method} ${path}.`));
    }

    const route = match.route;
    routeLabel = route.pattern;
    const bodyError = this.checkBodyHeaders(route, method, headers);
    if (bodyError) return sendError(bodyError);

    const run = (body: Buffer) => {
      const ctx = this.context({ method, path, route, params: match.params, queryString, headers, ip, origin, requestId, log, body });
      let result: Promise<Reply>;
      try {
        result = Promise.resolve(route.handler(ctx));
      } catch (err) {
        result = Promise.reject(err);
      }
      result.then((reply) => send(reply.status ?? (reply.json === undefined && reply.body === undefined ? 204 : 200), reply), sendError);
    };

    const length = headers['content-length'];
    const hasBody = (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
    if (!hasBody) return run(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let received = 0;
    res.onData((chunk, isLast) => {
      if (state.done || state.aborted) return;
      received += chunk.byteLength;
      if (received > this.o.bodyLimitBytes) {
        return sendError(new AppError('BODY_TOO_LARGE', `The body is larger than ${this.o.bodyLimitBytes} bytes.`));
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) run(Buffer.concat(chunks));
    });
  }

  /** Long-lived responses (SSE) stay open outside the in-flight count; drain ends them. */
  private openStream(res: uWS.HttpResponse, state: Pending, start: (sink: StreamSink) => void): void {
    const closers: Array<() => void> = [];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.streams.delete(sink);
      for (const c of closers) c();
    };
    const sink: StreamSink = {
      get closed() {
        return closed || state.aborted;
      },
      write: (chunk) => {
        if (closed || state.aborted) return false;
        let ok = true;
        res.cork(() => {
          ok = res.write(chunk);
        });
        return ok || !state.aborted;
      },
      end: () => {
        if (closed) return;
        if (!state.aborted) res.cork(() => res.end());
        close();
      },
      onClose: (cb) => {
        if (closed) cb();
        else closers.push(cb);
      },
    };
    // uWS reports the client going away through onAborted, which was set at the start.
    if (state.aborted) {
      close();
      start(sink);
      return;
    }
    this.streams.add(sink);
    const prior = state.onAbort;
    state.onAbort = () => {
      prior?.();
      close();
    };
    start(sink);
  }

  private finish(state: Pending): void {
    if (state.done) return;
    state.done = true;
    this.inflight--;
    if (this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private checkBodyHeaders(route: Route, method: Method, headers: Record<string, string>): AppError | null {
    const length = headers['content-length'];
    if (length !== undefined && (!/^\d+$/.test(length) || Number(length) > this.o.bodyLimitBytes)) {
      return new AppError('BODY_TOO_LARGE', `The body is larger than ${this.o.bodyLimitBytes} bytes.`);
    }
    const hasBody = (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
    if (!hasBody || method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'OPTIONS') return null;
    const accepts = route.options.accepts ?? ['application/json'];
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!accepts.includes(type)) {
      return new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${accepts.join(' or ')}${type ? `, not ${type}` : ''}.`, {
        headers: { 'Accept-Post': accepts.join(', ') },
      });
    }
    return null;
  }

  private context(c: {
    method: Method; path: string; route: Route; params: Record<string, string>; queryString: string;
    headers: Record<string, string>; ip: string; origin: string | undefined; requestId: string; log: Logger; body: Buffer;
  }): RequestContext {
    const query = new URLSearchParams(c.queryString);
    return {
      method: c.method,
      path: c.path,
      route: c.route.pattern,
      params: c.params,
      query,
      headers: c.headers,
      ip: c.ip,
      origin: c.origin,
      requestId: c.requestId,
      log: c.log,
      body: c.body,
      json<T>(schema: ZodType<T>): T {
        let value: unknown;
        if (c.body.length === 0) {
          value = undefined;
        } else {
          try {
            value = JSON.parse(c.body.toString('utf8'));
          } catch (err) {
            throw new BadRequestError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`);
          }
        }
        if (value === undefined) throw new BadRequestError('VALIDATION_FAILED', 'A JSON body is required.', { details: [{ path: '(body)', message: 'is required' }] });
        const parsed = schema.safeParse(value);
        if (!parsed.success) {
          const details = issuesFromZod(parsed.error.issues as never);
          throw new BadRequestError('VALIDATION_FAILED', `Invalid body: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}.`, { details });
        }
        return parsed.data;
      },
      queryAs<T>(schema: ZodType<T>): T {
        const obj: Record<string, string> = {};
        for (const [k, v] of query) obj[k] = v;
        const parsed = schema.safeParse(obj);
        if (!parsed.success) {
          const details = issuesFromZod(parsed.error.issues as never);
          throw new BadRequestError('INVALID_QUERY', `Invalid query: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}.`, { details });
        }
        return parsed.data;
      },
    };
  }

  private errorReply(err: unknown, requestId: string, log: Logger): { status: number; body: ErrorBody; extra: Record<string, string>; close: boolean } {
    if (err instanceof AppError) {
      const body: ErrorBody = { error: { code: err.code, message: err.message, requestId } };
      if (err.details) body.error.details = err.details;
      if (err.hls !== undefined) body.error.hls = err.hls;
      // After a refused body we stop reading it; the connection cannot be reused.
      return { status: err.status, body, extra: err.headers ?? {}, close: err.code === 'BODY_TOO_LARGE' };
    }
    log.error({ err }, 'unhandled error');
    return {
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'Something went wrong on our side; it was logged with the request id.', requestId } },
      extra: {},
      close: false,
    };
  }

  /** The client's address (X-Forwarded-For read as ClientAddress says). For the chat socket's upgrade too. */
  clientIp(res: uWS.HttpResponse, headers: Readonly<Record<string, string | undefined>>): string {
    return this.clientAddress.resolve(Buffer.from(res.getRemoteAddressAsText()).toString(), headers['x-forwarded-for']);
  }

  private requestOrigin(headers: Record<string, string>): string | undefined {
    const host = headers.host;
    if (!host || !/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(host)) return undefined;
    const forwarded = this.o.trustProxy ? headers['x-forwarded-proto']?.split(',')[0]?.trim() : undefined;
    const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : 'http';
    return `${proto}://${host}`;
  }

  private corsHeaders(headers: Record<string, string>): Record<string, string> {
    const origin = headers.origin;
    if (!origin) return {};
    const allowAll = this.o.corsOrigins.includes('*');
    if (!allowAll && !this.o.corsOrigins.includes(origin)) return {};
    return {
      'Access-Control-Allow-Origin': allowAll ? '*' : origin,
      'Access-Control-Expose-Headers': EXPOSED,
      ...(allowAll ? {} : { Vary: 'Origin' }),
    };
  }

  private preflightHeaders(allowed: Method[]): Record<string, string> {
    const methods = [...new Set([...allowed, 'OPTIONS'])].join(', ');
    return {
      Allow: methods,
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': ALLOWED_REQ_HEADERS,
      'Access-Control-Max-Age': '600',
    };
  }

  private isApiPath(path: string): boolean {
    return this.o.apiPrefixes.some((p) => path === p || path.startsWith(p + '/'));
  }
}

/** If-None-Match (RFC 9110 13.1.2, weak comparison) against the representation's ETag. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (!ifNoneMatch || !etag) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}
