/**
 * Prometheus metrics of the media plane, from the figures the workers push every second.
 */
import { Counter, Gauge } from 'prom-client';
import type { WorkerStats } from '../../protocol/sfu.ts';
import type { Metrics } from '../metrics.ts';
import type { MediaService } from '../media/media-service.ts';
import type { WorkerPool } from './worker-pool.ts';

export function registerSfuMetrics(metrics: Metrics, pool: WorkerPool, media: MediaService): void {
  const registers = [metrics.registry];
  const restarts = new Counter({ name: 'glint_sfu_worker_restarts_total', help: 'sfu-worker processes that exited unexpectedly and were restarted.', registers });
  pool.onWorkerLost(() => restarts.inc());

  new Gauge({
    name: 'glint_webrtc_sessions',
    help: 'Open WebRTC sessions on this node, by kind (whip = publishers, whep = viewers, pipe = pipes to other nodes).',
    labelNames: ['kind'],
    registers,
    collect() {
      const counts = media.sessionCounts();
      this.set({ kind: 'whip' }, counts.whip);
      this.set({ kind: 'whep' }, counts.whep);
      this.set({ kind: 'pipe' }, counts.pipe);
    },
  });
  new Gauge({
    name: 'glint_sfu_workers_ready',
    help: 'sfu-worker processes accepting sessions.',
    registers,
    collect() {
      this.set(pool.all().filter((w) => w.ready).length);
    },
  });

  // The figures each worker pushed last (at most a second old): a scrape never waits for a
  // worker that is busy forwarding, and a restarted worker reports nothing until it has.
  const perWorker = (name: string, help: string, pick: (s: WorkerStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const w of pool.all()) if (w.ready && w.stats) this.set({ worker: String(w.index) }, pick(w.stats));
      },
    });
  perWorker('glint_sfu_rtp_packets_received', 'RTP packets received from publishers since the worker started.', (s) => s.packetsIn);
  perWorker('glint_sfu_rtp_packets_sent', 'RTP packets sent to viewers since the worker started.', (s) => s.packetsOut);
  perWorker('glint_sfu_nack_retransmissions', 'Packets resent from the cache in answer to viewer NACKs since the worker started.', (s) => s.nacksAnswered);
  perWorker('glint_sfu_keyframe_requests', 'Keyframe requests (PLI) sent to publishers since the worker started.', (s) => s.keyframeRequests);
  perWorker('glint_sfu_pipes_out', 'Pipes this worker sends a stream into (to other workers and nodes).', (s) => s.pipesOut);
  perWorker('glint_sfu_pipes_in', 'Pipes from other nodes feeding a router on this worker.', (s) => s.pipesIn);
  perWorker('glint_sfu_pipe_nacks_sent', 'Packets lost on pipes from other nodes and asked for again (NACK) since the worker started.', (s) => s.pipeNacksSent);
  perWorker('glint_sfu_pipe_nacks_recovered', 'Packets lost on pipes from other nodes that came back after a NACK since the worker started.', (s) => s.pipeNacksRecovered);
  new Gauge({
    name: 'glint_webrtc_layer_switches',
    help: 'Simulcast layer switches of WebRTC viewers, per live stream on this node (since its routers opened).',
    labelNames: ['stream'],
    registers,
    collect() {
      this.reset();
      const byStream = new Map<string, number>();
      for (const w of pool.all()) {
        if (!w.ready || !w.stats) continue;
        for (const [stream, n] of Object.entries(w.stats.layerSwitches)) byStream.set(stream, (byStream.get(stream) ?? 0) + n);
      }
      for (const [stream, n] of byStream) this.set({ stream }, n);
    },
  });
  perWorker('glint_sfu_worker_resident_memory_bytes', 'Resident memory of the worker process.', (s) => s.rssBytes);
  perWorker('glint_sfu_worker_cpu_seconds', 'CPU time used by the worker process.', (s) => (s.cpuUserMicros + s.cpuSystemMicros) / 1e6);
}
