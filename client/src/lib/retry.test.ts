import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { backoffMs, isRetryable, retryDelayMs } from './retry.ts';

describe('backoff', () => {
  it('doubles from 1 s and stays at 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((n) => backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it('follows Retry-After when the server sent one', () => {
    const notLive = new ApiError('STREAM_NOT_LIVE', 'not live', { status: 409, retryAfterSeconds: 5 });
    expect(retryDelayMs(notLive, 0)).toBe(5000);
    expect(retryDelayMs(notLive, 7)).toBe(5000);
    expect(retryDelayMs(new ApiError('NETWORK_ERROR', 'down'), 2)).toBe(4000);
    expect(retryDelayMs(new ApiError('MEDIA_UNAVAILABLE', 'busy', { status: 503, retryAfterSeconds: 86_400 }), 0)).toBe(60_000);
  });
});

describe('isRetryable', () => {
  const err = (code: ConstructorParameters<typeof ApiError>[0], status: number) => new ApiError(code, code, { status });

  it('retries the network, a busy or restarting server, and a stream that is not live yet', () => {
    expect(isRetryable(err('NETWORK_ERROR', 0))).toBe(true);
    expect(isRetryable(err('MEDIA_UNAVAILABLE', 503))).toBe(true);
    expect(isRetryable(err('SERVICE_UNAVAILABLE', 503))).toBe(true);
    expect(isRetryable(err('INTERNAL', 500))).toBe(true);
    expect(isRetryable(err('STREAM_NOT_LIVE', 409))).toBe(true);
    expect(isRetryable(err('BAD_RESPONSE', 502))).toBe(true);
  });

  it('gives up on refusals another attempt cannot change', () => {
    expect(isRetryable(err('STREAM_KEY_INVALID', 401))).toBe(false);
    expect(isRetryable(err('SDP_UNSUPPORTED', 422))).toBe(false);
    expect(isRetryable(err('SDP_MALFORMED', 400))).toBe(false);
    expect(isRetryable(err('STREAM_NOT_FOUND', 404))).toBe(false);
    expect(isRetryable(new Error('setRemoteDescription failed'))).toBe(false);
  });

  it('retries "already publishing" only for a publisher that was live (its own old session)', () => {
    expect(isRetryable(err('STREAM_ALREADY_PUBLISHING', 409))).toBe(false);
    expect(isRetryable(err('STREAM_ALREADY_PUBLISHING', 409), { wasLive: true })).toBe(true);
  });
});
