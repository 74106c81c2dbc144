/**
 * The data folder holds the embedded database, generated secrets and media: it is Glint's
 * alone. It is created 0700 (an existing looser one is tightened), and the process runs
 * with umask 077 (main.ts), so what Glint writes is readable by its own user only.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.ts';

export const PRIVATE_UMASK = 0o077;

export function prepareDataDir(dir: string, log: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(dir, mode & 0o700);
    log.info({ dataDir: dir, was: mode.toString(8) }, 'data folder made private to this user (0700)');
  }
}

/**
 * Takes group and other permissions off everything below `dir`: PGlite unpacks its initial
 * database files with mode 0666 whatever the umask says.
 */
export function makePrivate(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, mode & 0o700);
    if (entry.isDirectory()) makePrivate(path);
  }
}
