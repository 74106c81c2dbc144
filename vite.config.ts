import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';
import { API_PATH_PREFIXES } from './client/src/lib/api-paths.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Where `vite dev` sends API calls: the local server on PORT, or GLINT_API_URL=http://host:port. */
const apiTarget = process.env.GLINT_API_URL || `http://127.0.0.1:${process.env.PORT || 8080}`;

/** The server serves the client from CLIENT_DIR (default dist/client): build it there. */
const outDir = process.env.CLIENT_DIR ? resolve(process.env.CLIENT_DIR) : fromRoot('./dist/client');

// Tests are configured in vitest.config.ts (which vitest prefers over this file).
export default defineConfig({
  root: fromRoot('./client'),
  plugins: [preact()],
  build: {
    outDir,
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      // One anchored pattern (`^(/auth|/users|...)(/|?|$)`) for every API path, websockets
      // included, so a client route such as `/author` would not be proxied by accident.
      [`^(${API_PATH_PREFIXES.join('|')})(/|\\?|$)`]: { target: apiTarget, ws: true },
    },
  },
});
