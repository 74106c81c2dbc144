/**
 * A cap on how many long-lived things (chat sockets, event streams, unconnected WebRTC
 * sessions) one client address may hold open on this node at once. Keyed by addressKey, so
 * an IPv6 client cannot dodge it by rotating addresses within its /64.
 */
import { addressKey } from './client-address.ts';

export class AddressSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a slot for `ip`: a release function (idempotent), or undefined when it has none left. */
  acquire(ip: string): (() => void) | undefined {
    const key = addressKey(ip);
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) return undefined;
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  count(ip: string): number {
    return this.held.get(addressKey(ip)) ?? 0;
  }
}
