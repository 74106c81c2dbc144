/**
 * Shared pieces of the browser benchmarks: a Glint server with one account and stream, and
 * Debian Chromium on loopback.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../test/helpers/chromium.ts';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../../test/helpers/server.ts';
import { uniquePrefix } from '../../test/helpers/services.ts';

export interface BenchSetup {
  server: TestServer;
  /** Further nodes of the server's cluster (`nodes` > 1): sharing PostgreSQL and Redis with it. */
  others: TestServer[];
  browser: Browser;
  streamId: string;
  streamKey: string;
  close(): Promise<void>;
}

export async function setupBench(label: string, options: { nodes?: number } = {}): Promise<BenchSetup> {
  const nodes = options.nodes ?? 1;
  const cluster = nodes > 1
    ? { redis: { keyPrefix: uniquePrefix(label) }, auth: { jwtSecret: randomBytes(32).toString('base64url') }, streams: { keyEncryptionKey: randomBytes(32).toString('base64') }, cluster: { secret: randomBytes(32).toString('base64url') } }
    : {};
  const server = await startTestServer({ ...(nodes > 1 ? { db: 'postgres' as const, redis: true } : {}), config: { log: { level: 'warn' }, ...cluster } });
  const others: TestServer[] = [];
  for (let i = 1; i < nodes; i++) others.push(await startTestServer({ databaseUrl: server.databaseUrl, redis: true, config: { log: { level: 'warn' }, ...cluster } }));
  const api = async (method: string, path: string, body?: unknown, token?: string) =>
    (await fetch(server.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined })).json();
  const reg = await api('POST', '/auth/register', { username: `bench_${label}`, email: `${label}@bench.example`, password: 'benchmarks print figures' });
  const s = await api('POST', '/streams', { title: label }, reg.accessToken);
  const browser = await launchChromium({ unattended: true });
  return {
    server, others, browser, streamId: s.stream.id, streamKey: s.streamKey,
    async close() {
      await browser.close();
      for (const o of others) await o.stop();
      await server.stop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(s, 0.5).toFixed(1)} ms, p95 ${percentile(s, 0.95).toFixed(1)} ms (n=${s.length}, min ${s[0]?.toFixed(1)}, max ${s.at(-1)?.toFixed(1)})`;
}
