/**
 * A private network namespace for tests with third-party stacks whose ICE (libnice) never
 * offers loopback: two veth ends inside it (10.203.N.2 and .3), nothing shared with the
 * machine's own interfaces. Needs root (`ip netns`); CI runs as root.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NetNs {
  name: string;
  /** Address the server binds (HTTP and ICE). */
  serverAddress: string;
  /** Second address inside the namespace (clients may use it). */
  peerAddress: string;
  spawn(cmd: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** A script that runs /usr/bin/chromium inside the namespace (for playwright's executablePath). */
  chromiumWrapper(dir: string): string;
  destroy(): void;
}

export function createNetNs(label: string): NetNs {
  const subnet = randomInt(10, 250);
  const name = `glint-${label}-${process.pid}-${subnet}`;
  const suffix = `${process.pid % 1000}${subnet}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const inNs = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
  const a = `ga${suffix}`.slice(0, 15);
  const b = `gb${suffix}`.slice(0, 15);
  ip('netns', 'add', name);
  try {
    inNs('link', 'set', 'lo', 'up');
    inNs('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    inNs('addr', 'add', `10.203.${subnet}.2/24`, 'dev', a);
    inNs('addr', 'add', `10.203.${subnet}.3/24`, 'dev', b);
    inNs('link', 'set', a, 'up');
    inNs('link', 'set', b, 'up');
  } catch (err) {
    ip('netns', 'del', name);
    throw err;
  }
  return {
    name,
    serverAddress: `10.203.${subnet}.2`,
    peerAddress: `10.203.${subnet}.3`,
    spawn: (cmd, args, options = {}) => spawn('ip', ['netns', 'exec', name, cmd, ...args], options),
    chromiumWrapper(dir) {
      const path = join(dir, 'chromium-in-netns.sh');
      writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${name} /usr/bin/chromium "$@"\n`);
      chmodSync(path, 0o755);
      return path;
    },
    destroy() {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } finally {
        try {
          ip('netns', 'del', name);
        } catch {
          // already deleted
        }
      }
    },
  };
}
