import { describe, expect, it } from 'vitest';
import { hashPassword, passwordWeakness, verifyPassword } from './passwords.ts';

describe('passwords', () => {
  it('hashes with a fresh salt and verifies only the right password', async () => {
    const a = await hashPassword('purple monkey dishwasher');
    const b = await hashPassword('purple monkey dishwasher');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('purple monkey dishwasher', a)).toBe(true);
    expect(await verifyPassword('purple monkey dishwasheR', a)).toBe(false);
    expect(await verifyPassword('anything', 'bcrypt$whatever')).toBe(false);
  });

  it('treats canonically equal Unicode passwords as equal', async () => {
    const h = await hashPassword('caf\u00e9 au lait 42');
    expect(await verifyPassword('cafe\u0301 au lait 42', h)).toBe(true);
  });

  it('says why a password is weak', () => {
    expect(passwordWeakness('short', 'u', 'u@x.io')).toMatch(/at least 10/);
    expect(passwordWeakness('Password123', 'u', 'u@x.io')).toMatch(/common/);
    expect(passwordWeakness('abababababab', 'u', 'u@x.io')).toMatch(/different characters/);
    expect(passwordWeakness('i am marvin the robot', 'Marvin', 'x@y.io')).toMatch(/username/);
    expect(passwordWeakness('hello zaphod beeblebrox', 'user', 'zaphod@y.io')).toMatch(/email/);
    expect(passwordWeakness('tea with milk, no sugar', 'user', 'u@y.io')).toBeNull();
  });
});
