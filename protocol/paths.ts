/**
 * Path prefixes the server answers itself. Client routes never start with one of these:
 * the server answers unknown paths under them with a JSON 404 and serves the web app
 * (index.html) for every other GET. The Vite dev server proxies exactly these.
 */
export const API_PATH_PREFIXES = ['/auth', '/users', '/streams', '/whip', '/whep', '/hls', '/healthz', '/readyz', '/metrics', '/api', '/internal'] as const;
