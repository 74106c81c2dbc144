/**
 * One DTLS certificate shared by every peer of every worker (generated once into the data
 * folder with openssl). Without it libdatachannel makes a new key pair per connection,
 * which costs time on every join. If openssl is missing we fall back to that default.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';

export function ensureDtlsCertificate(dataDir: string, log: Logger): { certificatePemFile: string; keyPemFile: string } {
  const dir = join(dataDir, 'dtls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (existsSync(cert) && existsSync(key)) return { certificatePemFile: cert, keyPemFile: key };
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '3650', '-subj', '/CN=glint-sfu'], { stdio: 'ignore' });
    return { certificatePemFile: cert, keyPemFile: key };
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'openssl not available: each WebRTC peer will generate its own DTLS certificate');
    return { certificatePemFile: '', keyPemFile: '' };
  }
}
