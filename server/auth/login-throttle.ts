/**
 * Limits on guessing passwords and mass sign-ups, counted in the RateLimitStore (Redis on a
 * cluster, so every node enforces one limit). An attempt is counted before its password is
 * hashed, so a burst of concurrent guesses cannot all slip past a check that only counts
 * finished ones. The limits, as identity providers apply them:
 * - per account *and* address: a few failures, then that address waits out the window. A
 *   stranger guessing from elsewhere does not lock the owner out;
 * - per address, over all accounts: password spraying;
 * - per account over a longer window: past a threshold each further failure (from anyone)
 *   makes the account wait twice as long, up to a cap, except from addresses that signed
 *   in to it successfully before (the owner at home is not held up by a botnet);
 * - sign-ups per address.
 * Accounts are keyed by id, not by how the login was spelt (username or email, any case).
 */
import { addressKey } from '../http/client-address.ts';
import { RateLimitError, UnavailableError } from '../errors.ts';
import type { RateLimitStore } from '../rate-limit/rate-limit-store.ts';

export interface LoginThrottleOptions {
  store: RateLimitStore;
  /** Failed logins of one account from one address per window. */
  maxFailuresPerAccountAndIp: number;
  /** Login attempts from one address per window (successful ones are given back). */
  maxFailuresPerIp: number;
  windowMs: number;
  /** Failures of one account (from anywhere) within `accountWindowMs` before backoff. */
  accountBackoffAfter: number;
  accountWindowMs: number;
  registrationsPerIp: number;
  registrationWindowMs: number;
}

/** The longest an account waits between attempts once its backoff has grown. */
export const MAX_ACCOUNT_BACKOFF_MS = 15 * 60_000;
/** How long an address that signed in stays familiar to the account. */
const KNOWN_ADDRESS_MS = 30 * 24 * 3600_000;

export interface LoginAttempt {
  account: string;
  address: string;
}

const TOO_MANY = 'Too many failed logins. Try again later.';

export class LoginThrottle {
  constructor(private readonly o: LoginThrottleOptions) {}

  /**
   * Counts an attempt at `account` (a user id, or the login as typed when no account has
   * it) from `ip`, before its password is checked. Throws 429 when a limit says wait.
   */
  async begin(account: string, ip: string): Promise<LoginAttempt> {
    const a: LoginAttempt = { account, address: addressKey(ip) };
    const s = this.o.store;
    await this.guard(async () => {
      const known = (await s.ttl(`known:${a.account}:${a.address}`)) > 0;
      const backoff = known ? 0 : await s.ttl(`backoff:${a.account}`);
      if (backoff > 0) throw new RateLimitError('TOO_MANY_ATTEMPTS', TOO_MANY, backoff / 1000);
      const [pair, addr] = await Promise.all([s.hit(`pair:${a.account}:${a.address}`, this.o.windowMs), s.hit(`ip:${a.address}`, this.o.windowMs)]);
      if (pair.count > this.o.maxFailuresPerAccountAndIp) throw new RateLimitError('TOO_MANY_ATTEMPTS', TOO_MANY, pair.resetInMs / 1000);
      if (addr.count > this.o.maxFailuresPerIp) throw new RateLimitError('TOO_MANY_ATTEMPTS', TOO_MANY, addr.resetInMs / 1000);
    });
    return a;
  }

  /** The password was right: this address's slate is clean and it is familiar from now on. */
  async succeeded(a: LoginAttempt): Promise<void> {
    const s = this.o.store;
    await this.guard(() => Promise.all([s.reset(`pair:${a.account}:${a.address}`), s.undo(`ip:${a.address}`), s.mark(`known:${a.account}:${a.address}`, KNOWN_ADDRESS_MS)]));
  }

  /** The password was wrong: counts toward the account's backoff. */
  async failed(a: LoginAttempt): Promise<void> {
    await this.guard(async () => {
      const { count } = await this.o.store.hit(`account:${a.account}`, this.o.accountWindowMs);
      const over = count - this.o.accountBackoffAfter;
      if (over > 0) await this.o.store.mark(`backoff:${a.account}`, Math.min(MAX_ACCOUNT_BACKOFF_MS, 1000 * 2 ** Math.min(over - 1, 20)));
    });
  }

  /** Counts a sign-up from `ip`; throws 429 beyond the limit. */
  async registration(ip: string): Promise<void> {
    await this.guard(async () => {
      const r = await this.o.store.hit(`register:${addressKey(ip)}`, this.o.registrationWindowMs);
      if (r.count > this.o.registrationsPerIp) throw new RateLimitError('RATE_LIMITED', 'Too many new accounts from your address; try again later.', r.resetInMs / 1000);
    });
  }

  /** A store that cannot be reached means no limit can be checked: refuse for now, do not guess. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof RateLimitError) throw err;
      throw new UnavailableError('SERVICE_UNAVAILABLE', 'Signing in is unavailable for a moment; try again shortly.', { cause: err, headers: { 'Retry-After': '2' } });
    }
  }
}
