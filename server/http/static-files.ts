/**
 * The built web client, loaded into memory at start-up (a few hundred KB) and served with
 * an SPA fallback: any path that is not a file gets index.html. Lookups are by exact key in
 * a map, so no request path can reach a file outside the client folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface StaticFile {
  body: Buffer;
  headers: Record<string, string>;
  html: boolean;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Glint</title>
<body style="font-family:system-ui;background:#111;color:#eee;padding:2rem">
<h1>Glint is running</h1><p>The web client has not been built. Run <code>npm run build</code>
(or use <code>npm start</code>, which builds it) and reload.</p><p>The API answers at this address; see docs/api.md.</p></body>`;

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();
  private readonly index: StaticFile;

  constructor(dir: string) {
    if (existsSync(dir)) this.load(dir, dir);
    this.index = this.files.get('/index.html') ?? {
      body: Buffer.from(NOT_BUILT),
      headers: { 'Content-Type': TYPES['.html']!, 'Cache-Control': 'no-cache' },
      html: true,
    };
  }

  get built(): boolean {
    return this.files.has('/index.html');
  }

  lookup(path: string): StaticFile {
    return this.files.get(path) ?? this.index;
  }

  private load(root: string, dir: string): void {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        this.load(root, full);
        continue;
      }
      const key = '/' + relative(root, full).split(sep).join('/');
      const body = readFileSync(full);
      const ext = extname(name).toLowerCase();
      // Vite puts content-hashed names under /assets/: cache them forever.
      const immutable = key.startsWith('/assets/');
      this.files.set(key, {
        body,
        html: ext === '.html',
        headers: {
          'Content-Type': TYPES[ext] ?? 'application/octet-stream',
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          ETag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
        },
      });
    }
  }
}
