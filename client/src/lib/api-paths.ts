import { API_PATH_PREFIXES } from '../../../protocol/paths.ts';

export { API_PATH_PREFIXES };

/** True when `path` belongs to the server (e.g. `/streams/1`, `/healthz`), not to the client router. */
export function isApiPath(path: string): boolean {
  return API_PATH_PREFIXES.some(
    (prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`),
  );
}
