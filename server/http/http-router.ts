/**
 * Route table: method + path pattern (`/streams/:id/key`) -> handler. Static segments win
 * over parameters, so `/streams/live` is never read as a stream id. The table is also the
 * source of truth for the API reference test (`routes()`).
 */
import type { ZodType } from 'zod';
import type { Logger } from '../logger.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface RequestContext {
  readonly method: Method;
  readonly path: string;
  /** Route pattern, e.g. `/streams/:id` (for metrics and logs). */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly ip: string;
  /** `http(s)://host[:port]` the client used (Host header; X-Forwarded-Proto behind a trusted proxy), or undefined if unusable. */
  readonly origin: string | undefined;
  readonly requestId: string;
  readonly log: Logger;
  /** Raw body bytes (empty when none was sent). */
  readonly body: Buffer;
  /** Parses the JSON body and validates it; throws INVALID_JSON / VALIDATION_FAILED. */
  json<T>(schema: ZodType<T>): T;
  /** Validates the query string (single values); throws INVALID_QUERY. */
  queryAs<T>(schema: ZodType<T>): T;
}

export interface Reply {
  status?: number;
  /** Serialised as JSON with `application/json`. */
  json?: unknown;
  /** Sent as is; set `headers['Content-Type']`. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /**
   * A long-lived response (server-sent events): headers go out at once, then the callback
   * gets a sink to write to until either side closes.
   */
  stream?: (sink: StreamSink) => void;
}

export interface StreamSink {
  /** Writes a chunk; false once the client is gone. */
  write(chunk: string): boolean;
  /** Ends the response. Idempotent. */
  end(): void;
  /** Called once when the response ends, from either side. */
  onClose(cb: () => void): void;
  readonly closed: boolean;
}

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface RouteOptions {
  /**
   * Content types the body may have. Default for POST/PUT/PATCH: JSON only.
   * A request with a body of another type gets 415.
   */
  accepts?: string[];
}

export interface Route {
  method: Method;
  pattern: string;
  handler: Handler;
  options: RouteOptions;
  segments: string[];
  /** Specificity: higher matches first. */
  score: number;
}

export type Match =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: Method[] }
  | { kind: 'not-found' };

export class HttpRouter {
  private readonly table: Route[] = [];

  add(method: Method, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    const segments = pattern.split('/').filter(Boolean);
    if (this.table.some((r) => r.method === method && r.pattern === pattern)) {
      throw new Error(`route ${method} ${pattern} registered twice`);
    }
    this.table.push({ method, pattern, handler, options, segments, score: specificity(segments) });
    this.table.sort((a, b) => b.score - a.score || (a.method === 'HEAD' ? -1 : b.method === 'HEAD' ? 1 : 0));
    return this;
  }

  get(p: string, h: Handler, o?: RouteOptions) { return this.add('GET', p, h, o); }
  post(p: string, h: Handler, o?: RouteOptions) { return this.add('POST', p, h, o); }
  patch(p: string, h: Handler, o?: RouteOptions) { return this.add('PATCH', p, h, o); }
  delete(p: string, h: Handler, o?: RouteOptions) { return this.add('DELETE', p, h, o); }

  /** Every registered method + pattern, in registration-independent order. */
  routes(): Array<{ method: Method; pattern: string }> {
    return this.table.map((r) => ({ method: r.method, pattern: r.pattern })).sort((a, b) => (a.pattern + a.method).localeCompare(b.pattern + b.method));
  }

  match(method: Method, path: string): Match {
    const parts = path.split('/').filter(Boolean);
    const allowed = new Set<Method>();
    let found: { route: Route; params: Record<string, string> } | undefined;
    let best = -1;
    for (const route of this.table) {
      // Only the most specific matching pattern counts, whatever its method:
      // PATCH /streams/live is "method not allowed", not an update of stream "live".
      if (best >= 0 && route.score < best) break;
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      best = route.score;
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
      if (!found && (route.method === method || (method === 'HEAD' && route.method === 'GET'))) found = { route, params };
    }
    if (found) return { kind: 'found', ...found };
    if (allowed.size > 0) return { kind: 'method-not-allowed', allowed: [...allowed] };
    return { kind: 'not-found' };
  }
}

/** Static segments in earlier positions weigh more; longer patterns break ties. */
function specificity(segments: string[]): number {
  let score = 0;
  segments.forEach((s, i) => {
    if (!s.startsWith(':')) score += 2 ** (16 - i);
  });
  return score * 32 + segments.length;
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(v);
      } catch {
        return null;
      }
      params[p.slice(1)] = decoded;
    } else if (p !== v) {
      return null;
    }
  }
  return params;
}
