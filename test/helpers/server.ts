/**
 * Starts a real Glint server in this process on 127.0.0.1 and a random port, with its own
 * data folder and (for 'postgres') its own fresh database. Log lines are captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../server/app.ts';
import { loadConfig, type ConfigInput } from '../../server/config.ts';
import { createTestDatabase, REDIS_URL, uniquePrefix, type TestDatabase } from './services.ts';
import { freeUdpPortBase } from './ports.ts';
import { started } from './server-logs.ts';

export interface TestServerOptions {
  db?: 'pglite' | 'postgres';
  /** Use the local Redis for the bus (a unique key prefix per server unless given). */
  redis?: boolean;
  /** Reuse an existing data folder / database (restart tests). */
  dataDir?: string;
  databaseUrl?: string;
  config?: ConfigInput;
}

export interface TestServer {
  url: string;
  app: App;
  dataDir: string;
  databaseUrl: string;
  /** Everything logged so far, one JSON object per line. */
  logs(): string;
  /** Stops the server; removes the data folder and database it created itself. */
  stop(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'glint-test-'));
  let database: TestDatabase | undefined;
  let databaseUrl = options.databaseUrl ?? '';
  if (!databaseUrl && options.db === 'postgres') {
    database = await createTestDatabase();
    databaseUrl = database.url;
  }
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const config = loadConfig({
    env: {},
    overrides: {
      ...options.config,
      http: { host: '127.0.0.1', port: 0, clientDir: 'dist/client', ...options.config?.http },
      dataDir,
      database: { url: databaseUrl },
      redis: { url: options.redis ? REDIS_URL : '', keyPrefix: uniquePrefix('srv'), ...options.config?.redis },
      log: { level: 'debug', ...options.config?.log },
      // Every test client comes from 127.0.0.1: the sign-up limit per address is its own test's business.
      auth: { registerMaxPerIp: 10_000, ...options.config?.auth },
      // One sfu-worker on loopback, on ports of its own (test files run in parallel).
      rtc: { workers: 1, bindAddress: '127.0.0.1', portBase: await freeUdpPortBase(), connectTimeoutSeconds: 10, ...options.config?.rtc },
      // Recording (a recorder process and FFmpeg per published stream) only where a test asks for it.
      // TEST_FFMPEG_PATH runs the recording suites against another FFmpeg (e.g. the 4.1 of @ffmpeg-installer).
      recording: { enabled: false, ffmpegPath: process.env.TEST_FFMPEG_PATH ?? '', ...options.config?.recording },
    },
  });
  const app = await createApp(config, { logDestination: destination });
  await app.start();
  const server: TestServer = {
    url: `http://127.0.0.1:${app.http.port}`,
    app,
    dataDir,
    databaseUrl,
    logs: () => lines.join(''),
    async stop() {
      await app.stop();
      if (database) await database.drop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  started.add(server);
  return server;
}
