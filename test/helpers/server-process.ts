/**
 * A Glint server as its own process (`node --import tsx server/main.ts`, as `npm start`
 * runs it after the build), configured by environment like a deployment: for tests that kill
 * a node outright or run several nodes side by side. Its JSON log lines are kept; it binds
 * 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freeTcpPort, freeUdpPortBase } from './ports.ts';

export interface ServerProcess {
  url: string;
  port: number;
  nodeId: string;
  child: ChildProcess;
  dataDir: string;
  /** Log lines so far (JSON, one per line). */
  logs(): string[];
  /** The pids of its sfu-worker processes. */
  workerPids(): number[];
  /** A Prometheus figure of its /metrics (the first sample matching `name` and `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** SIGKILL: the node dies as in a crash (its workers follow it). */
  kill(): Promise<void>;
  /** SIGTERM and wait (drain), then remove its data folder. */
  stop(): Promise<void>;
}

export async function startServerProcess(env: Record<string, string>, options: { nodeId: string; startTimeoutMs?: number }): Promise<ServerProcess> {
  const port = await freeTcpPort();
  const dataDir = mkdtempSync(join(tmpdir(), `glint-${options.nodeId}-`));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      RTC_BIND_ADDRESS: '127.0.0.1',
      RTC_WORKERS: '1',
      RTC_PORT_BASE: String(await freeUdpPortBase()),
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ID: options.nodeId,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.nodeId} exited during start (${child.exitCode}):\n${lines.slice(-20).join('\n')}`);
    if (lines.some((l) => l.includes('"msg":"joined the cluster"'))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.nodeId} did not start:\n${lines.slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let gone = false;
  const proc: ServerProcess = {
    url,
    port,
    nodeId: options.nodeId,
    child,
    dataDir,
    logs: () => lines,
    workerPids() {
      const pids = new Set<number>();
      for (const l of lines) {
        const m = /"component":"sfu","worker":\d+,"pid":(\d+),[^\n]*"msg":"sfu-worker ready"/.exec(l);
        if (m) pids.add(Number(m[1]));
      }
      return [...pids].filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split('\n')) {
        const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
      }
      return undefined;
    },
    async kill() {
      gone = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      gone = true;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return proc;
}
