/**
 * `npm run bench:fanout`: how far one sfu-worker fans out one stream. A load process
 * (fanout-load.ts) publishes ~157 packets/s of 1200-byte RTP (1.5 Mbit/s) and adds
 * viewers in steps; for each step this prints the worker's forwarded packets per
 * CPU-second, loss seen by viewers, added forwarding delay and worker memory per viewer.
 * Figures come from the counters the worker pushes every second (no request that a worker
 * busy forwarding could leave unanswered). First it prints the machine (cores, load
 * average) and a baseline measured in the same run — one bare node-datachannel peer's
 * packets per CPU-second (relay-baseline.ts) — so a figure compares across machines as a
 * ratio to it.
 *   BENCH_STEPS=50,100,200,300,400,500 BENCH_SECONDS=10 npm run bench:fanout
 * With BENCH_WORKERS=2 (`npm run bench:cascade`) the stream spreads over the node's workers
 * through pipes: each step also prints every worker's share (viewers, pipes, CPU), forwarded
 * packets per CPU-second of all Glint processes together (server and workers), and the delay
 * of probes on the origin worker next to probes behind a pipe. With BENCH_NODES=3 (the
 * default of bench:cascade) it then does the same over 3 nodes on this machine, and measures
 * what a pipe to another node costs its origin next to a direct viewer (cascade-nodes.ts;
 * BENCH_PART=pipes runs only that, BENCH_PIPES=50 how many).
 */
import { fork } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import nodeDataChannel from 'node-datachannel';
import type { StreamId } from '../../protocol/ids.ts';
import type { WorkerStats } from '../../protocol/sfu.ts';
import type { WorkerHandle } from '../../server/sfu/worker-pool.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { ask, startLoad } from './load-process.ts';
// The worker's next pushed figures (they come every second; a busy worker's come late, stamped when taken).
import { fanoutNodes, nextStats, pipeCost } from './cascade-nodes.ts';

const TSX = import.meta.resolve('tsx');

const steps = (process.env.BENCH_STEPS ?? '50,100,200,300,400,500,600').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const workersWanted = Number(process.env.BENCH_WORKERS ?? 1);
const nodesWanted = Number(process.env.BENCH_NODES ?? 1);


function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** One bare node-datachannel peer sending RTP to another (relay-baseline.ts): packets per CPU-second of the sender. */
async function baseline(): Promise<{ pps: number; usPerPacket: number; packets: number }> {
  const { PeerConnection, Video } = nodeDataChannel;
  const rx = new PeerConnection('baseline-rx', { iceServers: [], bindAddress: '127.0.0.1' });
  const video = new Video('0', 'RecvOnly');
  video.addH264Codec(96);
  const track = rx.addTrack(video);
  track.onMessage(() => {});
  const child = fork(new URL('./relay-baseline.ts', import.meta.url).pathname, [], { execArgv: ['--import', TSX] });
  try {
    const { offer } = await new Promise<{ offer: string }>((resolve) => child.once('message', resolve as never));
    const gathered = new Promise<void>((resolve) => rx.onGatheringStateChange((st) => st === 'complete' && resolve()));
    rx.setRemoteDescription(offer, 'offer');
    await gathered;
    child.send({ answer: rx.localDescription()!.sdp });
    const { result } = await new Promise<{ result: { packets: number; seconds: number; cpuSeconds: number } }>((resolve, reject) => {
      child.once('message', resolve as never);
      child.once('exit', (code) => reject(new Error(`baseline sender exited (${code})`)));
    });
    return { pps: result.packets / result.cpuSeconds, usPerPacket: (1e6 * result.cpuSeconds) / result.packets, packets: result.packets };
  } finally {
    rx.close();
    child.kill();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${availableParallelism()} cores, load average ${loadAverage()} (1/5/15 min), node ${process.version}`);
  const base = await baseline();
  console.log(`baseline: one bare node-datachannel peer sends ${Math.round(base.pps)} RTP packets per CPU-second (${base.usPerPacket.toFixed(1)} µs each, ${base.packets} packets of 1200 B)`);
  // Cascade: the single-worker figures first, in the same run, for comparison.
  // BENCH_PART=pipes: only what a pipe between nodes costs (the last part).
  const onlyPipes = process.env.BENCH_PART === 'pipes';
  if (!onlyPipes) for (const n of workersWanted > 1 ? [1, workersWanted] : [1]) await fanout(n, base);
  if (nodesWanted > 1) {
    if (!onlyPipes) await fanoutNodes(nodesWanted, steps, seconds, base);
    await pipeCost(Number(process.env.BENCH_PIPES ?? 50), seconds);
  }
  // Again at the end: a machine that got busier (or quieter) meanwhile shows here.
  const after = await baseline();
  console.log(`baseline again: ${Math.round(after.pps)} packets per CPU-second (${after.usPerPacket.toFixed(1)} µs each); load average ${loadAverage()}`);
}

async function fanout(workerCount: number, base: { pps: number }): Promise<void> {
  // The load process pauses its publisher while viewers join (minutes at high counts): the
  // server must not take that silence for a lost encoder.
  const server = await startTestServer({
    config: { log: { level: 'warn' }, rtc: { workers: workerCount, maxPeersPerWorker: 5000, connectTimeoutSeconds: 30, viewerConnectTimeoutSeconds: 30, publisherIdleTimeoutSeconds: 3600 } },
  });
  const api = async (method: string, path: string, body?: unknown, token?: string) =>
    (await fetch(server.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined })).json();
  const reg = await api('POST', '/auth/register', { username: 'bench', email: 'bench@example.com', password: 'fan out many viewers' });
  const s = await api('POST', '/streams', { title: 'fanout' }, reg.accessToken);
  const worker = server.app.workers.all()[0]!;
  const others = server.app.workers.all().slice(1);

  const { load, ready } = await startLoad(new URL('./fanout-load.ts', import.meta.url), { BENCH_URL: server.url, BENCH_KEY: s.streamKey, BENCH_STREAM: s.stream.id });
  if (!ready.ok) throw new Error('load process failed');
  await new Promise((r) => setTimeout(r, 1000));
  const idle = await nextStats(worker);
  const rssBase = idle.rssBytes;

  console.log(`fan-out of one stream (157 packets/s x 1200 B = 1.5 Mbit/s per viewer), ${workerCount === 1 ? 'one sfu-worker' : `${workerCount} sfu-workers (columns of the first; all workers on the line below)`}, ${seconds} s per step`);
  console.log('(viewer loss: sequence gaps over every fourth viewer, and how many of them saw any; probes: 8 viewers that also time every packet)');
  console.log('viewers  fwd pkt/s  worker CPU  pkt per CPU-s  (x baseline)  viewer loss  probe loss  delay p50/p95 ms  worker RSS  per viewer (slope)  load avg');
  let viewers = 0;
  let prev = { viewers: 0, rss: rssBase };
  for (const target of steps) {
    const added = await ask(load, { cmd: 'add', n: target - viewers });
    viewers = added.viewers;
    if (process.env.BENCH_VERBOSE) console.log(`  added: connect p50 ${added.joinP50?.toFixed(0)} ms, max ${added.joinMax?.toFixed(0)} ms`);
    if (!added.ok) {
      console.log(`stopped adding viewers at ${viewers}: ${added.error}`);
      const problems = server.logs().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-3);
      for (const line of problems) console.log(`  server: ${line.slice(0, 300)}`);
      break;
    }
    // Let the publisher's keyframe requests and the viewers' first packets settle.
    await new Promise((r) => setTimeout(r, 2000));
    const before = await ask(load, { cmd: 'reset' });
    const [w0, ...o0] = (await Promise.all([worker, ...others].map((w) => nextStats(w)))) as [WorkerStats, ...WorkerStats[]];
    const server0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [w1, ...o1] = (await Promise.all([worker, ...others].map((w) => nextStats(w)))) as [WorkerStats, ...WorkerStats[]];
    const server1 = process.cpuUsage();
    const after = await ask(load, { cmd: 'sample' });
    // The worker stamped both samples itself: the interval between them, not our waiting.
    const elapsed = (w1.sampledAt - w0.sampledAt) / 1000;
    const cpu = (w1.cpuUserMicros + w1.cpuSystemMicros - w0.cpuUserMicros - w0.cpuSystemMicros) / 1e6;
    const forwarded = w1.packetsOut - w0.packetsOut;
    // Loss: sequence gaps seen by the observed viewers, over what they received plus missed.
    const observed = after.counts.map((c: number, i: number) => i).filter((i: number) => after.counts[i] >= 0);
    const received = observed.reduce((a: number, i: number) => a + after.counts[i] - (before.counts[i] ?? 0), 0);
    const missed = observed.map((i: number) => after.gaps[i] - (before.gaps[i] ?? 0));
    const lossy = missed.filter((m: number) => m > 0).length;
    const lossPct = received > 0 ? (100 * missed.reduce((a: number, m: number) => a + m, 0)) / (received + missed.reduce((a: number, m: number) => a + m, 0)) : 0;
    const loadCpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6 / elapsed;
    const probeLoss = after.probePackets ? (100 * after.probeLost) / (after.probePackets + after.probeLost) : 0;
    console.log(
      `${String(viewers).padStart(7)}  ${String(Math.round(forwarded / elapsed)).padStart(9)}  ${((100 * cpu) / elapsed).toFixed(0).padStart(9)}%  ${String(Math.round(forwarded / cpu)).padStart(13)}  ${`(${(forwarded / cpu / base.pps).toFixed(2)})`.padStart(12)}  ` +
        `${lossPct.toFixed(2).padStart(8)}% (${lossy} of ${observed.length})  ${probeLoss.toFixed(2).padStart(9)}%  ${after.delayP50.toFixed(1).padStart(7)} / ${after.delayP95.toFixed(1).padEnd(7)}  ` +
        `${(w1.rssBytes / 1048576).toFixed(0).padStart(6)} MB  ${((w1.rssBytes - rssBase) / viewers / 1024).toFixed(0).padStart(6)} KB (${((w1.rssBytes - prev.rss) / (viewers - prev.viewers) / 1024).toFixed(0)} KB)  ${loadAverage().split(' ')[0]}  [load process CPU ${(loadCpu * 100).toFixed(0)}%]`,
    );
    prev = { viewers, rss: w1.rssBytes };
    if (workersWanted > 1) cascadeLine(server, s.stream.id as StreamId, [w0, ...o0], [w1, ...o1], server1.user + server1.system - server0.user - server0.system, after.probes);
    if (probeLoss > 0.5 || lossPct > 0.5) {
      console.log(`loss above 0.5% at ${viewers} viewers: stopping`);
      break;
    }
  }
  load.send({ cmd: 'exit' });
  await new Promise((r) => load.once('exit', r));
  await server.stop();
}

const cpuOf = (a: WorkerStats, b: WorkerStats) => (b.cpuUserMicros + b.cpuSystemMicros - a.cpuUserMicros - a.cpuSystemMicros) / 1e6;
const pct = (sorted: number[], q: number) => sorted[Math.floor(sorted.length * q)] ?? NaN;

/** The whole node's figures for one step: every worker's share, all processes' packets per CPU-second, delay through a pipe. */
function cascadeLine(
  server: Awaited<ReturnType<typeof startTestServer>>,
  streamId: StreamId,
  from: WorkerStats[],
  to: WorkerStats[],
  serverCpuMicros: number,
  probes: Array<{ location: string; delays: number[] }>,
): void {
  const elapsed = Math.max(...to.map((t, i) => (t.sampledAt - from[i]!.sampledAt) / 1000));
  const forwarded = to.reduce((a, t, i) => a + t.packetsOut - from[i]!.packetsOut, 0);
  const workerCpu = to.reduce((a, t, i) => a + cpuOf(from[i]!, t), 0);
  const allCpu = workerCpu + serverCpuMicros / 1e6;
  const shares = to.map((t, i) => `w${i}: ${t.viewers} viewers, ${t.pipesOut} pipe${t.pipesOut === 1 ? '' : 's'} out, ${((100 * cpuOf(from[i]!, t)) / elapsed).toFixed(0)}% CPU`).join(' | ');
  const origin = server.app.media.routerOf(streamId)?.router.worker.index;
  const direct: number[] = [];
  const piped: number[] = [];
  for (const p of probes) {
    let index: number | undefined;
    try {
      index = server.app.media.session(p.location.split('/').pop()!, 'whep').transport.router.worker.index;
    } catch {
      continue;
    }
    (index === origin ? direct : piped).push(...p.delays);
  }
  direct.sort((a, b) => a - b);
  piped.sort((a, b) => a - b);
  console.log(
    `         ${shares}; all Glint processes ${Math.round(forwarded / allCpu)} pkt per CPU-s (server ${((100 * serverCpuMicros) / 1e6 / elapsed).toFixed(0)}% CPU); ` +
      `delay p50/p95 on the origin ${pct(direct, 0.5).toFixed(1)}/${pct(direct, 0.95).toFixed(1)} ms, through a pipe ${pct(piped, 0.5).toFixed(1)}/${pct(piped, 0.95).toFixed(1)} ms`,
  );
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
