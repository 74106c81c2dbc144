import { UnavailableError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { HttpRouter } from './http-router.ts';

export interface HealthDeps {
  metrics: Metrics;
  /** Throws when not ready (draining, database down). */
  checkReady: () => Promise<void>;
}

export function registerHealthRoutes(router: HttpRouter, deps: HealthDeps): void {
  router.get('/healthz', () => ({ json: { status: 'ok' }, headers: { 'Cache-Control': 'no-store' } }));
  router.get('/readyz', async () => {
    try {
      await deps.checkReady();
    } catch (err) {
      throw new UnavailableError('SERVICE_UNAVAILABLE', `Not ready: ${(err as Error).message}`, { headers: { 'Retry-After': '1' } });
    }
    return { json: { status: 'ready' }, headers: { 'Cache-Control': 'no-store' } };
  });
  router.get('/metrics', async () => ({
    body: await deps.metrics.registry.metrics(),
    headers: { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' },
  }));
}
