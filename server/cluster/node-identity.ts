/**
 * Who this node is in the cluster: its id, and the internal URL other nodes reach it on.
 */
import { randomBytes } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { NodeId } from '../../protocol/ids.ts';

/** NODE_ID, else the hostname plus a random suffix (stable for the process, new on restart). */
export function resolveNodeId(configured: string): NodeId {
  if (configured) return configured as NodeId;
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 50) || 'glint';
  return `${host}-${randomBytes(3).toString('hex')}` as NodeId;
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
