/**
 * LL-HLS, DVR and VOD from any node. A recording's files live on the node that made it (its
 * row names the node): the `/hls/...` routes answer from this node's HlsService when the
 * recording is here, and otherwise pass the request to the node that holds it, over the
 * signed internal route (`/internal/hls/...`, which always answers locally: no loops).
 *
 * Blocking playlist reloads are held on the recording node, not polled: the request waits
 * there and its answer comes straight back. Identical requests in flight share one upstream
 * request (every viewer of a node asking for the next part is one request to the origin), and
 * immutable parts and segments are kept briefly in a bounded cache. A CDN in front does the
 * same at the edge of the network.
 */
import type { NodeId, StreamId } from '../../protocol/ids.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { RecordingsRepo } from '../db/recordings-repo.ts';
import { UnavailableError } from '../errors.ts';
import type { Reply } from '../http/http-router.ts';
import type { Logger } from '../logger.ts';
import type { HlsService } from './hls-service.ts';

export interface HlsRelayOptions {
  hls: HlsService;
  recordings: RecordingsRepo;
  cluster: Cluster;
  /** Bytes of immutable media kept for repeated requests (0 = none). */
  cacheBytes?: number;
  /** Held blocking requests are answered by the recording node within 3 × the target duration. */
  targetDurationSeconds: number;
  log: Logger;
}

/** Where a stream's latest recording is, remembered this long (a playlist request a viewer makes per part). */
const LATEST_TTL_MS = 1_000;
/** Immutable media stays in the cache this long. */
const MEDIA_TTL_MS = 30_000;
/** Recordings whose holder is remembered (ids are immutable facts). */
const MAX_HOLDERS = 10_000;
const PASSED_HEADERS = ['content-type', 'cache-control', 'retry-after'];

interface Cached {
  reply: Reply;
  bytes: number;
  at: number;
}

export class HlsRelay {
  private readonly latest = new Map<StreamId, { node: NodeId | undefined; at: number }>();
  private readonly holders = new Map<string, NodeId | undefined>();
  private readonly inflight = new Map<string, Promise<Reply>>();
  private readonly cache = new Map<string, Cached>();
  private cachedBytes = 0;
  private readonly cacheBytes: number;

  constructor(private readonly o: HlsRelayOptions) {
    this.cacheBytes = o.cacheBytes ?? 64 * 1024 * 1024;
  }

  /** `GET /hls/:streamId/:name`: from here, or from the node recording (or holding) the stream's latest recording. */
  async playlist(streamIdParam: string, name: string, query: URLSearchParams): Promise<Reply> {
    const id = this.o.hls.acceptsStream(streamIdParam);
    const node = id && !this.o.hls.holdsLive(id) ? await this.holderOfLatest(id) : undefined;
    if (!node) return this.o.hls.playlist(streamIdParam, name, query);
    const q = query.toString();
    return this.relay(node, `/internal/hls/${id}/${encodeURIComponent(name)}${q ? `?${q}` : ''}`, false);
  }

  /** `GET /hls/:streamId/:recordingId/:file`: from here, or from the node that holds the recording. */
  async media(streamIdParam: string, recordingId: string, file: string): Promise<Reply> {
    const id = this.o.hls.acceptsStream(streamIdParam);
    const node = id && !this.o.hls.holdsRecording(id, recordingId) ? await this.holderOf(recordingId) : undefined;
    if (!node) return this.o.hls.media(streamIdParam, recordingId, file);
    return this.relay(node, `/internal/hls/${id}/${recordingId}/${encodeURIComponent(file)}`, !file.endsWith('.m3u8'));
  }

  private async holderOfLatest(id: StreamId): Promise<NodeId | undefined> {
    const known = this.latest.get(id);
    if (known && Date.now() - known.at < LATEST_TTL_MS) return known.node;
    const row = await this.o.recordings.latest(id);
    const node = row && row.nodeId && row.nodeId !== this.o.cluster.id && !this.o.hls.holdsRecording(id, row.id) ? (row.nodeId as NodeId) : undefined;
    if (this.latest.size > MAX_HOLDERS) this.latest.clear();
    this.latest.set(id, { node, at: Date.now() });
    return node;
  }

  private async holderOf(recordingId: string): Promise<NodeId | undefined> {
    if (this.holders.has(recordingId)) return this.holders.get(recordingId);
    const row = await this.o.recordings.get(recordingId).catch(() => undefined);
    const node = row?.nodeId && row.nodeId !== this.o.cluster.id ? (row.nodeId as NodeId) : undefined;
    if (this.holders.size >= MAX_HOLDERS) this.holders.delete(this.holders.keys().next().value!);
    if (row) this.holders.set(recordingId, node);
    return node;
  }

  private relay(node: NodeId, path: string, immutable: boolean): Promise<Reply> {
    const key = `${node} ${path}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < MEDIA_TTL_MS) return Promise.resolve(hit.reply);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(node, path).then((reply) => {
        if (immutable && reply.status === 200) this.keep(key, reply);
        return reply;
      });
      this.inflight.set(key, pending);
      void pending.finally(() => this.inflight.delete(key)).catch(() => {});
    }
    return pending;
  }

  private async fetch(nodeId: NodeId, path: string): Promise<Reply> {
    const node = await this.o.cluster.node(nodeId);
    if (!node) {
      throw new UnavailableError('CLUSTER_UNAVAILABLE', `The node that holds this recording (${nodeId}) is not in the cluster now; try again shortly.`, { headers: { 'Retry-After': '2' } });
    }
    // A held reload is answered there within 3 target durations; allow the trip on top.
    const res = await this.o.cluster.request(node, 'GET', path, undefined, { timeoutMs: this.o.targetDurationSeconds * 3_000 + 5_000 });
    if (res.status === 401 || res.status === 403) {
      this.o.log.error({ node: nodeId, status: res.status, body: res.bytes.toString('utf8').slice(0, 200) }, 'a node refused our HLS request: is CLUSTER_SECRET the same on every node?');
      throw new UnavailableError('CLUSTER_UNAVAILABLE', `The node that holds this recording (${nodeId}) refused this node; try again shortly.`, { headers: { 'Retry-After': '2' } });
    }
    const headers: Record<string, string> = {};
    for (const h of PASSED_HEADERS) {
      const v = res.headers.get(h);
      if (v) headers[h === 'content-type' ? 'Content-Type' : h === 'cache-control' ? 'Cache-Control' : 'Retry-After'] = v;
    }
    return { status: res.status, body: res.bytes, headers };
  }

  private keep(key: string, reply: Reply): void {
    const bytes = (reply.body as Buffer).length;
    if (bytes > this.cacheBytes / 8) return;
    this.cache.set(key, { reply, bytes, at: Date.now() });
    this.cachedBytes += bytes;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes && Date.now() - v.at < MEDIA_TTL_MS) break;
      this.cache.delete(k);
      this.cachedBytes -= v.bytes;
    }
  }
}
