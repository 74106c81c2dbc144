/**
 * One recorder child process (recorder/main.ts) seen from the server: started ahead as a
 * spare (Node takes a few hundred ms to boot), then given a recording with `start`; typed
 * messages both ways, log lines forwarded into the server's log, its exit reported once.
 * Supervision (restart with resume) is the RecordingService's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RecorderCommand, RecorderMessage, RecorderSettings } from '../../protocol/recorder.ts';
import type { Logger } from '../logger.ts';

const RECORDER_MAIN = fileURLToPath(new URL('../../recorder/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export class RecorderProcess {
  private readonly child: ChildProcess;
  private exited = false;
  private onMessage: (m: RecorderMessage) => void = () => {};
  private log: Logger;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(log: Logger) {
    this.child = fork(RECORDER_MAIN, [], {
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.log = log.child({ pid: this.child.pid });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        try {
          const { level = 30, msg = 'recorder', ...rest } = JSON.parse(line) as { level?: number; msg?: string };
          this.log[level >= 50 ? 'error' : level >= 40 ? 'warn' : 'info'](rest, msg);
        } catch {
          this.log.warn({ line }, 'recorder output');
        }
      });
    }
    this.child.on('message', (m: RecorderMessage) => {
      if (m && typeof m === 'object' && 't' in m) this.onMessage(m);
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
    });
  }

  /** Hands the process its recording. */
  start(settings: RecorderSettings, onMessage: (m: RecorderMessage) => void, log: Logger): void {
    this.onMessage = onMessage;
    this.log = log.child({ pid: this.child.pid });
    this.send({ t: 'start', settings });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  send(c: RecorderCommand): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(c, () => {
      // The process went away meanwhile: its exit is handled there.
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }
}
