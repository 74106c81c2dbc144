/**
 * AppError carries a stable code from the catalogue in protocol/errors.ts; the HTTP
 * status comes from the catalogue, so a code can never be answered with two statuses.
 * Translate to the wire only at the edges (HTTP handler, WebSocket loop).
 */
import { ERRORS, type ErrorCode, type FieldIssue } from '../protocol/errors.ts';

export interface AppErrorOptions {
  cause?: unknown;
  details?: FieldIssue[];
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** WEBRTC_FULL: the stream's LL-HLS playlist, named in the error body. */
  hls?: { url: string } | null;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: FieldIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly hls: { url: string } | null | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options.details;
    this.headers = options.headers;
    this.hls = options.hls;
  }
}

/** The caller sent something we will not accept (4xx, except auth). */
export class BadRequestError extends AppError {}
/** Who you are is unknown or unproven (401). */
export class AuthError extends AppError {}
/** You are known but may not do this (403). */
export class ForbiddenError extends AppError {}
/** The thing addressed does not exist (404). */
export class NotFoundError extends AppError {}
/** The request collides with current state (409). */
export class ConflictError extends AppError {}
/** Slow down (429) - always with Retry-After. */
export class RateLimitError extends AppError {
  constructor(code: 'TOO_MANY_ATTEMPTS' | 'RATE_LIMITED', message: string, retryAfterSeconds: number) {
    super(code, message, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}
/** Temporarily unable to serve (503). */
export class UnavailableError extends AppError {}

/** Turns a zod error into our field issues. */
export function issuesFromZod(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const i of issues) {
    const base = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) out.push({ path: base ? `${base}.${k}` : k, message: 'is not a known field' });
    } else {
      out.push({ path: base || '(body)', message: i.message });
    }
  }
  return out;
}

/** Postgres unique-violation (23505) with its constraint name, through drizzle's wrapper. */
export function uniqueViolation(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const pgErr = e as { code?: string; constraint?: string; message?: string };
    if (pgErr.code === '23505') return pgErr.constraint ?? pgErr.message ?? '';
  }
  return null;
}
