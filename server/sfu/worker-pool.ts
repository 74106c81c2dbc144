/**
 * The sfu-worker processes of this node: spawns them (one UDP port each), waits for their
 * `ready`, restarts a crashed one after a pause (doubling up to 30 s), and tells the owner
 * which worker was lost so sessions on it can be cleaned up. Placement: least loaded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { SfuEvent, SfuEvents, WorkerSettings, WorkerStats } from '../../protocol/sfu.ts';
import type { Logger } from '../logger.ts';
import { WorkerChannel } from './worker-channel.ts';

export interface WorkerPoolOptions {
  count: number;
  /** Settings shared by every worker; workerId and port are filled in per worker. */
  base: Omit<WorkerSettings, 'workerId' | 'port'>;
  portBase: number;
  log: Logger;
  /** How long to wait for a worker's `ready`. */
  startTimeoutMs?: number;
}

export interface WorkerHandle {
  readonly id: number;
  readonly port: number;
  channel: WorkerChannel;
  child: ChildProcess;
  ready: boolean;
  /** Sessions the server placed here (publishers + viewers). */
  load: number;
  /** Increases with every restart: sessions remember the generation they were placed on. */
  generation: number;
  /** The worker's latest counters (it pushes them every second); undefined until the first. */
  stats: WorkerStats | undefined;
}

const WORKER_MAIN = fileURLToPath(new URL('../../sfu-workers/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export class WorkerPool {
  private readonly workers: WorkerHandle[] = [];
  private readonly lostListeners = new Set<(w: WorkerHandle, generation: number) => void>();
  private readonly eventListeners: Array<{ event: SfuEvent; listener: (data: SfuEvents[SfuEvent]) => void }> = [];
  private stopping = false;

  constructor(private readonly o: WorkerPoolOptions) {}

  /** Spawns every worker and resolves when all are ready (rejects if one cannot start). */
  async start(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.o.count; i++) {
      const handle = { id: i, port: this.o.portBase + i, ready: false, load: 0, generation: 0, stats: undefined } as WorkerHandle;
      this.workers.push(handle);
      starts.push(this.spawn(handle));
    }
    await Promise.all(starts);
  }

  onWorkerLost(listener: (w: WorkerHandle, generation: number) => void): void {
    this.lostListeners.add(listener);
  }

  /** Listens to an event of every worker, including workers restarted later. */
  on<E extends SfuEvent>(event: E, listener: (data: SfuEvents[E]) => void): void {
    this.eventListeners.push({ event, listener: listener as (data: SfuEvents[SfuEvent]) => void });
    for (const w of this.workers) w.channel?.on(event, listener);
  }

  /** The ready worker with the fewest sessions below `maxPeers`, or undefined when all are full. */
  pick(maxPeers: number): WorkerHandle | undefined {
    let best: WorkerHandle | undefined;
    for (const w of this.workers) {
      if (!w.ready || w.load >= maxPeers) continue;
      if (!best || w.load < best.load) best = w;
    }
    return best;
  }

  get(id: number): WorkerHandle | undefined {
    return this.workers[id];
  }

  all(): readonly WorkerHandle[] {
    return this.workers;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            const t = setTimeout(() => w.child.kill('SIGKILL'), 3000);
            w.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.child.kill('SIGTERM');
          }),
      ),
    );
  }

  private spawn(handle: WorkerHandle, attempt = 0): Promise<void> {
    const settings: WorkerSettings = { ...this.o.base, workerId: handle.id, port: handle.port };
    const child = fork(WORKER_MAIN, [], {
      execArgv: ['--import', TSX],
      // Few malloc arenas: libdatachannel's threads otherwise each grow their own, which costs
      // tens of KB of resident memory per peer.
      env: { MALLOC_ARENA_MAX: '2', ...process.env, GLINT_WORKER_SETTINGS: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    handle.child = child;
    handle.channel = new WorkerChannel(child);
    for (const { event, listener } of this.eventListeners) handle.channel.on(event, listener);
    handle.channel.on('stats', (stats) => {
      if (handle.child === child) handle.stats = stats;
    });
    handle.ready = false;
    handle.stats = undefined;
    const log = this.o.log.child({ worker: handle.id, pid: child.pid });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        try {
          const { level = 30, msg = 'worker', ...rest } = JSON.parse(line) as { level?: number; msg?: string };
          log[level >= 50 ? 'error' : level >= 40 ? 'warn' : 'info'](rest, msg);
        } catch {
          log.warn({ line }, 'worker output');
        }
      });
    }

    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sfu-worker ${handle.id} did not become ready within ${this.o.startTimeoutMs ?? 15_000} ms`)), this.o.startTimeoutMs ?? 15_000);
      handle.channel.on('ready', (info) => {
        clearTimeout(timer);
        handle.ready = true;
        log.info({ port: info.port, address: info.address }, 'sfu-worker ready');
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!handle.ready) reject(new Error(`sfu-worker ${handle.id} exited during start (code ${code}); is UDP port ${handle.port} free?`));
      });
    });

    child.once('exit', (code, signal) => {
      const generation = handle.generation;
      const wasReady = handle.ready;
      handle.ready = false;
      handle.channel.close(`sfu-worker ${handle.id} exited`);
      if (this.stopping) return;
      log.error({ code, signal }, 'sfu-worker exited; its sessions are lost');
      handle.load = 0;
      handle.generation++;
      if (wasReady) for (const l of this.lostListeners) l(handle, generation);
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      setTimeout(() => {
        if (this.stopping) return;
        this.spawn(handle, wasReady ? 0 : attempt + 1).catch((err) => log.error({ err: (err as Error).message }, 'sfu-worker restart failed'));
      }, delay).unref();
    });
    return ready;
  }
}
