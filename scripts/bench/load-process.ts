/**
 * Load generators of the benchmarks run in a process of their own (so their CPU is not the
 * server's), driven over Node IPC: start one, and ask it something.
 */
import { fork, type ChildProcess } from 'node:child_process';

const TSX = import.meta.resolve('tsx');

/** Forks `script` (TypeScript, next to the caller) and resolves with it and its first message (its "ready"). */
export async function startLoad(script: URL, env: Record<string, string>): Promise<{ load: ChildProcess; ready: any }> {
  const load = fork(script.pathname, [], { execArgv: ['--import', TSX], env: { ...process.env, ...env } });
  const ready = await new Promise<any>((resolve) => load.once('message', resolve));
  return { load, ready };
}

/** Sends `msg` and resolves with the next message back. */
export function ask(child: ChildProcess, msg: object): Promise<any> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}
