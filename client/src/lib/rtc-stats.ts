/**
 * Figures for people from `RTCPeerConnection.getStats()` reports: what the Studio shows
 * while broadcasting and the Watch page's stats overlay. Pure functions over a report and
 * the previous sample, so rates are per interval and tests can feed fake reports.
 */

/** What the functions read from an RTCStatsReport (a Map of stats objects). */
export interface StatsReportLike {
  forEach(callback: (stat: unknown) => void): void;
}

type Stat = Record<string, unknown> & { type?: string; id?: string; timestamp?: number };

function collect(report: StatsReportLike): { byType: Map<string, Stat[]>; byId: Map<string, Stat>; at: number } {
  const byType = new Map<string, Stat[]>();
  const byId = new Map<string, Stat>();
  let at = 0;
  report.forEach((value) => {
    const stat = value as Stat;
    if (!stat || typeof stat.type !== 'string') return;
    let list = byType.get(stat.type);
    if (!list) byType.set(stat.type, (list = []));
    list.push(stat);
    if (typeof stat.id === 'string') byId.set(stat.id, stat);
    if (typeof stat.timestamp === 'number' && stat.timestamp > at) at = stat.timestamp;
  });
  return { byType, byId, at };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function kindOf(stat: Stat): string | undefined {
  return (stat.kind ?? stat.mediaType) as string | undefined;
}

function sum(stats: Stat[], field: string): number | undefined {
  let total: number | undefined;
  for (const s of stats) {
    const v = num(s[field]);
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}

/** kbit/s from two byte counters `ms` apart; null without a previous sample or time passing. */
function kbps(bytes: number | undefined, prevBytes: number | undefined, ms: number): number | null {
  if (bytes === undefined || prevBytes === undefined || ms <= 0 || bytes < prevBytes) return null;
  return ((bytes - prevBytes) * 8) / ms; // bits per ms = kbit/s
}

/** RTT in ms of the candidate pair in use (transport.selectedCandidatePairId, else the selected/nominated one). */
export function selectedPairRttMs(report: StatsReportLike): number | null {
  const { byType, byId } = collect(report);
  let pair: Stat | undefined;
  for (const transport of byType.get('transport') ?? []) {
    const id = transport.selectedCandidatePairId;
    if (typeof id === 'string') pair = byId.get(id);
    if (pair) break;
  }
  pair ??= (byType.get('candidate-pair') ?? []).find((p) => p.selected === true || (p.nominated === true && p.state === 'succeeded'));
  const rtt = num(pair?.currentRoundTripTime);
  return rtt === undefined ? null : rtt * 1000;
}

// ---------------------------------------------------------------- publisher

export interface PublisherSample {
  at: number;
  bytesSent?: number;
  framesSent?: number;
}

export interface PublisherFigures {
  /** Outgoing media bitrate (audio + video), kbit/s. */
  bitrateKbps: number | null;
  fps: number | null;
  width: number | null;
  height: number | null;
  /** Loss the server reported in its last receiver report (remote-inbound-rtp fractionLost), percent. */
  packetLossPercent: number | null;
  /** Packets the server reported lost since the start of this connection. */
  packetsLost: number | null;
  rttMs: number | null;
  /** Simulcast: each layer as sent, lowest first (null for one layer). */
  layers?: LayerFigures[] | null;
}

/** One simulcast layer as its sender reports it. */
export interface LayerFigures {
  width: number | null;
  height: number | null;
  kbps: number | null;
  /** Being sent (the Studio turns the top layer off under congestion, the lower ones for a screen). */
  active: boolean;
  /** Chrome's qualityLimitationReason: none, bandwidth, cpu, other. */
  limitation: string | null;
  /** Turned off because the connection was short of bandwidth (it is tried again later). */
  pausedForBandwidth?: boolean;
}

export function publisherFigures(
  report: StatsReportLike,
  previous: PublisherSample | null,
): { figures: PublisherFigures; sample: PublisherSample } {
  const { byType, at } = collect(report);
  const outbound = byType.get('outbound-rtp') ?? [];
  const video = outbound.filter((s) => kindOf(s) === 'video');
  const remote = byType.get('remote-inbound-rtp') ?? [];

  const bytesSent = sum(outbound, 'bytesSent');
  const framesSent = sum(video, 'framesSent');
  const ms = previous ? at - previous.at : 0;

  let fps = num(video.find((s) => num(s.framesPerSecond) !== undefined)?.framesPerSecond) ?? null;
  if (fps === null && framesSent !== undefined && previous?.framesSent !== undefined && ms > 0) {
    fps = ((framesSent - previous.framesSent) * 1000) / ms;
  }
  // Simulcast: the largest layer is the broadcast's resolution.
  const sized = video.reduce<Stat | undefined>((best, s) => ((num(s.frameWidth) ?? -1) > (num(best?.frameWidth) ?? -1) ? s : best), undefined);

  let fraction: number | null = null;
  let rtt: number | null = null;
  for (const r of remote) {
    const f = num(r.fractionLost);
    if (f !== undefined) fraction = Math.max(fraction ?? 0, f);
    const t = num(r.roundTripTime);
    if (t !== undefined) rtt = Math.max(rtt ?? 0, t * 1000);
  }
  const lost = sum(remote, 'packetsLost');

  const figures: PublisherFigures = {
    bitrateKbps: kbps(bytesSent, previous?.bytesSent, ms),
    fps: fps === null ? null : Math.max(0, fps),
    width: num(sized?.frameWidth) ?? null,
    height: num(sized?.frameHeight) ?? null,
    packetLossPercent: fraction === null ? null : Math.min(100, Math.max(0, fraction * 100)),
    packetsLost: lost === undefined ? null : Math.max(0, lost),
    rttMs: rtt ?? selectedPairRttMs(report),
  };
  const sample: PublisherSample = { at };
  if (bytesSent !== undefined) sample.bytesSent = bytesSent;
  if (framesSent !== undefined) sample.framesSent = framesSent;
  return { figures, sample };
}

// ---------------------------------------------------------------- player

export interface PlayerSample {
  at: number;
  bytesReceived?: number;
  framesDecoded?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
}

export interface PlayerFigures {
  /**
   * Estimated glass-to-glass share we can see: the time frames wait in the jitter buffer
   * (over the last interval) plus half the round trip of the candidate pair, ms.
   */
  latencyMs: number | null;
  jitterBufferMs: number | null;
  rttMs: number | null;
  bitrateKbps: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  framesDecoded: number;
  framesDropped: number;
  /** Video + audio packets lost. */
  packetsLost: number;
  audioPacketsReceived: number;
  videoPacketsReceived: number;
}

export function playerFigures(
  report: StatsReportLike,
  previous: PlayerSample | null,
): { figures: PlayerFigures; sample: PlayerSample } {
  const { byType, at } = collect(report);
  const inbound = byType.get('inbound-rtp') ?? [];
  const video = inbound.filter((s) => kindOf(s) === 'video');
  const audio = inbound.filter((s) => kindOf(s) === 'audio');
  const ms = previous ? at - previous.at : 0;

  // Video's jitter buffer when there is video (audio is synchronised to it), else audio's.
  const buffered = video.some((s) => num(s.jitterBufferEmittedCount)) ? video : audio;
  const delay = sum(buffered, 'jitterBufferDelay');
  const emitted = sum(buffered, 'jitterBufferEmittedCount');
  let jitterBufferMs: number | null = null;
  if (delay !== undefined && emitted !== undefined) {
    const dDelay = previous?.jitterBufferDelay !== undefined ? delay - previous.jitterBufferDelay : undefined;
    const dEmitted = previous?.jitterBufferEmittedCount !== undefined ? emitted - previous.jitterBufferEmittedCount : undefined;
    if (dDelay !== undefined && dEmitted !== undefined && dEmitted > 0 && dDelay >= 0) jitterBufferMs = (dDelay / dEmitted) * 1000;
    else if (emitted > 0) jitterBufferMs = (delay / emitted) * 1000;
  }
  const rttMs = selectedPairRttMs(report);
  const latencyMs = jitterBufferMs === null ? null : jitterBufferMs + (rttMs ?? 0) / 2;

  const bytesReceived = sum(inbound, 'bytesReceived');
  const framesDecoded = sum(video, 'framesDecoded') ?? 0;
  let fps = num(video.find((s) => num(s.framesPerSecond) !== undefined)?.framesPerSecond) ?? null;
  if (fps === null && previous?.framesDecoded !== undefined && ms > 0) fps = ((framesDecoded - previous.framesDecoded) * 1000) / ms;
  const sized = video.find((s) => num(s.frameWidth) !== undefined);

  const figures: PlayerFigures = {
    latencyMs,
    jitterBufferMs,
    rttMs,
    bitrateKbps: kbps(bytesReceived, previous?.bytesReceived, ms),
    width: num(sized?.frameWidth) ?? null,
    height: num(sized?.frameHeight) ?? null,
    fps: fps === null ? null : Math.max(0, fps),
    framesDecoded,
    framesDropped: sum(video, 'framesDropped') ?? 0,
    packetsLost: Math.max(0, sum(inbound, 'packetsLost') ?? 0),
    audioPacketsReceived: sum(audio, 'packetsReceived') ?? 0,
    videoPacketsReceived: sum(video, 'packetsReceived') ?? 0,
  };
  const sample: PlayerSample = { at, framesDecoded };
  if (bytesReceived !== undefined) sample.bytesReceived = bytesReceived;
  if (delay !== undefined) sample.jitterBufferDelay = delay;
  if (emitted !== undefined) sample.jitterBufferEmittedCount = emitted;
  return { figures, sample };
}

// ---------------------------------------------------------------- words

export function formatBitrate(kbps: number | null): string {
  if (kbps === null) return '—';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}

export function formatResolution(width: number | null, height: number | null): string {
  return width && height ? `${width}×${height}` : '—';
}

export function formatFps(fps: number | null): string {
  return fps === null ? '—' : `${Math.round(fps)} fps`;
}

export function formatMs(ms: number | null): string {
  return ms === null ? '—' : `${Math.round(ms)} ms`;
}

export function formatPercent(percent: number | null): string {
  return percent === null ? '—' : `${percent < 10 ? percent.toFixed(1) : Math.round(percent)} %`;
}
