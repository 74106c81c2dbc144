import type { ErrorBody, ErrorCode, FieldIssue } from '../../../protocol/errors.ts';

/** Failures that happen before or instead of an API answer, so have no server code. */
export type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE';

/** An error answer from the API (`{ error: { code, message, details? } }`) or a failure to get one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode | ClientErrorCode;
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly details: FieldIssue[];
  readonly requestId: string | undefined;
  /** Seconds from `Retry-After`, when the server sent one. */
  readonly retryAfterSeconds: number | undefined;
  /** WEBRTC_FULL: the stream's LL-HLS playlist to watch instead (null when it is not recorded). */
  readonly hls: { url: string } | null | undefined;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    opts: { status?: number; details?: FieldIssue[]; requestId?: string; retryAfterSeconds?: number; hls?: { url: string } | null; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? 0;
    this.details = opts.details ?? [];
    this.requestId = opts.requestId;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.hls = opts.hls;
  }

  /** Builds the error from a parsed error body, or a generic one when the body is not ours. */
  static fromResponse(status: number, body: unknown, headers: Pick<Headers, 'get'>): ApiError {
    const retryAfter = Number(headers.get('Retry-After'));
    const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
    if (isErrorBody(body)) {
      const { code, message, details, requestId, hls } = body.error;
      return new ApiError(code, message, {
        status,
        details: details ?? [],
        requestId: requestId ?? headers.get('X-Request-Id') ?? undefined,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        ...(hls === undefined ? {} : { hls: hls && typeof hls.url === 'string' ? { url: hls.url } : null }),
      });
    }
    return new ApiError('BAD_RESPONSE', `The server answered with an unexpected response (HTTP ${status}).`, {
      status,
      requestId: headers.get('X-Request-Id') ?? undefined,
    });
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** Words for a person: the server's message, plus when to retry if it said so. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const retry = err.retryAfterSeconds === undefined ? '' : ` Try again in ${formatSeconds(err.retryAfterSeconds)}.`;
    return `${err.message}${retry}`;
  }
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  return `${Math.ceil(seconds / 60)} min`;
}
