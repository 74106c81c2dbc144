/**
 * Configuration: literal defaults, then an optional JSON file (GLINT_CONFIG), then
 * environment variables, then one strict zod schema, then frozen. This is the only
 * module that reads process.env; components receive their slice through options.
 * Every key is documented in docs/configuration.md (a test keeps them in step).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isAddressOrRange } from './http/client-address.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ConfigSchema = z.strictObject({
  http: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    /** Origin browsers and encoders use to reach this server; '' means http://localhost:<port>. */
    publicUrl: z.union([z.literal(''), z.url()]),
    bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024),
    corsOrigins: z.array(z.string().min(1)).min(1),
    trustProxy: z.boolean(),
    /** Further proxies (CDN, load balancer) in front of the one Glint sees, as addresses or CIDR ranges. */
    trustedProxies: z.array(z.string().refine(isAddressOrRange, 'must be an IP address or a CIDR range')),
    shutdownTimeoutMs: z.number().int().min(0),
    /** Server-sent event streams one client address may hold open on a node. */
    maxEventStreamsPerIp: z.number().int().min(1),
    clientDir: z.string().min(1),
  }),
  dataDir: z.string().min(1),
  database: z.strictObject({
    url: z.string(),
  }),
  redis: z.strictObject({
    url: z.string(),
    keyPrefix: z.string().min(1),
  }),
  log: z.strictObject({
    level: z.enum(LOG_LEVELS),
  }),
  cluster: z.strictObject({
    /** This node's name in the cluster directory; '' = hostname plus a random suffix (new per process). */
    nodeId: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dots, dashes or underscores')]),
    /** The internal HTTP URL other nodes reach this one on; '' = derived from HOST and PORT. */
    nodeUrl: z.union([z.literal(''), z.url()]),
    /** Signs requests between nodes; '' = generated into <dataDir>/secrets.json (one node only). */
    secret: z.union([z.literal(''), z.string().min(32, 'must be at least 32 characters')]),
    /** How often a node refreshes its entry (and its streams') in the directory. */
    heartbeatSeconds: z.number().min(0.2).max(60),
    /** A node (and the streams it is the origin of) is forgotten this long after its last heartbeat. */
    nodeTtlSeconds: z.number().min(1).max(300),
  }),
  auth: z.strictObject({
    jwtSecret: z.string(),
    accessTokenTtlSeconds: z.number().int().min(30),
    refreshTokenTtlSeconds: z.number().int().min(60),
    refreshReuseGraceSeconds: z.number().int().min(0).max(60),
    loginMaxFailuresPerAccount: z.number().int().min(1),
    loginMaxFailuresPerIp: z.number().int().min(1),
    loginWindowSeconds: z.number().int().min(1),
    loginAccountBackoffAfter: z.number().int().min(1),
    loginAccountWindowSeconds: z.number().int().min(1),
    registerMaxPerIp: z.number().int().min(1),
    registerWindowSeconds: z.number().int().min(1),
    /** How often used-up refresh tokens (expired, or revoked a week ago) are deleted. */
    refreshTokenSweepSeconds: z.number().int().min(1),
  }),
  streams: z.strictObject({
    keyEncryptionKey: z.string(),
  }),
  chat: z.strictObject({
    burst: z.number().int().min(1),
    messagesPerSecond: z.number().positive(),
    reactionBurst: z.number().int().min(1),
    reactionsPerSecond: z.number().positive(),
    duplicateWindowSeconds: z.number().int().min(0),
    writeQueueMax: z.number().int().min(100),
    maxSocketsPerIp: z.number().int().min(1),
  }),
  rtc: z.strictObject({
    /** sfu-worker processes; 0 = one per CPU core. */
    workers: z.number().int().min(0).max(256),
    bindAddress: z.string().min(1),
    announcedAddress: z.string(),
    /** Address other nodes reach this node's workers on for pipes; '' = the announced address. */
    pipeAddress: z.string(),
    portBase: z.number().int().min(1).max(65535),
    maxPeersPerWorker: z.number().int().min(1),
    connectTimeoutSeconds: z.number().int().min(1),
    reconnectGraceSeconds: z.number().int().min(0),
    publisherIdleTimeoutSeconds: z.number().int().min(2),
    viewerConnectTimeoutSeconds: z.number().int().min(1),
    maxPendingViewersPerIp: z.number().int().min(1),
    maxPendingViewersPerWorker: z.number().int().min(1),
    maxPublishBitrate: z.number().int().min(100_000),
    /** Offered to browsers and encoders as Link: rel="ice-server" (STUN/TURN). */
    iceServers: z.array(z.strictObject({ urls: z.string().regex(/^(stun|stuns|turn|turns):/, 'must be a stun: or turn: URL'), username: z.string().optional(), credential: z.string().optional() })),
  }),
  turn: z.strictObject({
    /** TURN servers offered with credentials minted per answer (TURN REST API); [] = none. */
    urls: z.array(z.string().regex(/^turns?:[^\s<>"]+$/, 'must be a turn: or turns: URL')),
    /** coturn's `static-auth-secret`: signs the credentials. */
    secret: z.union([z.literal(''), z.string().min(16, 'must be at least 16 characters')]),
    /** How long minted credentials stay valid; must outlast the longest session (coturn checks them on every refresh). */
    ttlSeconds: z.number().int().min(60),
  }),
  recording: z.strictObject({
    /** Record every live stream into LL-HLS, DVR and VOD (needs FFmpeg). */
    enabled: z.boolean(),
    /** FFmpeg binary; '' = `ffmpeg` on PATH, else the @ffmpeg-installer/ffmpeg package. */
    ffmpegPath: z.string(),
    segmentSeconds: z.number().min(0.5).max(10),
    partTargetSeconds: z.number().min(0.1).max(1),
    targetDurationSeconds: z.number().int().min(1).max(20),
    audioBitrate: z.number().int().min(32_000).max(512_000),
    rtpPortMin: z.number().int().min(1024).max(65535),
    rtpPortMax: z.number().int().min(1024).max(65535),
    /** Transcode 720p/480p/240p renditions besides the copied source. */
    abr: z.boolean(),
    /** Finished recordings older than this are deleted with their rows; 0 = kept forever. */
    retentionDays: z.number().min(0),
  }),
  hls: z.strictObject({
    /** How far back viewers can seek while a stream is live. */
    dvrWindowSeconds: z.number().int().min(10),
    /** The Watch page starts with HLS once a stream has more WebRTC viewers than this; 0 = never. */
    preferAboveViewers: z.number().int().min(0),
    /** PART-HOLD-BACK in parts: how far behind the live edge LL-HLS players stay (the spec's minimum, 2, by default). */
    partHoldBackParts: z.number().min(2).max(10),
  }),
});

export type Config = z.infer<typeof ConfigSchema>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ConfigInput = DeepPartial<Config>;

export const DEFAULTS: Config = {
  http: {
    host: '0.0.0.0',
    port: 8080,
    publicUrl: '',
    bodyLimitBytes: 128 * 1024,
    corsOrigins: ['*'],
    trustProxy: false,
    trustedProxies: [],
    shutdownTimeoutMs: 10_000,
    maxEventStreamsPerIp: 100,
    clientDir: 'dist/client',
  },
  dataDir: './data',
  database: { url: '' },
  redis: { url: '', keyPrefix: 'glint' },
  log: { level: 'info' },
  cluster: {
    nodeId: '',
    nodeUrl: '',
    secret: '',
    heartbeatSeconds: 2,
    nodeTtlSeconds: 6,
  },
  auth: {
    jwtSecret: '',
    accessTokenTtlSeconds: 900,
    refreshTokenTtlSeconds: 30 * 24 * 3600,
    refreshReuseGraceSeconds: 10,
    loginMaxFailuresPerAccount: 5,
    loginMaxFailuresPerIp: 20,
    loginWindowSeconds: 900,
    loginAccountBackoffAfter: 20,
    loginAccountWindowSeconds: 3600,
    registerMaxPerIp: 10,
    registerWindowSeconds: 3600,
    refreshTokenSweepSeconds: 3600,
  },
  streams: { keyEncryptionKey: '' },
  chat: {
    burst: 5,
    messagesPerSecond: 1,
    reactionBurst: 10,
    reactionsPerSecond: 4,
    duplicateWindowSeconds: 30,
    writeQueueMax: 20_000,
    maxSocketsPerIp: 100,
  },
  rtc: {
    workers: 0,
    bindAddress: '0.0.0.0',
    announcedAddress: '',
    pipeAddress: '',
    portBase: 40000,
    maxPeersPerWorker: 500,
    connectTimeoutSeconds: 15,
    reconnectGraceSeconds: 20,
    publisherIdleTimeoutSeconds: 10,
    viewerConnectTimeoutSeconds: 10,
    maxPendingViewersPerIp: 10,
    maxPendingViewersPerWorker: 50,
    maxPublishBitrate: 4_000_000,
    iceServers: [],
  },
  turn: { urls: [], secret: '', ttlSeconds: 86_400 },
  recording: {
    enabled: true,
    ffmpegPath: '',
    segmentSeconds: 1,
    partTargetSeconds: 0.35,
    targetDurationSeconds: 2,
    audioBitrate: 128_000,
    rtpPortMin: 46000,
    rtpPortMax: 46999,
    abr: false,
    retentionDays: 0,
  },
  hls: {
    dvrWindowSeconds: 7200,
    preferAboveViewers: 0,
    partHoldBackParts: 2,
  },
};

type EnvKind = 'string' | 'int' | 'float' | 'bool' | 'list' | 'json';
/** Environment variable -> config path. Part of the public contract: manifests use these names. */
export const ENV_VARS: ReadonlyArray<{ env: string; path: string; kind: EnvKind }> = [
  { env: 'HOST', path: 'http.host', kind: 'string' },
  { env: 'PORT', path: 'http.port', kind: 'int' },
  { env: 'PUBLIC_URL', path: 'http.publicUrl', kind: 'string' },
  { env: 'BODY_LIMIT_BYTES', path: 'http.bodyLimitBytes', kind: 'int' },
  { env: 'CORS_ORIGINS', path: 'http.corsOrigins', kind: 'list' },
  { env: 'TRUST_PROXY', path: 'http.trustProxy', kind: 'bool' },
  { env: 'TRUSTED_PROXIES', path: 'http.trustedProxies', kind: 'list' },
  { env: 'SHUTDOWN_TIMEOUT_MS', path: 'http.shutdownTimeoutMs', kind: 'int' },
  { env: 'SSE_MAX_STREAMS_PER_IP', path: 'http.maxEventStreamsPerIp', kind: 'int' },
  { env: 'CLIENT_DIR', path: 'http.clientDir', kind: 'string' },
  { env: 'DATA_DIR', path: 'dataDir', kind: 'string' },
  { env: 'DATABASE_URL', path: 'database.url', kind: 'string' },
  { env: 'REDIS_URL', path: 'redis.url', kind: 'string' },
  { env: 'REDIS_KEY_PREFIX', path: 'redis.keyPrefix', kind: 'string' },
  { env: 'LOG_LEVEL', path: 'log.level', kind: 'string' },
  { env: 'NODE_ID', path: 'cluster.nodeId', kind: 'string' },
  { env: 'NODE_URL', path: 'cluster.nodeUrl', kind: 'string' },
  { env: 'CLUSTER_SECRET', path: 'cluster.secret', kind: 'string' },
  { env: 'CLUSTER_HEARTBEAT_SECONDS', path: 'cluster.heartbeatSeconds', kind: 'float' },
  { env: 'CLUSTER_NODE_TTL_SECONDS', path: 'cluster.nodeTtlSeconds', kind: 'float' },
  { env: 'JWT_SECRET', path: 'auth.jwtSecret', kind: 'string' },
  { env: 'ACCESS_TOKEN_TTL_SECONDS', path: 'auth.accessTokenTtlSeconds', kind: 'int' },
  { env: 'REFRESH_TOKEN_TTL_SECONDS', path: 'auth.refreshTokenTtlSeconds', kind: 'int' },
  { env: 'REFRESH_REUSE_GRACE_SECONDS', path: 'auth.refreshReuseGraceSeconds', kind: 'int' },
  { env: 'LOGIN_MAX_FAILURES_PER_ACCOUNT', path: 'auth.loginMaxFailuresPerAccount', kind: 'int' },
  { env: 'LOGIN_MAX_FAILURES_PER_IP', path: 'auth.loginMaxFailuresPerIp', kind: 'int' },
  { env: 'LOGIN_WINDOW_SECONDS', path: 'auth.loginWindowSeconds', kind: 'int' },
  { env: 'LOGIN_ACCOUNT_BACKOFF_AFTER', path: 'auth.loginAccountBackoffAfter', kind: 'int' },
  { env: 'LOGIN_ACCOUNT_WINDOW_SECONDS', path: 'auth.loginAccountWindowSeconds', kind: 'int' },
  { env: 'REGISTER_MAX_PER_IP', path: 'auth.registerMaxPerIp', kind: 'int' },
  { env: 'REGISTER_WINDOW_SECONDS', path: 'auth.registerWindowSeconds', kind: 'int' },
  { env: 'REFRESH_TOKEN_SWEEP_SECONDS', path: 'auth.refreshTokenSweepSeconds', kind: 'int' },
  { env: 'STREAM_KEY_ENCRYPTION_KEY', path: 'streams.keyEncryptionKey', kind: 'string' },
  { env: 'CHAT_BURST', path: 'chat.burst', kind: 'int' },
  { env: 'CHAT_MESSAGES_PER_SECOND', path: 'chat.messagesPerSecond', kind: 'float' },
  { env: 'CHAT_REACTION_BURST', path: 'chat.reactionBurst', kind: 'int' },
  { env: 'CHAT_REACTIONS_PER_SECOND', path: 'chat.reactionsPerSecond', kind: 'float' },
  { env: 'CHAT_DUPLICATE_WINDOW_SECONDS', path: 'chat.duplicateWindowSeconds', kind: 'int' },
  { env: 'CHAT_WRITE_QUEUE_MAX', path: 'chat.writeQueueMax', kind: 'int' },
  { env: 'CHAT_MAX_SOCKETS_PER_IP', path: 'chat.maxSocketsPerIp', kind: 'int' },
  { env: 'RTC_WORKERS', path: 'rtc.workers', kind: 'int' },
  { env: 'RTC_BIND_ADDRESS', path: 'rtc.bindAddress', kind: 'string' },
  { env: 'RTC_ANNOUNCED_ADDRESS', path: 'rtc.announcedAddress', kind: 'string' },
  { env: 'RTC_PIPE_ADDRESS', path: 'rtc.pipeAddress', kind: 'string' },
  { env: 'RTC_PORT_BASE', path: 'rtc.portBase', kind: 'int' },
  { env: 'RTC_MAX_PEERS_PER_WORKER', path: 'rtc.maxPeersPerWorker', kind: 'int' },
  { env: 'RTC_CONNECT_TIMEOUT_SECONDS', path: 'rtc.connectTimeoutSeconds', kind: 'int' },
  { env: 'RTC_RECONNECT_GRACE_SECONDS', path: 'rtc.reconnectGraceSeconds', kind: 'int' },
  { env: 'RTC_PUBLISHER_IDLE_TIMEOUT_SECONDS', path: 'rtc.publisherIdleTimeoutSeconds', kind: 'int' },
  { env: 'RTC_VIEWER_CONNECT_TIMEOUT_SECONDS', path: 'rtc.viewerConnectTimeoutSeconds', kind: 'int' },
  { env: 'RTC_MAX_PENDING_VIEWERS_PER_IP', path: 'rtc.maxPendingViewersPerIp', kind: 'int' },
  { env: 'RTC_MAX_PENDING_VIEWERS_PER_WORKER', path: 'rtc.maxPendingViewersPerWorker', kind: 'int' },
  { env: 'RTC_MAX_PUBLISH_BITRATE', path: 'rtc.maxPublishBitrate', kind: 'int' },
  { env: 'RTC_ICE_SERVERS', path: 'rtc.iceServers', kind: 'json' },
  { env: 'TURN_URLS', path: 'turn.urls', kind: 'list' },
  { env: 'TURN_SECRET', path: 'turn.secret', kind: 'string' },
  { env: 'TURN_TTL_SECONDS', path: 'turn.ttlSeconds', kind: 'int' },
  { env: 'RECORDING_ENABLED', path: 'recording.enabled', kind: 'bool' },
  { env: 'FFMPEG_PATH', path: 'recording.ffmpegPath', kind: 'string' },
  { env: 'RECORDING_SEGMENT_SECONDS', path: 'recording.segmentSeconds', kind: 'float' },
  { env: 'RECORDING_PART_TARGET_SECONDS', path: 'recording.partTargetSeconds', kind: 'float' },
  { env: 'RECORDING_TARGET_DURATION_SECONDS', path: 'recording.targetDurationSeconds', kind: 'int' },
  { env: 'RECORDING_AUDIO_BITRATE', path: 'recording.audioBitrate', kind: 'int' },
  { env: 'RECORDING_RTP_PORT_MIN', path: 'recording.rtpPortMin', kind: 'int' },
  { env: 'RECORDING_RTP_PORT_MAX', path: 'recording.rtpPortMax', kind: 'int' },
  { env: 'RECORDING_ABR', path: 'recording.abr', kind: 'bool' },
  { env: 'RECORDING_RETENTION_DAYS', path: 'recording.retentionDays', kind: 'float' },
  { env: 'HLS_DVR_WINDOW_SECONDS', path: 'hls.dvrWindowSeconds', kind: 'int' },
  { env: 'HLS_PREFER_ABOVE_VIEWERS', path: 'hls.preferAboveViewers', kind: 'int' },
  { env: 'HLS_PART_HOLD_BACK_PARTS', path: 'hls.partHoldBackParts', kind: 'float' },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseEnvValue(name: string, raw: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
      return Number(raw.trim());
    }
    case 'float': {
      if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new ConfigError(`${name} must be a number, got "${raw}"`);
      return Number(raw.trim());
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(`${name} must be true or false, got "${raw}"`);
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new ConfigError(`${name} must be JSON, got "${raw}"`);
      }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(node[p])) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. Tests pass their own. */
  env?: Record<string, string | undefined>;
  /** Overrides applied after env (used by tests and embedding code). */
  overrides?: ConfigInput;
}

/** Builds the frozen configuration, throwing ConfigError with every problem listed. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  let layered: unknown = structuredClone(DEFAULTS);

  const file = env.GLINT_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    layered = merge(layered, parsed);
  }

  const fromEnv: Record<string, unknown> = {};
  for (const { env: name, path, kind } of ENV_VARS) {
    const raw = env[name];
    if (raw !== undefined) setPath(fromEnv, path, parseEnvValue(name, raw, kind));
  }
  layered = merge(layered, fromEnv);
  if (options.overrides) layered = merge(layered, options.overrides);

  const result = ConfigSchema.safeParse(layered);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  config.http.publicUrl = config.http.publicUrl.replace(/\/+$/, '');
  config.cluster.nodeUrl = config.cluster.nodeUrl.replace(/\/+$/, '');
  if (config.cluster.nodeTtlSeconds < config.cluster.heartbeatSeconds * 2) {
    throw new ConfigError(`invalid configuration:\n  cluster.nodeTtlSeconds: must be at least twice cluster.heartbeatSeconds (${config.cluster.heartbeatSeconds} s), or one late heartbeat drops a live node`);
  }
  if (config.turn.urls.length > 0 && !config.turn.secret) {
    throw new ConfigError('invalid configuration:\n  turn.secret: TURN_URLS needs TURN_SECRET (the static-auth-secret of your coturn), or no client can use them');
  }
  return deepFreeze(config);
}
