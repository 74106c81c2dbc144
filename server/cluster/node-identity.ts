/**
 * Who this node is in the cluster: its id, and the internal URL other nodes reach it on.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { NodeId } from '../../protocol/ids.ts';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * NODE_ID, else the hostname plus a random suffix, generated once into `<dataDir>/node-id`:
 * stable for the process and across its restarts on the same data folder (recordings name
 * the node whose disk holds their files).
 */
export function resolveNodeId(configured: string, dataDir: string): NodeId {
  if (configured) return configured as NodeId;
  const file = join(dataDir, 'node-id');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (NODE_ID.test(stored)) return stored as NodeId;
  }
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 50) || 'glint';
  const id = `${host}-${randomBytes(3).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id as NodeId;
}

/**
 * NODE_URL, else `http://<host>:<port>`; a wildcard bind address names the machine's first
 * non-loopback IPv4 address (what another machine can reach), or its hostname.
 */
export function resolveNodeUrl(configured: string, host: string, port: number): string {
  if (configured) return configured;
  let address = host;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    address = firstExternalIPv4() ?? hostname();
  }
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function firstExternalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
