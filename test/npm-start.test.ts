/**
 * The README's first command, as a newcomer runs it: `npm start` builds the client and
 * serves the app with embedded defaults (PGlite, local bus, generated secrets), and stops
 * cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freeTcpPort } from './helpers/ports.ts';

it('npm start builds the client and serves it on PGlite with no services, then drains on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glint-start-'));
  const port = await freeTcpPort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), CLIENT_DIR: join(dir, 'client') };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'GLINT_CONFIG', 'JWT_SECRET', 'STREAM_KEY_ENCRYPTION_KEY']) delete env[k];
  const child = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 240 && !ready && child.exitCode === null; i++) {
      ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    expect(ready, output).toBe(true);
    const page = await fetch(`${base}/`);
    const html = await page.text();
    expect(html).toContain('<div id="app">');
    expect(html).toMatch(/src="\/assets\/index-[\w-]+\.js"/);
    expect(existsSync(join(dir, 'data', 'pglite'))).toBe(true);
    expect(existsSync(join(dir, 'data', 'secrets.json'))).toBe(true);
    expect(output).toContain('"database":"pglite","bus":"local"');
    // The data folder is private: 0700, and nothing below it open to group or others.
    expect((statSync(join(dir, 'data')).mode & 0o777).toString(8)).toBe('700');
    const open: string[] = [];
    let files = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        files++;
        if (statSync(p).mode & 0o077) open.push(`${p} ${(statSync(p).mode & 0o777).toString(8)}`);
        if (e.isDirectory()) walk(p);
      }
    };
    walk(join(dir, 'data'));
    expect(files).toBeGreaterThan(500);
    expect(existsSync(join(dir, 'data', 'media'))).toBe(true);
    expect(open.slice(0, 5), `${open.length} of ${files} entries open to group or others`).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
