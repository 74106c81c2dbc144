/**
 * The contract of RateLimitStore (server/rate-limit/rate-limit-store.ts), run once per
 * implementation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimitStore } from '../../server/rate-limit/rate-limit-store.ts';

export function describeRateLimitStore(name: string, make: () => Promise<RateLimitStore>): void {
  describe(`rate-limit store: ${name}`, () => {
    let store: RateLimitStore;
    let n = 0;
    const key = () => `case-${Date.now()}-${n++}`;
    beforeAll(async () => {
      store = await make();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('counts concurrent hits exactly, in one window that later hits do not extend', async () => {
      const k = key();
      const results = await Promise.all(Array.from({ length: 40 }, () => store.hit(k, 1_000)));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (const r of results) expect(r.resetInMs).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      const later = await store.hit(k, 1_000);
      expect(later.count).toBe(41);
      expect(later.resetInMs).toBeLessThanOrEqual(700);
    });

    it('starts a new window when the old one has run out', async () => {
      const k = key();
      await store.hit(k, 100);
      await store.hit(k, 100);
      await new Promise((r) => setTimeout(r, 150));
      expect((await store.hit(k, 100)).count).toBe(1);
    });

    it('takes hits back and resets', async () => {
      const k = key();
      await store.hit(k, 5_000);
      await store.hit(k, 5_000);
      await store.undo(k);
      expect((await store.hit(k, 5_000)).count).toBe(2);
      await store.reset(k);
      expect(await store.ttl(k)).toBe(0);
      expect((await store.hit(k, 5_000)).count).toBe(1);
      await store.undo(key()); // nothing to take back: no error, nothing created
    });

    it('marks keys for a time, never shortening a longer mark', async () => {
      const k = key();
      expect(await store.ttl(k)).toBe(0);
      await store.mark(k, 2_000);
      expect(await store.ttl(k)).toBeGreaterThan(1_500);
      await store.mark(k, 100);
      expect(await store.ttl(k)).toBeGreaterThan(1_500);
      const short = key();
      await store.mark(short, 100);
      await new Promise((r) => setTimeout(r, 150));
      expect(await store.ttl(short)).toBe(0);
    });
  });
}
