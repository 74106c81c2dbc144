import { ApiError } from './api-error.ts';

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * Where authenticated requests get their access token. The session implements it; the
 * HTTP client only knows that a TOKEN_EXPIRED answer deserves one renewal and one retry.
 */
export interface TokenSource {
  /** A usable access token, restoring or refreshing the session first when needed; null when logged out. */
  accessToken(): Promise<string | null>;
  /** Called after `failed` was refused as expired. Resolves true when a newer token is available. */
  renew(failed: string | null): Promise<boolean>;
}

export interface RequestOptions {
  body?: unknown;
  /** Send `Authorization: Bearer <access token>` (and renew it once on TOKEN_EXPIRED). */
  auth?: boolean;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
}

export interface HttpClientOptions {
  fetch: FetchFn;
  /** Prefix for every path; empty for same-origin requests. */
  baseUrl?: string;
  tokens?: TokenSource;
}

export interface HttpClient {
  request<T>(method: HttpMethod, path: string, opts?: RequestOptions): Promise<T>;
}

/** JSON over fetch: error bodies become `ApiError`s, 204 becomes `undefined`. */
export function createHttpClient({ fetch, baseUrl = '', tokens }: HttpClientOptions): HttpClient {
  async function send(method: HttpMethod, url: string, opts: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
    if (opts.signal) init.signal = opts.signal;
    try {
      return await fetch(url, init);
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError('NETWORK_ERROR', 'Could not reach the server. Check your connection and try again.', {
        cause: err,
      });
    }
  }

  async function request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = baseUrl + path + queryString(opts.query);
    const useAuth = opts.auth === true && tokens !== undefined;
    let token = useAuth ? await tokens.accessToken() : null;
    let response = await send(method, url, opts, token);
    let body = await readBody(response);

    if (useAuth && response.status === 401 && errorCode(body) === 'TOKEN_EXPIRED') {
      // One renewal, one retry: a second TOKEN_EXPIRED is reported, never looped on.
      if (await tokens.renew(token)) {
        token = await tokens.accessToken();
        response = await send(method, url, opts, token);
        body = await readBody(response);
      }
    }

    if (!response.ok) throw ApiError.fromResponse(response.status, body, response.headers);
    return body as T;
  }

  return { request };
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  if (text === '') return undefined;
  const type = response.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: { code?: unknown } }).error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}
