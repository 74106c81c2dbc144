/**
 * Requests between nodes are signed with the cluster secret: HMAC-SHA256 over the method,
 * the path with its query, the sending node's id, the time and a hash of the body. A route
 * behind `verify` answers 401 without a valid signature (user tokens and stream keys count
 * for nothing there), and 403 when the signer is not a live node of the directory.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { CLUSTER_HEADERS } from '../../protocol/cluster.ts';
import type { NodeId } from '../../protocol/ids.ts';
import { AuthError, ForbiddenError } from '../errors.ts';
import type { RequestContext } from '../http/http-router.ts';

/** A signature older or newer than this (clock skew between nodes included) is refused. */
const MAX_SKEW_MS = 30_000;

/** Names a secret without revealing it: nodes compare these to notice a mismatch. */
export function secretId(secret: string): string {
  return createHmac('sha256', secret).update('glint-cluster-secret-id').digest('base64url').slice(0, 12);
}

function signature(secret: string, method: string, pathAndQuery: string, node: string, time: string, body: Uint8Array): Buffer {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret).update(`${method}\n${pathAndQuery}\n${node}\n${time}\n${bodyHash}`).digest();
}

/** The headers that sign one request from `node`. */
export function signRequest(secret: string, node: NodeId, method: string, pathAndQuery: string, body: Uint8Array = new Uint8Array(), now = Date.now()): Record<string, string> {
  const time = String(now);
  return {
    [CLUSTER_HEADERS.node]: node,
    [CLUSTER_HEADERS.time]: time,
    [CLUSTER_HEADERS.signature]: signature(secret, method, pathAndQuery, node, time, body).toString('base64url'),
  };
}

export class ClusterAuth {
  constructor(
    private readonly secret: string,
    /** True when the id is a live node of the directory (throws when the directory is away). */
    private readonly isKnownNode: (id: NodeId) => Promise<boolean>,
  ) {}

  /** The id of the node that signed this request; throws 401/403 (or 503 when the directory is away). */
  async verify(ctx: RequestContext): Promise<NodeId> {
    const node = ctx.headers[CLUSTER_HEADERS.node];
    const time = ctx.headers[CLUSTER_HEADERS.time];
    const sig = ctx.headers[CLUSTER_HEADERS.signature];
    if (!node || !time || !sig) {
      throw new AuthError('CLUSTER_AUTH_REQUIRED', 'This route is for the nodes of the cluster: the request must be signed with the cluster secret.');
    }
    const at = Number(time);
    const query = ctx.query.toString();
    const expected = signature(this.secret, ctx.method, query ? `${ctx.path}?${query}` : ctx.path, node, time, ctx.body);
    const given = Buffer.from(sig, 'base64url');
    if (!Number.isFinite(at) || Math.abs(Date.now() - at) > MAX_SKEW_MS || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AuthError('CLUSTER_AUTH_INVALID', 'The request\'s cluster signature is wrong or stale (a different CLUSTER_SECRET, or clocks more than 30 s apart).');
    }
    if (!(await this.isKnownNode(node as NodeId))) {
      throw new ForbiddenError('CLUSTER_NODE_UNKNOWN', `Node "${node.slice(0, 63)}" is not a live node of this cluster's directory.`);
    }
    return node as NodeId;
  }
}
