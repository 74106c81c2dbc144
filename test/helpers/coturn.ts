/**
 * Debian's coturn for TURN tests: a relay on 127.0.0.1 only (UDP and TCP on one free port,
 * relayed ports in a small range), TURN REST API credentials checked with `secret`, and
 * loopback peers allowed (the SFU listens on 127.0.0.1 in tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { freeUdpPortBase } from './ports.ts';

export interface Coturn {
  port: number;
  /** What it logged so far (allocations, 401s). */
  log(): string;
  stop(): Promise<void>;
}

export function requireCoturn(): void {
  if (!existsSync('/usr/bin/turnserver')) throw new Error('coturn is not installed: apt-get install -y coturn (.ci/run does)');
}

export async function startCoturn(secret: string): Promise<Coturn> {
  requireCoturn();
  const port = await freeUdpPortBase();
  const relayMin = randomInt(61000, 64000);
  const dir = mkdtempSync(join(tmpdir(), 'glint-coturn-'));
  const logFile = join(dir, 'turn.log');
  const child: ChildProcess = spawn(
    '/usr/bin/turnserver',
    [
      '-n', // no config file: only these flags
      '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
      `--min-port=${relayMin}`, `--max-port=${relayMin + 200}`,
      '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=glint.test', '--fingerprint',
      '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--no-multicast-peers',
      `--log-file=${logFile}`, '--simple-log', '--pidfile=' + join(dir, 'turn.pid'),
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not start on 127.0.0.1:${port} (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
