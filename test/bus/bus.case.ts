/**
 * The Bus contract (server/bus/bus.ts), run against every implementation. `makeNodes(n)`
 * returns n buses that behave as separate nodes of one cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../server/bus/bus.ts';

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await settle(5);
  }
}

export function describeBus(name: string, makeNodes: (n: number) => Promise<Bus[]>): void {
  describe(`${name} bus contract`, () => {
    let nodes: Bus[] = [];
    afterEach(async () => {
      await Promise.all(nodes.map((b) => b.close()));
      nodes = [];
    });

    it('delivers each message once to every subscriber on every node, the publisher included', async () => {
      nodes = await makeNodes(2);
      const [a, b] = nodes as [Bus, Bus];
      const got: string[] = [];
      await a.subscribe('debug.echo', 'k1', (p, key) => got.push(`a1:${key}:${p.n}`));
      await a.subscribe('debug.echo', 'k1', (p) => got.push(`a2:${p.n}`));
      await b.subscribe('debug.echo', 'k1', (p) => got.push(`b:${p.n}`));
      await b.subscribe('debug.echo', 'other', (p) => got.push(`wrong:${p.n}`));
      await a.publish('debug.echo', 'k1', { n: 1, text: 'hi', from: 'a' });
      await until(() => got.length >= 3);
      await settle();
      expect(got.sort()).toEqual(['a1:k1:1', 'a2:1', 'b:1']);
    });

    it('keeps publish order per publisher and key', async () => {
      nodes = await makeNodes(2);
      const [a, b] = nodes as [Bus, Bus];
      const seen: number[] = [];
      await b.subscribe('debug.echo', 'ordered', (p) => seen.push(p.n));
      await Promise.all(Array.from({ length: 500 }, (_, n) => a.publish('debug.echo', 'ordered', { n, text: '', from: 'a' })));
      await until(() => seen.length === 500);
      expect(seen).toEqual(Array.from({ length: 500 }, (_, n) => n));
    });

    it('delivers every key to a wildcard subscriber, with the key', async () => {
      nodes = await makeNodes(2);
      const [a, b] = nodes as [Bus, Bus];
      const got: string[] = [];
      await b.subscribe('debug.echo', '*', (p, key) => got.push(`${key}=${p.n}`));
      await a.publish('debug.echo', 'x', { n: 1, text: '', from: 'a' });
      await a.publish('debug.echo', 'stream:with:colons', { n: 2, text: '', from: 'a' });
      await until(() => got.length === 2);
      expect(got).toEqual(['x=1', 'stream:with:colons=2']);
      await expect(a.publish('debug.echo', '*', { n: 3, text: '', from: 'a' })).rejects.toThrow();
    });

    it("hands subscribers a frozen JSON copy, never the publisher's object", async () => {
      nodes = await makeNodes(1);
      const [a] = nodes as [Bus];
      const payload = { n: 7, text: 'ünïcødé ✓ "quoted"', from: 'a' };
      const copies: unknown[] = [];
      await a.subscribe('debug.echo', 'copy', (p) => copies.push(p));
      await a.subscribe('debug.echo', 'copy', (p) => copies.push(p));
      await a.publish('debug.echo', 'copy', payload);
      payload.n = 8;
      await until(() => copies.length === 2);
      expect(copies[0]).toEqual({ n: 7, text: 'ünïcødé ✓ "quoted"', from: 'a' });
      expect(copies[0]).not.toBe(payload);
      expect(Object.isFrozen(copies[0])).toBe(true);
    });

    it('stops delivering after unsubscribe, and a throwing handler does not hurt the others', async () => {
      nodes = await makeNodes(1);
      const [a] = nodes as [Bus];
      const got: number[] = [];
      const sub = await a.subscribe('debug.echo', 'u', (p) => got.push(p.n));
      await a.subscribe('debug.echo', 'u', () => {
        throw new Error('handler bug');
      });
      await a.publish('debug.echo', 'u', { n: 1, text: '', from: 'a' });
      await until(() => got.length === 1);
      await sub.unsubscribe();
      await sub.unsubscribe();
      await a.publish('debug.echo', 'u', { n: 2, text: '', from: 'a' });
      await settle(100);
      expect(got).toEqual([1]);
    });

    it('closes idempotently and refuses to publish afterwards', async () => {
      nodes = await makeNodes(2);
      const [a, b] = nodes as [Bus, Bus];
      const got: number[] = [];
      await b.subscribe('debug.echo', 'c', (p) => got.push(p.n));
      await a.close();
      await a.close();
      await expect(a.publish('debug.echo', 'c', { n: 1, text: '', from: 'a' })).rejects.toThrow();
      await b.publish('debug.echo', 'c', { n: 2, text: '', from: 'b' });
      await until(() => got.length === 1);
      expect(got).toEqual([2]);
    });
  });
}
