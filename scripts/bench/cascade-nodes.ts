/**
 * The multi-node parts of `npm run bench:cascade` (BENCH_NODES > 1), run after the one-node
 * parts in the same process, on the same machine:
 *  - fan-out of one stream over N nodes on this machine (in-process servers sharing
 *    PostgreSQL and Redis, one sfu-worker each): the publisher on node 1, viewers added in
 *    steps, in turn on every node; each step prints every node's share, forwarded packets per
 *    CPU-second of all Glint processes together, loss, and the delay of probes on the origin
 *    next to probes on edges (one pipe hop between nodes, DTLS-SRTP);
 *  - what a pipe costs its origin worker next to a direct viewer: the origin's worker CPU
 *    with K pipes to routers on another node, then with K viewers of its own.
 */
import { randomBytes } from 'node:crypto';
import type { StreamId, TransportId } from '../../protocol/ids.ts';
import type { WorkerStats } from '../../protocol/sfu.ts';
import type { WorkerHandle } from '../../server/sfu/worker-pool.ts';
import type { RouterHandle } from '../../server/sfu/worker-handle.ts';
import { startTestServer, type TestServer } from '../../test/helpers/server.ts';
import { uniquePrefix } from '../../test/helpers/services.ts';
import { ask, startLoad } from './load-process.ts';

const TIMEOUTS = { connectTimeoutSeconds: 30, viewerConnectTimeoutSeconds: 30, publisherIdleTimeoutSeconds: 3600 };
const cpuOf = (a: WorkerStats, b: WorkerStats) => (b.cpuUserMicros + b.cpuSystemMicros - a.cpuUserMicros - a.cpuSystemMicros) / 1e6;
const pct = (sorted: number[], q: number) => sorted[Math.floor(sorted.length * q)] ?? NaN;

export function nextStats(worker: WorkerHandle, timeoutMs = 60_000): Promise<WorkerStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no stats from the worker within ${timeoutMs} ms`))), timeoutMs);
    const off = worker.channel.on('stats', (s) => {
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

/** N nodes of one cluster in this process, a streamer and a stream on the first. */
async function startNodes(n: number): Promise<{ nodes: TestServer[]; streamId: string; streamKey: string; stop(): Promise<void> }> {
  const shared = {
    log: { level: 'warn' as const },
    redis: { keyPrefix: uniquePrefix('cascade') },
    auth: { jwtSecret: randomBytes(32).toString('base64url') },
    streams: { keyEncryptionKey: randomBytes(32).toString('base64') },
    cluster: { secret: randomBytes(32).toString('base64url') },
    rtc: { workers: 1, maxPeersPerWorker: 5000, ...TIMEOUTS },
  };
  const first = await startTestServer({ db: 'postgres', redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: 'node-1' } } });
  const nodes = [first];
  for (let i = 2; i <= n; i++) nodes.push(await startTestServer({ databaseUrl: first.databaseUrl, redis: true, config: { ...shared, cluster: { ...shared.cluster, nodeId: `node-${i}` } } }));
  const api = async (method: string, path: string, body?: unknown, token?: string) =>
    (await fetch(first.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined })).json();
  const reg = await api('POST', '/auth/register', { username: 'bench_cluster', email: 'cascade@bench.example', password: 'one broadcast on every node' });
  const s = await api('POST', '/streams', { title: 'cascade over nodes' }, reg.accessToken);
  return {
    nodes,
    streamId: s.stream.id,
    streamKey: s.streamKey,
    async stop() {
      for (const node of [...nodes].reverse()) await node.stop();
    },
  };
}

/** Viewers in steps over every node; one line per step, and the nodes' shares below it. */
export async function fanoutNodes(nodeCount: number, steps: number[], seconds: number, base: { pps: number }): Promise<void> {
  const c = await startNodes(nodeCount);
  const workers = c.nodes.map((n) => n.app.workers.get(0)!);
  const { load, ready } = await startLoad(new URL('./fanout-load.ts', import.meta.url), {
    BENCH_URL: c.nodes[0]!.url, BENCH_KEY: c.streamKey, BENCH_STREAM: c.streamId, BENCH_VIEWER_URLS: c.nodes.map((n) => n.url).join(','),
  });
  if (!ready.ok) throw new Error('load process failed');
  console.log(`fan-out of one stream over ${nodeCount} nodes on this machine (one sfu-worker each, sharing PostgreSQL and Redis), publisher on node 1, viewers joining every node in turn; ${seconds} s per step`);
  console.log('viewers  fwd pkt/s (all nodes)  all Glint processes: CPU  pkt per CPU-s  (x baseline)  viewer loss  probe loss  delay p50/p95 ms: origin | edges (+ the hop)');
  let viewers = 0;
  try {
    for (const target of steps) {
      const added = await ask(load, { cmd: 'add', n: target - viewers });
      viewers = added.viewers;
      if (!added.ok) {
        console.log(`stopped adding viewers at ${viewers}: ${added.error}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 2000));
      const before = await ask(load, { cmd: 'reset' });
      const from = await Promise.all(workers.map((w) => nextStats(w)));
      const server0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const to = await Promise.all(workers.map((w) => nextStats(w)));
      const server1 = process.cpuUsage();
      const after = await ask(load, { cmd: 'sample' });
      const elapsed = Math.max(...to.map((t, i) => (t.sampledAt - from[i]!.sampledAt) / 1000));
      const forwarded = to.reduce((a, t, i) => a + t.packetsOut - from[i]!.packetsOut, 0);
      // The servers run in this process (with the benchmark's own bookkeeping): an upper bound on their CPU.
      const allCpu = to.reduce((a, t, i) => a + cpuOf(from[i]!, t), 0) + (server1.user + server1.system - server0.user - server0.system) / 1e6;
      const observed = after.counts.map((_: number, i: number) => i).filter((i: number) => after.counts[i] >= 0);
      const received = observed.reduce((a: number, i: number) => a + after.counts[i] - (before.counts[i] ?? 0), 0);
      const missed = observed.reduce((a: number, i: number) => a + after.gaps[i] - (before.gaps[i] ?? 0), 0);
      const lossPct = received + missed > 0 ? (100 * missed) / (received + missed) : 0;
      const probeLoss = after.probePackets ? (100 * after.probeLost) / (after.probePackets + after.probeLost) : 0;
      const origin: number[] = [];
      const edges: number[] = [];
      for (const p of after.probes as Array<{ base: string; delays: number[] }>) (p.base === c.nodes[0]!.url ? origin : edges).push(...p.delays);
      origin.sort((a, b) => a - b);
      edges.sort((a, b) => a - b);
      const hop = `+${(pct(edges, 0.5) - pct(origin, 0.5)).toFixed(1)} / +${(pct(edges, 0.95) - pct(origin, 0.95)).toFixed(1)}`;
      console.log(
        `${String(viewers).padStart(7)}  ${String(Math.round(forwarded / elapsed)).padStart(20)}  ${`${((100 * allCpu) / elapsed).toFixed(0)}%`.padStart(24)}  ${String(Math.round(forwarded / allCpu)).padStart(13)}  ${`(${(forwarded / allCpu / base.pps).toFixed(2)})`.padStart(12)}  ` +
          `${lossPct.toFixed(2).padStart(10)}%  ${probeLoss.toFixed(2).padStart(9)}%  ${pct(origin, 0.5).toFixed(1)}/${pct(origin, 0.95).toFixed(1)} | ${pct(edges, 0.5).toFixed(1)}/${pct(edges, 0.95).toFixed(1)} (${hop})`,
      );
      console.log(`         ${to.map((t, i) => `node ${i + 1}: ${t.viewers} viewers, ${t.pipesOut} pipe${t.pipesOut === 1 ? '' : 's'} out, ${t.pipesIn} in, ${((100 * cpuOf(from[i]!, t)) / elapsed).toFixed(0)}% CPU, ${t.pipeNacksSent} NACKed on pipes (${t.pipeNacksRecovered} recovered)`).join(' | ')}`);
      if (probeLoss > 0.5 || lossPct > 0.5) {
        console.log(`loss above 0.5% at ${viewers} viewers: stopping`);
        break;
      }
    }
  } finally {
    load.send({ cmd: 'exit' });
    await new Promise((r) => load.once('exit', r));
    await c.stop();
  }
}

/** The origin worker's CPU per pipe to another node, next to its CPU per direct viewer, measured in turn. */
export async function pipeCost(k: number, seconds: number): Promise<void> {
  const c = await startNodes(2);
  const [origin, edge] = c.nodes as [TestServer, TestServer];
  const worker = origin.app.workers.get(0)!;
  const { load, ready } = await startLoad(new URL('./fanout-load.ts', import.meta.url), { BENCH_URL: origin.url, BENCH_KEY: c.streamKey, BENCH_STREAM: c.streamId });
  if (!ready.ok) throw new Error('load process failed');
  const measure = async () => {
    await new Promise((r) => setTimeout(r, 2000));
    const a = await nextStats(worker);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const b = await nextStats(worker);
    const elapsed = (b.sampledAt - a.sampledAt) / 1000;
    return { cpu: cpuOf(a, b) / elapsed, pps: (b.packetsOut - a.packetsOut) / elapsed, pipes: b.pipesOut, viewers: b.viewers };
  };
  const routers: RouterHandle[] = [];
  const pipeIds: string[] = [];
  try {
    const streamId = c.streamId as StreamId;
    let where;
    for (let i = 0; i < 50 && !(where = await edge.app.cluster.originOf(streamId).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 200));
    if (!where) throw new Error('the stream never reached the directory');
    const idle = await measure();
    // K pipes from the origin, each into its own router on the edge's worker (as K edge nodes would take).
    for (let i = 0; i < k; i++) {
      const router = await edge.app.workers.get(0)!.createRouter(streamId);
      routers.push(router);
      const { transport, offer } = await router.createWebRtcPipe(`bench-pipe-${i}` as TransportId, where.producers);
      const { answer, pipeId } = await edge.app.cluster.requestPipe(where, offer);
      pipeIds.push(pipeId);
      await transport.connect(answer);
    }
    const piped = await measure();
    // Closed as an edge closes its pipe: its end, and a DELETE to the origin.
    for (const r of routers.splice(0)) await r.close();
    for (const id of pipeIds) await edge.app.cluster.closePipe(where, id);
    for (let i = 0; i < 50 && (await nextStats(worker)).pipesOut > 0; i++);
    const added = await ask(load, { cmd: 'add', n: k });
    if (!added.ok) throw new Error(`viewers could not join: ${added.error}`);
    const direct = await measure();
    if (direct.pipes > 0) throw new Error(`${direct.pipes} pipes still open while measuring direct viewers`);
    const perPipe = (piped.cpu - idle.cpu) / k;
    const perViewer = (direct.cpu - idle.cpu) / k;
    console.log(`what a pipe to another node costs its origin worker (publisher ~157 pkt/s; ${k} pipes, then ${k} direct viewers; ${seconds} s each, same run):`);
    console.log(`  publisher only: worker CPU ${(idle.cpu * 100).toFixed(1)}%`);
    console.log(`  ${piped.pipes} pipes out: ${(piped.cpu * 100).toFixed(1)}% (${Math.round(piped.pps)} pkt/s out): ${(perPipe * 1000).toFixed(2)} ms CPU per second per pipe`);
    console.log(`  ${direct.viewers} direct viewers: ${(direct.cpu * 100).toFixed(1)}% (${Math.round(direct.pps)} pkt/s out): ${(perViewer * 1000).toFixed(2)} ms CPU per second per viewer`);
    console.log(`  a pipe costs ${(perPipe / perViewer).toFixed(2)} direct viewers (target: at most 1.5)`);
  } finally {
    for (const r of routers) await r.close().catch(() => {});
    load.send({ cmd: 'exit' });
    await new Promise((r) => load.once('exit', r));
    await c.stop();
  }
}
