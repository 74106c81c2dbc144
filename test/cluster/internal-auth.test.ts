/**
 * Routes between nodes open only for a live node of the cluster that signs with the cluster
 * secret: no signature, a user's access token, a stream key, a wrong secret, a stale time or
 * a node the directory does not list are all refused, each with its own code. A second node
 * without CLUSTER_SECRET refuses to join a cluster that has nodes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NodeId } from '../../protocol/ids.ts';
import { signRequest } from '../../server/cluster/cluster-auth.ts';
import { createStreamer, type Streamer } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { uniquePrefix } from '../helpers/services.ts';

const secret = randomBytes(32).toString('base64url');
const keyPrefix = uniquePrefix('auth');
let server: TestServer;
let streamer: Streamer;

beforeAll(async () => {
  server = await startTestServer({ db: 'postgres', redis: true, config: { redis: { keyPrefix }, cluster: { secret, nodeId: 'node-1' } } });
  streamer = await createStreamer(server.url, 'internal_owner', 'internal routes');
});
afterAll(async () => {
  await server?.stop();
});

const offer = JSON.stringify({ offer: 'v=0\r\n' });

async function pipeRequest(headers: Record<string, string>) {
  const path = `/internal/streams/${streamer.streamId}/pipes`;
  const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: offer });
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
}

function signed(node: string, key = secret, at = Date.now()) {
  return signRequest(key, node as NodeId, 'POST', `/internal/streams/${streamer.streamId}/pipes`, Buffer.from(offer), at);
}

it('refuses unsigned requests, user tokens and stream keys with 401 CLUSTER_AUTH_REQUIRED', async () => {
  expect(await pipeRequest({})).toEqual({ status: 401, code: 'CLUSTER_AUTH_REQUIRED' });
  expect(await pipeRequest({ authorization: `Bearer ${streamer.token}` })).toEqual({ status: 401, code: 'CLUSTER_AUTH_REQUIRED' });
  expect(await pipeRequest({ authorization: `Bearer ${streamer.streamKey}` })).toEqual({ status: 401, code: 'CLUSTER_AUTH_REQUIRED' });
  const del = await fetch(`${server.url}/internal/streams/${streamer.streamId}/pipes/x`, { method: 'DELETE', headers: { authorization: `Bearer ${streamer.token}` } });
  expect(del.status).toBe(401);
});

it('refuses a wrong secret, a stale or tampered signature with 401 CLUSTER_AUTH_INVALID', async () => {
  expect(await pipeRequest(signed('node-1', randomBytes(32).toString('base64url')))).toEqual({ status: 401, code: 'CLUSTER_AUTH_INVALID' });
  expect(await pipeRequest(signed('node-1', secret, Date.now() - 60_000))).toEqual({ status: 401, code: 'CLUSTER_AUTH_INVALID' });
  const headers = signed('node-1');
  // The signature covers the node id: claiming another name breaks it.
  expect(await pipeRequest({ ...headers, 'x-glint-node': 'node-2' })).toEqual({ status: 401, code: 'CLUSTER_AUTH_INVALID' });
});

it('refuses a correctly signed request from a node the directory does not list with 403', async () => {
  expect(await pipeRequest(signed('node-that-never-joined'))).toEqual({ status: 403, code: 'CLUSTER_NODE_UNKNOWN' });
});

it('lets a live node through (the stream is simply not published there)', async () => {
  expect(await pipeRequest(signed('node-1'))).toEqual({ status: 409, code: 'STREAM_NOT_LIVE' });
});

it('keeps a second node without CLUSTER_SECRET out of a cluster that has nodes', async () => {
  await expect(startTestServer({ databaseUrl: server.databaseUrl, redis: true, config: { redis: { keyPrefix } } })).rejects.toThrow(/CLUSTER_SECRET is not set, and this node would join 1 other node/);
});
