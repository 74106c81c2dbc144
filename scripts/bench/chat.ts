/**
 * `npm run bench:chat`: chat fan-out on one node. N sockets (BENCH_SOCKETS, default
 * 2000,10000) held by chat-sink.c (built with cc on first use), M messages/s in
 * (BENCH_RATE, default 50,100,200) from 20 senders; prints delivered messages/s, delivery latency
 * p50/p99 (20 probe sockets parse every frame), the server process's CPU and its memory
 * per socket, and how long its event loop was held (a fan-out's writes to every socket run
 * in one go: this is where delivery latency comes from once a node holds many sockets), and
 * how fast each step's sockets joined.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTestServer } from '../../test/helpers/server.ts';
import { ask, startLoad } from './load-process.ts';

const steps = (process.env.BENCH_SOCKETS ?? '2000,10000').split(',').map(Number);
const rates = (process.env.BENCH_RATE ?? '50,100,200').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

async function main(): Promise<void> {
  // PostgreSQL keeps the database out of the server's memory figures (PGlite lives in-process).
  const server = await startTestServer({
    db: process.env.BENCH_PGLITE ? 'pglite' : 'postgres',
    // Every load socket comes from this machine: the per-address socket cap would stop them at 100.
    config: { log: { level: 'warn' }, rtc: { workers: 1 }, chat: { burst: 200, messagesPerSecond: 100, duplicateWindowSeconds: 0, maxSocketsPerIp: 1_000_000 } },
  });
  const api = async (path: string, body: unknown, token?: string) =>
    (await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json();
  const owner = await api('/auth/register', { username: 'chat_bench', email: 'chat_bench@example.com', password: 'many sockets listening' });
  const stream = await api('/streams', { title: 'chat bench' }, owner.accessToken);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) tokens.push((await api('/auth/register', { username: `sender_${i}`, email: `sender_${i}@example.com`, password: 'many sockets listening' })).accessToken);

  const { load } = await startLoad(new URL('./chat-load.ts', import.meta.url), { BENCH_URL: server.url, BENCH_STREAM: stream.stream.id, BENCH_TOKENS: JSON.stringify(tokens) });
  const sinkSource = new URL('./chat-sink.c', import.meta.url).pathname;
  const sinkBinary = join(tmpdir(), 'glint-chat-sink');
  if (!existsSync(sinkBinary) || statSync(sinkBinary).mtimeMs < statSync(sinkSource).mtimeMs) execFileSync('cc', ['-O2', '-o', sinkBinary, sinkSource]);
  const sinks: Array<{ child: ChildProcess; sockets: number; bytes: number; frames: number }> = [];
  const sinkTotals = () => sinks.reduce((a, s) => ({ sockets: a.sockets + s.sockets, bytes: a.bytes + s.bytes, frames: a.frames + s.frames }), { sockets: 0, bytes: 0, frames: 0 });
  const addSink = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const u = new URL(server.url);
      const child = spawn(sinkBinary, [u.hostname, u.port, `/streams/${stream.stream.id}/chat`, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const sink = { child, sockets: 0, bytes: 0, frames: 0 };
      sinks.push(sink);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^sockets (\d+) bytes (\d+) frames (\d+)$/.exec(line);
        if (!m) return;
        sink.sockets = Number(m[1]);
        sink.bytes = Number(m[2]);
        sink.frames = Number(m[3]);
        if (sink.sockets === count) resolve();
      });
      child.once('exit', (code) => reject(new Error(`chat-sink exited with ${code}`)));
    });
  // Memory per socket = (RSS now − RSS before any socket) / sockets open: the slope between
  // steps is lost in allocator noise when a step adds no sockets.
  const idleRss = process.memoryUsage.rss();
  console.log(`chat fan-out on one node: messages/s in from 20 senders, ${seconds} s per step`);
  console.log('sockets  rate in  delivered msg/s  latency p50 / p99 / max ms  server CPU  server RSS  per socket        (probe/sender process CPU)');
  let open = 0;
  for (const target of steps) {
   // Join storm: the sink keeps 200 handshakes in flight, as after a node restart.
   const joinStart = performance.now();
   await addSink(target - open);
   const joinSeconds = (performance.now() - joinStart) / 1000;
   console.log(`${target - open} sockets joined in ${joinSeconds.toFixed(2)} s (${Math.round((target - open) / joinSeconds)}/s, 200 handshakes in flight)`);
   open = target;
   for (const rate of rates) {
    await ask(load, { cmd: 'rate', rate });
    await new Promise((res) => setTimeout(res, 2000));
    const before = { ...(await ask(load, { cmd: 'sample' })), sink: sinkTotals() };
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, seconds * 1000));
    const after = { ...(await ask(load, { cmd: 'sample' })), sink: sinkTotals() };
    const cpu = process.cpuUsage(cpu0);
    loopDelay.disable();
    const elapsed = (performance.now() - t0) / 1000;
    // Chat messages per frame, as seen by the probes (busy streams batch several per frame);
    // the sinks' welcome and viewer-count frames are few enough to ignore.
    const perFrame = (after.probeMessages - before.probeMessages) / Math.max(1, after.probeFrames - before.probeFrames);
    const sinkFrames = after.sink.frames - before.sink.frames;
    const delivered = (sinkFrames * perFrame + (after.probeMessages - before.probeMessages)) / elapsed;
    const wireBytes = (after.sink.bytes - before.sink.bytes) / elapsed;
    const loadCpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6 / elapsed;
    const rss = process.memoryUsage.rss();
    const perSocket = (rss - idleRss) / (open + 20);
    console.log(
      `${String(open + 20).padStart(7)}  ${String(rate).padStart(7)}  ${String(Math.round(delivered)).padStart(15)}  ${after.p50.toFixed(1).padStart(11)} / ${after.p99.toFixed(1)} / ${after.max.toFixed(1)}  ` +
        `${((100 * (cpu.user + cpu.system)) / 1e6 / elapsed).toFixed(0).padStart(9)}%  ${(rss / 1048576).toFixed(0).padStart(7)} MB  ${(perSocket / 1024).toFixed(1).padStart(7)} KB  (${(loadCpu * 100).toFixed(0)}%)` +
        `  ${(wireBytes / 1048576).toFixed(0)} MB/s on the wire, ${perFrame.toFixed(1)} messages/frame, event-loop delay p50/p99 ${(loopDelay.percentile(50) / 1e6).toFixed(0)}/${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms` +
        (after.refused - before.refused ? `  [${after.refused - before.refused} sends refused]` : ''),
    );
   }
  }
  for (const s of sinks) s.child.kill('SIGKILL');
  load.send({ cmd: 'exit' });
  await new Promise((r) => load.once('exit', r));
  await server.stop();
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
