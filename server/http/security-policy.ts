/**
 * The Content-Security-Policy of the web client's pages. Scripts, styles and media come
 * from our own origin only; `connect-src` (fetch, EventSource, WebSocket) names our origin
 * and its WebSocket form, and PUBLIC_URL when one is set — not every ws:/wss: host, so an
 * injected script could not send what it reads anywhere else.
 */
export function contentSecurityPolicy(publicUrl: string): (requestOrigin: string | undefined) => string {
  const fixed = ["'self'", ...withWebSocket(publicUrl)];
  return (requestOrigin) => {
    const connect = [...new Set([...fixed, ...withWebSocket(requestOrigin)])];
    return [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "media-src 'self' blob: mediastream:",
      `connect-src ${connect.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
    ].join('; ');
  };
}

/** `https://host` -> [`https://host`, `wss://host`] (browsers before CSP 3 do not match ws to 'self'). */
function withWebSocket(origin: string | undefined): string[] {
  if (!origin) return [];
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return [];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [];
  return [url.origin, `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`];
}

/** One year, the value HSTS preload lists ask for; sent only on requests that came over TLS. */
export const HSTS = 'max-age=31536000; includeSubDomains';
