/**
 * `npm start`: load the config, start one Glint server, drain on SIGTERM/SIGINT.
 */
import { loadConfig, ConfigError } from './config.ts';
import { createApp } from './app.ts';
import { PRIVATE_UMASK } from './data-dir.ts';

async function main(): Promise<void> {
  // What Glint writes (database, secrets, media, logs of its children) is its user's alone.
  process.umask(PRIVATE_UMASK);
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`glint: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  await app.start();
  if (process.stdout.isTTY) console.log(`\n  Glint is running at ${app.publicUrl()}\n`);

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    app.log.info({ signal }, 'draining');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error('glint: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
