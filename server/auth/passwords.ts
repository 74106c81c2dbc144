/**
 * Password hashing with scrypt (node:crypto, libuv thread pool) and the password policy.
 * Stored format: scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>, so parameters can be raised
 * later without invalidating existing hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const actual = await scrypt(password, salt, expected.length, { N: n, r, p, maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;
/** Spends the same time as a real check, so unknown logins are not told apart by timing. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('glint-dummy-password-for-timing');
  await verifyPassword(password, await dummyHash);
}

export const MIN_PASSWORD_LENGTH = 10;

// The most common passwords of at least MIN_PASSWORD_LENGTH characters in public breach lists.
const COMMON = new Set([
  '1234567890', '0987654321', '1234567891', '1111111111', '0000000000', 'qwertyuiop', 'password12',
  'password123', 'password1234', 'passw0rd123', 'iloveyou123', 'qwerty1234', 'qwerty12345', 'qwerty123456',
  '1q2w3e4r5t', '1q2w3e4r5t6y', 'q1w2e3r4t5', 'asdfghjkl1', 'zaq12wsxcde', '123456789a', 'a123456789',
  '12345678910', '123123123123', 'abcdefghij', 'abcd123456', 'football123', 'baseball123', 'welcome123',
  'letmein123', 'monkey1234', 'dragon1234', 'sunshine123', 'princess123', 'trustno1234', 'superman123',
  'administrator', 'changeme123', 'qwertyuiop1', 'passwordpassword', 'glintglint', 'streaming123',
]);

/** Returns why the password is weak, or null when it is acceptable (NIST 800-63B style: length + blocklist). */
export function passwordWeakness(password: string, username: string, email: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'is one of the most common passwords';
  if (new Set(lower).size < 4) return 'uses too few different characters';
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (username.length >= 3 && lower.includes(username.toLowerCase())) return 'must not contain the username';
  if (local.length >= 3 && lower.includes(local)) return 'must not contain the email address';
  return null;
}
