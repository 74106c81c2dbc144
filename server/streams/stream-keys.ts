/**
 * Stream keys: a random secret an encoder presents as `Authorization: Bearer <key>` on
 * WHIP. At rest only a SHA-256 hash (for lookup) and an AES-256-GCM ciphertext (so the
 * owner can see it again) are stored; the clear key exists only in responses to its owner.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const STREAM_KEY_PREFIX = 'glint_sk_';

export class StreamKeys {
  constructor(private readonly encryptionKey: Buffer) {
    if (encryptionKey.length !== 32) throw new Error('stream key encryption key must be 32 bytes');
  }

  generate(): string {
    return STREAM_KEY_PREFIX + randomBytes(24).toString('base64url');
  }

  hash(key: string): string {
    return createHash('sha256').update(key).digest('hex');
  }

  /** iv(12) | tag(16) | ciphertext, base64. `aad` binds the ciphertext to its stream. */
  encrypt(key: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([cipher.update(key, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
  }

  decrypt(stored: string, aad: string): string {
    const raw = Buffer.from(stored, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
