/**
 * Structured logs with pino. Secrets are redacted by path wherever they would appear
 * (headers, bodies, errors); code should still never log them on purpose. Errors are
 * logged without the values a failed database query carried (see withoutQueryValues).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  'streamKey',
  '*.streamKey',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go (tests capture them); defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: (err: unknown) => pino.stdSerializers.err(withoutQueryValues(err) as Error) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/**
 * A failed query's error (drizzle's DrizzleQueryError) repeats its parameters in its message
 * and stack: password and stream-key hashes, key ciphertexts, whatever a user typed. The
 * driver's error may quote row values in `detail` ("Key (email)=(...) already exists").
 * This gives an error with the same name, message, stack and cause chain without them.
 */
export function withoutQueryValues(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  const e = err as Error & { params?: unknown; detail?: unknown };
  const cause = withoutQueryValues(e.cause, depth + 1);
  if (e.params === undefined && e.detail === undefined && cause === e.cause) return err;
  const leaked = e.params === undefined ? '' : `\nparams: ${String(e.params)}`;
  const clean = new Error(leaked ? e.message.replace(leaked, '') : e.message, cause === undefined ? undefined : { cause });
  clean.name = e.name;
  clean.stack = leaked ? e.stack?.replace(leaked, '') : e.stack;
  for (const [k, v] of Object.entries(e)) {
    if (k !== 'params' && k !== 'detail' && k !== 'cause') (clean as unknown as Record<string, unknown>)[k] = v;
  }
  return clean;
}
