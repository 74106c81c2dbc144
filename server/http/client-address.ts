/**
 * Who sent a request. Without a proxy: the socket's peer. Behind a proxy we run
 * (TRUST_PROXY), X-Forwarded-For lists the hops, each proxy appending the address it got
 * the request from; only the right-most entries were written by our proxies, anything left
 * of them by the client itself. So the client is the right-most address that is not one of
 * our proxies (TRUSTED_PROXIES; the immediate peer is always trusted), never the left-most,
 * which anyone can forge.
 */
import { BlockList, isIP } from 'node:net';

export class ClientAddress {
  private readonly proxies = new BlockList();

  constructor(
    private readonly trustProxy: boolean,
    trustedProxies: readonly string[],
  ) {
    for (const entry of trustedProxies) addToBlockList(this.proxies, entry);
  }

  /** The client's address, from the socket peer and the X-Forwarded-For header. */
  resolve(peer: string, forwardedFor: string | undefined): string {
    if (!this.trustProxy || !forwardedFor) return peer;
    const hops = forwardedFor.split(',').map((h) => normalize(h.trim())).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      const family = isIP(hop);
      if (family === 0) return peer; // garbage written by someone: do not guess
      if (!this.proxies.check(hop, family === 4 ? 'ipv4' : 'ipv6')) return hop;
    }
    return hops[0] ?? peer;
  }
}

/** `[::1]:1234`, `1.2.3.4:5678` and `::ffff:1.2.3.4` written by proxies, as plain addresses. */
function normalize(hop: string): string {
  let h = hop;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (bracketed) h = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(h)) h = h.slice(0, h.lastIndexOf(':'));
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(h)) h = h.slice(7);
  return h;
}

/** `10.0.0.0/8`, `fd00::/8` or a single address; throws on anything else (config validation). */
export function addToBlockList(list: BlockList, entry: string): void {
  const [address, prefix] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return list.addAddress(address!, type);
  const bits = Number(prefix);
  if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) throw new Error(`"${entry}" has a bad prefix length`);
  list.addSubnet(address!, bits, type);
}

/** For the config schema: every entry must parse. */
export function isAddressOrRange(entry: string): boolean {
  try {
    addToBlockList(new BlockList(), entry);
    return true;
  } catch {
    return false;
  }
}

/**
 * The key per-address limits count under: an IPv4 address, or the /64 an IPv6 address is
 * in (one subscriber usually gets a whole /64, so counting single v6 addresses would let
 * one client rotate through billions of them).
 */
export function addressKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
