/**
 * Entry point of an sfu-worker child process. Settings come in GLINT_WORKER_SETTINGS
 * (JSON); requests and events go over the Node IPC channel (protocol/sfu.ts). The worker
 * announces `ready` once its UDP port is bound, and exits when the channel closes.
 */
import nodeDataChannel from 'node-datachannel';
import type { ChannelMessage, SfuErrorCode, SfuEvent, SfuEvents, WorkerSettings } from '../protocol/sfu.ts';
import { SfuError } from './media-router.ts';
import { SfuWorker } from './worker.ts';

const settings = JSON.parse(process.env.GLINT_WORKER_SETTINGS ?? '{}') as WorkerSettings;
const STATS_EVERY_MS = 1000;

function send(message: ChannelMessage): void {
  if (process.connected) process.send!(message);
}

function emit<E extends SfuEvent>(event: E, data: SfuEvents[E]): void {
  send({ t: 'evt', event, data });
}

// libdatachannel warns about every unusable remote candidate (IPv6 or TCP ones on an
// IPv4 UDP socket): only show its warnings when debugging.
const levels: Record<string, 'Verbose' | 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal'> = {
  trace: 'Verbose', debug: 'Warning', info: 'Error', warn: 'Error', error: 'Error', fatal: 'Fatal', silent: 'Fatal',
};
nodeDataChannel.initLogger(levels[settings.logLevel] ?? 'Warning', (level, message) => {
  process.stderr.write(`${JSON.stringify({ level: 40, worker: settings.workerId, libdatachannel: level, msg: message })}\n`);
});

// Binding the mux port up front both proves it is free and keeps it ours for every peer.
let listener: InstanceType<typeof nodeDataChannel.IceUdpMuxListener>;
try {
  listener = new nodeDataChannel.IceUdpMuxListener(settings.port, settings.bindAddress);
} catch (err) {
  process.stderr.write(`sfu-worker ${settings.workerId}: cannot bind UDP ${settings.bindAddress}:${settings.port}: ${(err as Error).message}\n`);
  process.exit(3);
}

const worker = new SfuWorker(settings, emit);

process.on('message', (raw: ChannelMessage) => {
  if (raw?.t !== 'req') return;
  const { id, method, data } = raw;
  const handler = worker.handlers[method] as ((d: unknown) => unknown) | undefined;
  if (!handler) {
    send({ t: 'res', id, ok: false, error: { code: 'BAD_REQUEST', message: `unknown method ${String(method)}` } });
    return;
  }
  Promise.resolve()
    .then(() => handler(data))
    .then(
      (result) => send({ t: 'res', id, ok: true, data: result }),
      (err: unknown) => {
        const code: SfuErrorCode = err instanceof SfuError ? err.code : 'INTERNAL';
        const message = err instanceof Error ? err.message : String(err);
        if (code === 'INTERNAL') process.stderr.write(`${JSON.stringify({ level: 50, worker: settings.workerId, method, msg: message, stack: (err as Error)?.stack })}\n`);
        send({ t: 'res', id, ok: false, error: { code, message } });
      },
    );
});

function shutdown(): void {
  worker.close();
  listener.stop();
  nodeDataChannel.cleanup();
  process.exit(0);
}
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);

emit('ready', { pid: process.pid, port: settings.port, address: settings.bindAddress });
setInterval(() => emit('stats', worker.stats()), STATS_EVERY_MS).unref();
