/**
 * Entry point of a recorder process (one per live stream, spawned by the server). Settings
 * come in GLINT_RECORDER_SETTINGS (JSON), or later in a `start` message when the process
 * was started ahead as a spare (so a new stream's recording starts without waiting for
 * Node). Messages go over the Node IPC channel (protocol/recorder.ts); log lines are JSON
 * on stdout, like the sfu-workers'. When the server asks it to stop, or goes away, it
 * finishes the recording and exits.
 */
import type { RecorderCommand, RecorderMessage, RecorderSettings } from '../protocol/recorder.ts';
import { Recorder } from './recorder.ts';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };
let settings: RecorderSettings | undefined;
let recorder: Recorder | undefined;

function line(level: number, obj: object, msg: string): void {
  if (level < (LEVELS[settings?.logLevel ?? 'info'] ?? 30)) return;
  process.stdout.write(`${JSON.stringify({ level, recording: settings?.recordingId, ...obj, msg })}\n`);
}

const log = {
  info: (obj: object, msg: string) => line(30, obj, msg),
  warn: (obj: object, msg: string) => line(40, obj, msg),
  error: (obj: object, msg: string) => line(50, obj, msg),
};

function send(m: RecorderMessage, sent?: () => void): void {
  if (process.connected) process.send!(m, undefined, {}, () => sent?.());
  else sent?.();
}

function start(s: RecorderSettings): void {
  if (recorder) return;
  settings = s;
  recorder = new Recorder(s, send, log);
  recorder.start();
}

function finishAndExit(why: string): void {
  if (!recorder) process.exit(0); // a spare that never recorded
  log.info({ why }, 'finishing the recording');
  recorder.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err: (err as Error).message }, 'could not finish the recording cleanly');
      process.exit(1);
    },
  );
}

process.on('message', (c: RecorderCommand) => {
  if (c?.t === 'start') start(c.settings);
  else if (c?.t === 'stop') finishAndExit('asked to stop');
  else if (c?.t) recorder?.command(c);
});
process.on('disconnect', () => finishAndExit('the server went away'));
process.on('SIGTERM', () => finishAndExit('SIGTERM'));
// The terminal's Ctrl-C reaches the whole process group: the server decides when we stop.
process.on('SIGINT', () => {});

if (process.env.GLINT_RECORDER_SETTINGS) start(JSON.parse(process.env.GLINT_RECORDER_SETTINGS) as RecorderSettings);
