/**
 * This node as a member of the cluster: keeps its entry in the directory fresh (URL, media
 * address, load) together with the streams it is the origin of, answers where a stream is
 * published, and talks to other nodes over signed internal requests. With no Redis the
 * directory is local and this node is the whole cluster: nothing here changes behaviour.
 *
 * Heartbeats rewrite everything this node owns, so a directory that lost its contents (a
 * Redis restart) is whole again within one heartbeat; an unreachable directory is logged
 * once per outage and retried on every beat, while sessions already open keep their media.
 */
import type { NodeEntry, PipeAnswer, PipeRequest, StreamOrigin } from '../../protocol/cluster.ts';
import type { ErrorBody } from '../../protocol/errors.ts';
import type { NodeId, StreamId } from '../../protocol/ids.ts';
import { AppError, ConflictError, UnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ClusterAuth, secretId, signRequest } from './cluster-auth.ts';
import type { ClusterDirectory } from './directory.ts';

export interface ClusterOptions {
  directory: ClusterDirectory;
  nodeId: NodeId;
  /** The internal URL, once the HTTP server listens. */
  url: () => string;
  mediaAddress: string;
  secret: string;
  /** The secret was generated on this node (one node only). */
  secretGenerated: boolean;
  heartbeatMs: number;
  ttlMs: number;
  /** WebRTC transports open on this node's workers, and the most they take. */
  load: () => { peers: number; capacity: number };
  /** The stream is recorded on this node (its origin entry says so, for HLS from any node). */
  recorded: (streamId: StreamId) => boolean;
  log: Logger;
  /** Requests to other nodes give up after this long (held HLS requests get their own). */
  requestTimeoutMs?: number;
}

export const RETRY_AFTER_CLUSTER = '2';
const REQUEST_TIMEOUT_MS = 5_000;

/** A node's answer to an internal request, error bodies included. */
export interface NodeReply<T> {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  /** The body as it came. */
  bytes: Buffer;
  headers: Headers;
}

export class Cluster {
  readonly id: NodeId;
  readonly auth: ClusterAuth;
  private readonly owned = new Map<StreamId, StreamOrigin>();
  /** Nodes as of the last heartbeat (other nodes' ids, for pruning what we send them). */
  private known = new Set<NodeId>();
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> | undefined;
  private reachable = true;
  private readonly startedAt = Date.now();
  private readonly goneListeners = new Set<(id: NodeId) => void>();
  private readonly secretName: string;

  constructor(private readonly o: ClusterOptions) {
    this.id = o.nodeId;
    this.secretName = secretId(o.secret);
    this.auth = new ClusterAuth(o.secret, async (id) => {
      if (this.known.has(id)) return true;
      return (await this.directoryCall(() => o.directory.node(id))) !== undefined;
    });
  }

  get kind(): ClusterDirectory['kind'] {
    return this.o.directory.kind;
  }

  /**
   * Joins the directory. A node whose cluster secret was generated (no CLUSTER_SECRET) refuses
   * to join a directory that has other nodes: they could never talk to it.
   */
  async start(): Promise<void> {
    const listed = await this.o.directory.nodes();
    const others = listed.filter((n) => n.id !== this.id);
    if (others.length > 0 && this.o.secretGenerated) {
      throw new Error(`CLUSTER_SECRET is not set, and this node would join ${others.length} other node(s) (${others.map((n) => n.id).join(', ')}): give every node of the cluster the same CLUSTER_SECRET`);
    }
    const mismatched = others.filter((n) => n.secretId !== this.secretName);
    if (mismatched.length > 0) {
      this.o.log.error({ nodes: mismatched.map((n) => n.id) }, 'these nodes have another CLUSTER_SECRET: pipes and HLS between them and this node will be refused');
    }
    // Its own entry from before a quick restart has its URL; another URL is another node.
    if (listed.some((n) => n.id === this.id && n.url !== this.o.url())) this.o.log.warn({ nodeId: this.id }, 'another live node (or this one before a restart, on another URL) has the same NODE_ID');
    await this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), this.o.heartbeatMs);
    this.timer.unref();
    this.o.log.info({ nodeId: this.id, url: this.o.url(), directory: this.kind, nodes: others.length + 1 }, 'joined the cluster');
  }

  /** Leaves the directory (a clean stop): other nodes stop sending viewers here at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beat;
    const owned = [...this.owned.keys()];
    this.owned.clear();
    await Promise.allSettled([...owned.map((id) => this.o.directory.releaseStream(id, this.id)), this.o.directory.removeNode(this.id)]);
    await this.o.directory.close();
  }

  /** A node that was in the directory is not anymore (its heartbeats stopped). */
  onNodeGone(listener: (id: NodeId) => void): () => void {
    this.goneListeners.add(listener);
    return () => this.goneListeners.delete(listener);
  }

  /**
   * This node is the origin of a stream (or its tracks or status changed): written now and on
   * every heartbeat. Answers who holds it: another node when it was there first (and lives).
   */
  async announce(origin: Omit<StreamOrigin, 'node' | 'hls'>): Promise<StreamOrigin | undefined> {
    const mine: StreamOrigin = { ...origin, node: this.id, hls: this.o.recorded(origin.streamId) };
    // Kept even when the directory is away: the next heartbeat claims it.
    this.owned.set(origin.streamId, mine);
    let holder: StreamOrigin;
    try {
      holder = await this.o.directory.claimStream(mine, this.o.ttlMs);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, streamId: origin.streamId }, 'cannot announce a stream in the cluster directory now (the next heartbeat will)');
      return undefined;
    }
    if (holder.node !== this.id && this.owned.get(origin.streamId) === mine) this.owned.delete(origin.streamId);
    return holder;
  }

  /** This node is no longer the origin of a stream. */
  async withdraw(streamId: StreamId): Promise<void> {
    if (!this.owned.delete(streamId)) return;
    await this.o.directory.releaseStream(streamId, this.id).catch((err) => this.o.log.warn({ err: (err as Error).message, streamId }, 'cannot remove a stream from the directory (it expires by itself)'));
  }

  /** Where a stream is published, when some node is its origin. 503 CLUSTER_UNAVAILABLE when the directory is away. */
  originOf(streamId: StreamId): Promise<StreamOrigin | undefined> {
    return this.directoryCall(() => this.o.directory.stream(streamId));
  }

  /** A live node's entry (undefined when it is gone). 503 when the directory is away. */
  node(id: NodeId): Promise<NodeEntry | undefined> {
    return this.directoryCall(() => this.o.directory.node(id));
  }

  /** Asks the origin node for a pipe to this node: our offer, its answer. */
  async requestPipe(origin: StreamOrigin, offer: string): Promise<PipeAnswer> {
    const node = await this.liveNode(origin.node);
    const body: PipeRequest = { offer };
    const reply = await this.request<PipeAnswer | ErrorBody>(node, 'POST', `/internal/streams/${origin.streamId}/pipes`, body);
    if (reply.status === 201) return reply.body as PipeAnswer;
    throw remoteError(reply as NodeReply<ErrorBody>, node.id);
  }

  /** Asks the origin, which lost the stream's encoder, to let the stream go to this node (its encoder is here now). */
  async requestHandOver(origin: StreamOrigin): Promise<void> {
    const node = await this.liveNode(origin.node);
    const reply = await this.request<ErrorBody>(node, 'POST', `/internal/streams/${origin.streamId}/hand-over`);
    if (reply.status === 204) return;
    if (reply.body?.error?.code === 'STREAM_ALREADY_PUBLISHING') throw new ConflictError('STREAM_ALREADY_PUBLISHING', `Another encoder is publishing this stream through node ${origin.node} right now.`);
    throw remoteError(reply, node.id);
  }

  /** Tells the origin a pipe is no longer wanted (best effort: it also notices the peer leave). */
  async closePipe(origin: StreamOrigin, pipeId: string): Promise<void> {
    const node = await this.o.directory.node(origin.node).catch(() => undefined);
    if (!node) return;
    await this.request(node, 'DELETE', `/internal/streams/${origin.streamId}/pipes/${encodeURIComponent(pipeId)}`).catch(() => undefined);
  }

  /** A signed request to another node (JSON in, JSON or text out). */
  async request<T>(node: NodeEntry, method: string, pathAndQuery: string, json?: unknown, o: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<NodeReply<T>> {
    const body = json === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(json));
    const headers: Record<string, string> = { ...o.headers, ...signRequest(this.o.secret, this.id, method, pathAndQuery, body) };
    if (json !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${node.url}${pathAndQuery}`, {
        method,
        headers,
        ...(json !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? this.o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new UnavailableError('CLUSTER_UNAVAILABLE', `Node ${node.id} cannot be reached right now; try again shortly.`, { headers: { 'Retry-After': RETRY_AFTER_CLUSTER }, cause: err });
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw new UnavailableError('CLUSTER_UNAVAILABLE', `Node ${node.id} stopped answering; try again shortly.`, { headers: { 'Retry-After': RETRY_AFTER_CLUSTER }, cause: err });
    }
    let parsed: unknown;
    if (res.headers.get('content-type')?.includes('json')) {
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.status, body: parsed as T, bytes, headers: res.headers };
  }

  private async liveNode(id: NodeId): Promise<NodeEntry> {
    const node = await this.node(id);
    if (!node) throw new UnavailableError('CLUSTER_UNAVAILABLE', `The node publishing this stream (${id}) is not in the cluster directory anymore; try again shortly.`, { headers: { 'Retry-After': RETRY_AFTER_CLUSTER } });
    return node;
  }

  private heartbeat(): Promise<void> {
    this.beat ??= this.refresh().finally(() => (this.beat = undefined));
    return this.beat;
  }

  private async refresh(): Promise<void> {
    const d = this.o.directory;
    try {
      const load = this.o.load();
      await d.putNode({ id: this.id, url: this.o.url(), mediaAddress: this.o.mediaAddress, peers: load.peers, capacity: load.capacity, streams: this.owned.size, secretId: this.secretName, startedAt: this.startedAt }, this.o.ttlMs);
      for (const [streamId, origin] of [...this.owned]) {
        origin.hls = this.o.recorded(streamId);
        const holder = await d.claimStream(origin, this.o.ttlMs);
        if (holder.node !== this.id && this.owned.get(streamId) === origin) {
          // Two encoders published it on two nodes while the directory was away: the first
          // claim stands; viewers of other nodes are sent there.
          this.owned.delete(streamId);
          this.o.log.warn({ streamId, holder: holder.node }, 'another node holds a stream published here too: its viewers on other nodes watch that one');
        }
      }
      const now = new Set((await d.nodes()).map((n) => n.id));
      for (const id of this.known) if (!now.has(id)) for (const l of this.goneListeners) l(id);
      this.known = now;
      if (!this.reachable) this.o.log.info('cluster directory reachable again');
      this.reachable = true;
    } catch (err) {
      if (this.reachable) this.o.log.warn({ err: (err as Error).message }, 'cluster directory unreachable: running sessions keep their media; new joins across nodes wait for it');
      this.reachable = false;
    }
  }

  /** Runs a directory call; a backend that cannot be reached answers 503 CLUSTER_UNAVAILABLE. */
  private async directoryCall<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new UnavailableError('CLUSTER_UNAVAILABLE', 'The cluster directory cannot be reached right now; try again shortly.', { headers: { 'Retry-After': RETRY_AFTER_CLUSTER }, cause: err });
    }
  }
}

/** What an origin may answer that a viewer should hear as it is (the stream's state, not the cluster's). */
const PASSED_ON = new Set(['STREAM_NOT_LIVE', 'STREAM_NOT_FOUND', 'SDP_UNSUPPORTED']);

/** Another node's error answer, as ours: the stream's own state as it is, anything else 503. */
function remoteError(reply: NodeReply<ErrorBody>, node: NodeId): AppError {
  const e = typeof reply.body === 'object' ? reply.body?.error : undefined;
  if (e?.code && PASSED_ON.has(e.code)) return new AppError(e.code, e.message, { headers: { 'Retry-After': reply.headers.get('retry-after') ?? RETRY_AFTER_CLUSTER } });
  return new UnavailableError('CLUSTER_UNAVAILABLE', `Node ${node} could not open a pipe (${reply.status}${e?.code ? ` ${e.code}` : ''}); try again shortly.`, { headers: { 'Retry-After': reply.headers.get('retry-after') ?? RETRY_AFTER_CLUSTER } });
}
