/** Small JSON client for API tests: returns status, headers and parsed body. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export function api(baseUrl: string) {
  return async function request<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; token?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(baseUrl + path, { method, headers, body: body as BodyInit | undefined, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
}

/** POSTs JSON (with a bearer token when given) and returns the parsed body. */
export async function postJson<T = any>(baseUrl: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return (await res.json()) as T;
}

export interface Streamer {
  token: string;
  streamId: string;
  streamKey: string;
}

/** Registers `username` (email and password derived from it) and creates a stream titled `title`. */
export async function createStreamer(baseUrl: string, username: string, title: string): Promise<Streamer> {
  const reg = await postJson(baseUrl, '/auth/register', { username, email: `${username}@example.com`, password: 'orange river stone' });
  const created = await postJson(baseUrl, '/streams', { title }, reg.accessToken);
  return { token: reg.accessToken, streamId: created.stream.id, streamKey: created.streamKey };
}
