/**
 * Composition root of one Glint server: builds every component from the config and wires
 * them together. main.ts runs it as a process; tests run several in one process.
 */
import type { DestinationStream } from 'pino';
import { API_PATH_PREFIXES } from '../protocol/paths.ts';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { loadSecrets } from './secrets.ts';
import { prepareDataDir } from './data-dir.ts';
import { createDatabase, type Database } from './db/index.ts';
import { UsersRepo } from './db/users-repo.ts';
import { RefreshTokensRepo } from './db/refresh-tokens-repo.ts';
import { StreamsRepo } from './db/streams-repo.ts';
import { createBus, type Bus } from './bus/index.ts';
import type { ClusterDirectory } from './cluster/directory.ts';
import { AccessTokens } from './auth/tokens.ts';
import { AuthService } from './auth/auth-service.ts';
import { LoginThrottle } from './auth/login-throttle.ts';
import { createRateLimitStore, type RateLimitStore } from './rate-limit/rate-limit-store.ts';
import { StreamKeys } from './streams/stream-keys.ts';
import { StreamService } from './streams/stream-service.ts';
import { HttpServer } from './http/http-server.ts';
import { StaticFiles } from './http/static-files.ts';
import { contentSecurityPolicy } from './http/security-policy.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { registerAuthRoutes } from './http/auth-routes.ts';
import { registerStreamRoutes } from './http/stream-routes.ts';
import { registerChatRoutes } from './http/chat-routes.ts';
import { ChatRepo } from './db/chat-repo.ts';
import { ChatStore } from './chat/chat-store.ts';
import { Channels } from './chat/channels.ts';
import { ChatService } from './chat/chat-service.ts';
import { ChatHub } from './chat/chat-hub.ts';
import { availableParallelism } from 'node:os';
import { WorkerPool } from './sfu/worker-pool.ts';
import { ensureDtlsCertificate } from './sfu/certificate.ts';
import { registerSfuMetrics } from './sfu/sfu-metrics.ts';
import { MediaService } from './media/media-service.ts';
import { StreamControl } from './media/stream-control.ts';
import { IceServers } from './media/ice-servers.ts';
import { registerWhipRoutes } from './whip/whip-routes.ts';
import { registerWhepRoutes } from './whep/whep-routes.ts';
import { resolve as resolvePath } from 'node:path';
import { RecordingsRepo } from './db/recordings-repo.ts';
import { HlsService } from './hls/hls-service.ts';
import { registerHlsRoutes } from './hls/hls-routes.ts';
import { HlsRelay } from './hls/hls-relay.ts';
import { ABR_LADDER, RecordingService } from './recording/recording-service.ts';
import { findFfmpeg } from '../recorder/ffmpeg.ts';
import { createDirectory } from './cluster/index.ts';
import { Cluster } from './cluster/cluster.ts';
import { registerInternalRoutes } from './cluster/internal-routes.ts';
import { resolveNodeId, resolveNodeUrl } from './cluster/node-identity.ts';



export interface AppOptions {
  /** Where log lines go (tests capture them). Defaults to stdout. */
  logDestination?: DestinationStream;
}

export interface App {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly http: HttpServer;
  readonly db: Database;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly media: MediaService;
  readonly workers: WorkerPool;
  readonly hls: HlsService;
  readonly recording: RecordingService;
  readonly cluster: Cluster;
  /** Base URL browsers and encoders use (PUBLIC_URL, else http://localhost:<port>). */
  publicUrl(): string;
  start(): Promise<void>;
  /** Stops taking requests and finishes those in flight. */
  drain(): Promise<void>;
  /** Drains, then closes every resource. Idempotent. */
  stop(): Promise<void>;
}

export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const log = createLogger({ level: config.log.level, destination: options.logDestination });
  prepareDataDir(config.dataDir, log);
  const metrics = createMetrics();
  const secrets = loadSecrets({
    dataDir: config.dataDir,
    jwtSecret: config.auth.jwtSecret,
    streamKeyEncryptionKey: config.streams.keyEncryptionKey,
    clusterSecret: config.cluster.secret,
  });
  const db = await createDatabase({ url: config.database.url, dataDir: config.dataDir });
  let bus: Bus;
  let rateLimits: RateLimitStore;
  let directory: ClusterDirectory;
  try {
    bus = await createBus({ url: config.redis.url, prefix: config.redis.keyPrefix, log });
  } catch (err) {
    await db.close();
    throw err;
  }
  try {
    rateLimits = await createRateLimitStore({ url: config.redis.url, prefix: config.redis.keyPrefix, log });
  } catch (err) {
    await bus.close();
    await db.close();
    throw err;
  }
  try {
    directory = await createDirectory({ url: config.redis.url, prefix: config.redis.keyPrefix, log });
  } catch (err) {
    await rateLimits.close();
    await bus.close();
    await db.close();
    throw err;
  }
  log.info({ database: db.kind, bus: bus.kind }, 'backends ready');

  const http = new HttpServer({
    host: config.http.host,
    port: config.http.port,
    bodyLimitBytes: config.http.bodyLimitBytes,
    corsOrigins: config.http.corsOrigins,
    trustProxy: config.http.trustProxy,
    trustedProxies: config.http.trustedProxies,
    apiPrefixes: [...API_PATH_PREFIXES],
    log,
    metrics,
    staticFiles: new StaticFiles(config.http.clientDir),
    contentSecurityPolicy: contentSecurityPolicy(config.http.publicUrl),
  });
  const publicUrl = () => config.http.publicUrl || `http://localhost:${http.port || config.http.port}`;

  const accessTokens = new AccessTokens(secrets.jwtKey, config.auth.accessTokenTtlSeconds);
  const auth = new AuthService({
    users: new UsersRepo(db.db),
    refreshTokens: new RefreshTokensRepo(db.db),
    accessTokens,
    refreshTokenKey: secrets.jwtKey,
    refreshTokenTtlSeconds: config.auth.refreshTokenTtlSeconds,
    refreshReuseGraceSeconds: config.auth.refreshReuseGraceSeconds,
    throttle: new LoginThrottle({
      store: rateLimits,
      maxFailuresPerAccountAndIp: config.auth.loginMaxFailuresPerAccount,
      maxFailuresPerIp: config.auth.loginMaxFailuresPerIp,
      windowMs: config.auth.loginWindowSeconds * 1000,
      accountBackoffAfter: config.auth.loginAccountBackoffAfter,
      accountWindowMs: config.auth.loginAccountWindowSeconds * 1000,
      registrationsPerIp: config.auth.registerMaxPerIp,
      registrationWindowMs: config.auth.registerWindowSeconds * 1000,
    }),
    refreshTokenSweepMs: config.auth.refreshTokenSweepSeconds * 1000,
    log: log.child({ component: 'auth' }),
  });
  const streamsRepo = new StreamsRepo(db.db);
  const streams = new StreamService({
    streams: streamsRepo,
    keys: new StreamKeys(secrets.streamKeyEncryptionKey),
    publicOrigin: (requestOrigin) => config.http.publicUrl || requestOrigin || publicUrl(),
    log: log.child({ component: 'streams' }),
  });

  const workers = new WorkerPool({
    count: config.rtc.workers || availableParallelism(),
    portBase: config.rtc.portBase,
    log: log.child({ component: 'sfu' }),
    base: {
      bindAddress: config.rtc.bindAddress,
      announcedAddress: config.rtc.announcedAddress,
      pipeAddress: config.rtc.pipeAddress,
      iceServers: [],
      maxPeers: config.rtc.maxPeersPerWorker,
      connectTimeoutSeconds: config.rtc.connectTimeoutSeconds,
      publisherIdleTimeoutSeconds: config.rtc.publisherIdleTimeoutSeconds,
      maxPublishBitrate: config.rtc.maxPublishBitrate,
      logLevel: config.log.level,
      ...ensureDtlsCertificate(config.dataDir, log),
    },
  });
  const nodeId = resolveNodeId(config.cluster.nodeId, config.dataDir);
  const cluster = new Cluster({
    directory,
    nodeId,
    url: () => resolveNodeUrl(config.cluster.nodeUrl, config.http.host, http.port || config.http.port),
    mediaAddress: config.rtc.pipeAddress || config.rtc.announcedAddress,
    secret: secrets.clusterSecret,
    secretGenerated: secrets.clusterSecretGenerated,
    heartbeatMs: config.cluster.heartbeatSeconds * 1000,
    ttlMs: config.cluster.nodeTtlSeconds * 1000,
    load: () => ({ peers: workers.all().reduce((n, w) => n + w.load, 0), capacity: workers.all().length * config.rtc.maxPeersPerWorker }),
    // Called only while running, after `recording` below exists.
    recorded: (id): boolean => recording.isRecording(id),
    log: log.child({ component: 'cluster', nodeId }),
  });
  const media = new MediaService({
    pool: workers,
    streams,
    cluster,
    bus,
    maxPeersPerWorker: config.rtc.maxPeersPerWorker,
    reconnectGraceSeconds: config.rtc.reconnectGraceSeconds,
    viewerConnectTimeoutSeconds: config.rtc.viewerConnectTimeoutSeconds,
    maxPendingViewersPerIp: config.rtc.maxPendingViewersPerIp,
    maxPendingViewersPerWorker: config.rtc.maxPendingViewersPerWorker,
    // Called only while serving requests, after `recording` below exists.
    hlsUrlOf: (id): string | null => (recording.isRecording(id) ? `/hls/${id}/master.m3u8` : null),
    log: log.child({ component: 'media' }),
  });

  registerSfuMetrics(metrics, workers, media);

  // Recording: LL-HLS, DVR and VOD of every live stream (FFmpeg in a recorder process per stream).
  const recordingsRepo = new RecordingsRepo(db.db);
  const mediaDir = resolvePath(config.dataDir, 'media');
  const hls = new HlsService({
    mediaDir,
    targetDurationSeconds: config.recording.targetDurationSeconds,
    partTargetSeconds: config.recording.partTargetSeconds,
    dvrWindowSeconds: config.hls.dvrWindowSeconds,
    partHoldBackParts: config.hls.partHoldBackParts,
    bitrates: (name) => ({ videoBitrate: ABR_LADDER.find((r) => r.name === name)?.videoBitrate, audioBitrate: config.recording.audioBitrate }),
    recordings: recordingsRepo,
    log: log.child({ component: 'hls' }),
  });
  const ffmpeg = config.recording.enabled ? findFfmpeg(config.recording.ffmpegPath) : undefined;
  if (config.recording.enabled && !ffmpeg) log.warn({ ffmpegPath: config.recording.ffmpegPath }, 'no usable FFmpeg (FFMPEG_PATH, ffmpeg on PATH, @ffmpeg-installer/ffmpeg): live streams are not recorded');
  else if (ffmpeg) log.info({ ffmpeg: ffmpeg.path, version: ffmpeg.major, from: ffmpeg.source }, 'recording live streams with FFmpeg');
  const recording = new RecordingService({
    config: config.recording, mediaDir, ffmpeg, media, hls, repo: recordingsRepo, nodeId, metrics,
    logLevel: config.log.level, log: log.child({ component: 'recording' }),
  });

  const streamControl = new StreamControl({ bus, media, recording, log: log.child({ component: 'media' }) });

  const chatRepo = new ChatRepo(db.db);
  const chatStore = new ChatStore({ repo: chatRepo, log: log.child({ component: 'chat' }), metrics, queueMax: config.chat.writeQueueMax });
  const channels = new Channels(chatRepo, chatStore);
  const chat = new ChatService({
    repo: chatRepo, store: chatStore, channels, bus, log: log.child({ component: 'chat' }),
    rules: {
      burst: config.chat.burst, perSecond: config.chat.messagesPerSecond, reactionBurst: config.chat.reactionBurst,
      reactionsPerSecond: config.chat.reactionsPerSecond, duplicateWindowSeconds: config.chat.duplicateWindowSeconds,
    },
  });
  const chatHub = new ChatHub({
    app: http.app, bus, chat, channels, repo: chatRepo, streams, media, tokens: accessTokens, metrics, log: log.child({ component: 'chat' }),
    maxSocketsPerIp: config.chat.maxSocketsPerIp, clientIp: (res, headers) => http.clientIp(res, headers),
  });

  registerHealthRoutes(http.router, {
    metrics,
    checkReady: async () => {
      if (http.isDraining) throw new Error('draining');
      await withTimeout(db.ping(), 2_000, 'database did not answer within 2 s');
    },
  });
  registerAuthRoutes(http.router, auth, streams);
  registerStreamRoutes(http.router, auth, streams, streamControl);
  registerChatRoutes(http.router, { auth, streams, repo: chatRepo, chat, channels });
  const iceServers = new IceServers(config.rtc.iceServers, config.turn);
  registerWhipRoutes(http.router, media, iceServers);
  registerWhepRoutes(http.router, media, streams, {
    iceServers,
    maxEventStreamsPerIp: config.http.maxEventStreamsPerIp,
    audience: (id) => chatHub.counts(id).webrtc,
  });
  const hlsRelay = new HlsRelay({ hls, recordings: recordingsRepo, cluster, targetDurationSeconds: config.recording.targetDurationSeconds, log: log.child({ component: 'hls' }) });
  registerHlsRoutes(http.router, { hls: hlsRelay, recording, media, streams, preferAboveViewers: config.hls.preferAboveViewers });
  registerInternalRoutes(http.router, { cluster, media, hls });

  let stopping: Promise<void> | undefined;
  const app: App = {
    config,
    log,
    http,
    db,
    bus,
    metrics,
    media,
    workers,
    hls,
    recording,
    cluster,
    publicUrl,
    async start() {
      auth.start();
      await chatStore.start();
      await chatHub.start();
      await streamControl.start();
      try {
        await workers.start();
      } catch (err) {
        await workers.close();
        throw err;
      }
      await recording.start();
      await media.start();
      const port = await http.listen();
      try {
        await cluster.start();
      } catch (err) {
        await app.stop();
        throw err;
      }
      log.info({ host: config.http.host, port, url: publicUrl() }, 'listening');
    },
    drain: () => {
      hls.close(); // held playlist requests answer at once
      return http.drain(config.http.shutdownTimeoutMs);
    },
    stop() {
      stopping ??= (async () => {
        hls.close();
        // Out of the directory first: other nodes stop sending viewers and pipes here.
        await cluster.stop().catch((err) => log.warn({ err: (err as Error).message }, 'cannot leave the cluster directory'));
        await http.drain(config.http.shutdownTimeoutMs);
        auth.close();
        await chatHub.close();
        await streamControl.close();
        await chatStore.close();
        await media.close();
        await recording.close();
        await workers.close();
        await bus.close();
        await rateLimits.close();
        await db.close();
        log.info('stopped');
        log.flush();
      })();
      return stopping;
    },
  };
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
