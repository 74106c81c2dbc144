/**
 * Server secrets (JWT signing key, stream-key encryption key, cluster secret). Taken from
 * config when given; otherwise generated once into <dataDir>/secrets.json (mode 0600) so
 * tokens and stream keys survive restarts. Every node of a cluster must be given the same
 * values.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export interface Secrets {
  /** HMAC key for access tokens. */
  jwtKey: Uint8Array;
  /** 32-byte AES-256-GCM key for stream keys at rest. */
  streamKeyEncryptionKey: Buffer;
  /** Signs requests between nodes. */
  clusterSecret: string;
  /** The cluster secret was generated here (fine for one node, never for two). */
  clusterSecretGenerated: boolean;
}

interface SecretsFile {
  jwtSecret: string;
  streamKeyEncryptionKey: string;
  /** Added later: files written before it get one on their next start. */
  clusterSecret?: string;
}

export interface SecretsOptions {
  dataDir: string;
  jwtSecret: string;
  streamKeyEncryptionKey: string;
  clusterSecret: string;
}

function decodeEncryptionKey(value: string, where: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new Error(`${where} must be 32 bytes, base64-encoded (got ${key.length} bytes)`);
  return key;
}

export function loadSecrets(options: SecretsOptions): Secrets {
  let stored: SecretsFile | undefined;
  if (!options.jwtSecret || !options.streamKeyEncryptionKey || !options.clusterSecret) {
    const file = join(options.dataDir, 'secrets.json');
    const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SecretsFile) : undefined;
    stored = existing ?? {
      jwtSecret: randomBytes(48).toString('base64url'),
      streamKeyEncryptionKey: randomBytes(32).toString('base64'),
    };
    const added = !stored.clusterSecret;
    if (added) stored.clusterSecret = randomBytes(32).toString('base64url');
    if (!existing || added) {
      mkdirSync(options.dataDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, file);
    }
  }
  const jwtSecret = options.jwtSecret || stored!.jwtSecret;
  if (jwtSecret.length < 32) throw new Error('auth.jwtSecret (JWT_SECRET) must be at least 32 characters');
  return {
    jwtKey: new TextEncoder().encode(jwtSecret),
    streamKeyEncryptionKey: options.streamKeyEncryptionKey
      ? decodeEncryptionKey(options.streamKeyEncryptionKey, 'streams.keyEncryptionKey (STREAM_KEY_ENCRYPTION_KEY)')
      : decodeEncryptionKey(stored!.streamKeyEncryptionKey, 'streamKeyEncryptionKey in secrets.json'),
    clusterSecret: options.clusterSecret || stored!.clusterSecret!,
    clusterSecretGenerated: !options.clusterSecret,
  };
}
