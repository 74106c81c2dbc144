/**
 * The sfu-worker processes of this node: spawns them (one UDP port each, a slot per worker),
 * waits for their `ready`, and restarts a crashed one after a pause (doubling up to 30 s).
 * Every process gets a fresh WorkerHandle; when one exits, its handle closes and cascades to
 * the routers on it. Placement: the least loaded by the workers' own reports.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { WorkerSettings } from '../../protocol/sfu.ts';
import type { Logger } from '../logger.ts';
import { WorkerHandle } from './worker-handle.ts';

export { WorkerHandle };

export interface WorkerPoolOptions {
  count: number;
  /** Settings shared by every worker; workerId and port are filled in per worker. */
  base: Omit<WorkerSettings, 'workerId' | 'port'>;
  portBase: number;
  log: Logger;
  /** How long to wait for a worker's `ready`. */
  startTimeoutMs?: number;
}

const WORKER_MAIN = fileURLToPath(new URL('../../sfu-workers/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export class WorkerPool {
  /** The current process of each slot. */
  private readonly workers: WorkerHandle[] = [];
  private readonly lostListeners = new Set<(w: WorkerHandle) => void>();
  private stopping = false;

  constructor(private readonly o: WorkerPoolOptions) {}

  /** Spawns every worker and resolves when all are ready (rejects if one cannot start). */
  async start(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.o.count; i++) starts.push(this.spawn(i));
    await Promise.all(starts);
  }

  /** A worker process that was ready exited unexpectedly (its handle has closed). */
  onWorkerLost(listener: (w: WorkerHandle) => void): void {
    this.lostListeners.add(listener);
  }

  /** The ready worker with the fewest peers below `maxPeers`, or undefined when all are full. */
  pick(maxPeers: number): WorkerHandle | undefined {
    let best: WorkerHandle | undefined;
    for (const w of this.workers) {
      if (!w.ready || w.load >= maxPeers) continue;
      if (!best || w.load < best.load) best = w;
    }
    return best;
  }

  get(index: number): WorkerHandle | undefined {
    return this.workers[index];
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

  private spawn(index: number, attempt = 0): Promise<void> {
    const port = this.o.portBase + index;
    const settings: WorkerSettings = { ...this.o.base, workerId: index, port };
    const child = fork(WORKER_MAIN, [], {
      execArgv: ['--import', TSX],
      // Few malloc arenas: libdatachannel's threads otherwise each grow their own, which costs
      // tens of KB of resident memory per peer.
      env: { MALLOC_ARENA_MAX: '2', ...process.env, GLINT_WORKER_SETTINGS: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const handle = new WorkerHandle(index, port, child);
    this.workers[index] = handle;
    const log = this.o.log.child({ worker: index, pid: child.pid });
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

    const startTimeoutMs = this.o.startTimeoutMs ?? 15_000;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sfu-worker ${index} did not become ready within ${startTimeoutMs} ms`)), startTimeoutMs);
      handle.channel.on('ready', (info) => {
        clearTimeout(timer);
        if (handle.closed) return;
        handle.ready = true;
        log.info({ port: info.port, address: info.address }, 'sfu-worker ready');
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!handle.ready) reject(new Error(`sfu-worker ${index} exited during start (code ${code}); is UDP port ${port} free?`));
      });
    });

    child.once('exit', (code, signal) => {
      const wasReady = handle.ready;
      handle.workerClosed(`sfu-worker ${index} exited`);
      if (this.stopping) return;
      log.error({ code, signal }, 'sfu-worker exited; its sessions are lost');
      if (wasReady) for (const l of this.lostListeners) l(handle);
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      setTimeout(() => {
        if (this.stopping) return;
        this.spawn(index, wasReady ? 0 : attempt + 1).catch((err) => log.error({ err: (err as Error).message }, 'sfu-worker restart failed'));
      }, delay).unref();
    });
    return ready;
  }
}
