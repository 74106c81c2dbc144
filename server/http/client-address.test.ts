import { describe, expect, it } from 'vitest';
import { ClientAddress, isAddressOrRange } from './client-address.ts';

describe('client address', () => {
  it('is the socket peer unless a proxy is trusted', () => {
    const a = new ClientAddress(false, []);
    expect(a.resolve('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  it('is the right-most X-Forwarded-For hop behind one trusted proxy, whatever the client wrote left of it', () => {
    const a = new ClientAddress(true, []);
    expect(a.resolve('10.0.0.2', '198.51.100.7')).toBe('198.51.100.7');
    // The client forged the first entry; our proxy appended the address it really saw.
    expect(a.resolve('10.0.0.2', '1.1.1.1, 198.51.100.7')).toBe('198.51.100.7');
    expect(a.resolve('10.0.0.2', undefined)).toBe('10.0.0.2');
    expect(a.resolve('10.0.0.2', 'not-an-ip')).toBe('10.0.0.2');
  });

  it('skips the hops of further trusted proxies (CDN ranges), by address or CIDR, v4 and v6', () => {
    const a = new ClientAddress(true, ['192.0.2.0/24', '2001:db8::/32', '10.1.2.3']);
    expect(a.resolve('10.0.0.2', '1.1.1.1, 198.51.100.7, 192.0.2.44')).toBe('198.51.100.7');
    expect(a.resolve('10.0.0.2', '2001:db9::5, 2001:db8::1, 10.1.2.3')).toBe('2001:db9::5');
    expect(a.resolve('10.0.0.2', '[2001:db9::5]:443, 198.51.100.8:1234')).toBe('198.51.100.8');
    expect(a.resolve('10.0.0.2', '::ffff:198.51.100.9')).toBe('198.51.100.9');
    // Every hop is ours: the left-most is the best we have.
    expect(a.resolve('10.0.0.2', '192.0.2.1, 192.0.2.2')).toBe('192.0.2.1');
  });

  it('validates configured ranges', () => {
    expect(isAddressOrRange('10.0.0.0/8')).toBe(true);
    expect(isAddressOrRange('::1')).toBe(true);
    expect(isAddressOrRange('10.0.0.0/33')).toBe(false);
    expect(isAddressOrRange('example.com')).toBe(false);
  });
});

describe('address key', () => {
  it('is the IPv4 address, or the /64 of an IPv6 address', async () => {
    const { addressKey } = await import('./client-address.ts');
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
