import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { StreamKeys } from './stream-keys.ts';

it('encrypts keys so they decrypt only with the same key and owner', () => {
  const keys = new StreamKeys(randomBytes(32));
  const k = keys.generate();
  expect(k).toMatch(/^glint_sk_[A-Za-z0-9_-]{32}$/);
  const c1 = keys.encrypt(k, 'user:1');
  expect(c1).not.toContain(k.slice(9));
  expect(keys.encrypt(k, 'user:1')).not.toBe(c1);
  expect(keys.decrypt(c1, 'user:1')).toBe(k);
  expect(() => keys.decrypt(c1, 'user:2')).toThrow();
  expect(() => new StreamKeys(randomBytes(32)).decrypt(c1, 'user:1')).toThrow();
  expect(keys.hash(k)).toMatch(/^[0-9a-f]{64}$/);
  expect(() => new StreamKeys(randomBytes(16))).toThrow();
});
