import { describe, expect, it } from 'vitest';
import { formatBitrate, playerFigures, publisherFigures, selectedPairRttMs } from './rtc-stats.ts';

function report(...stats: Record<string, unknown>[]) {
  return new Map(stats.map((s) => [s.id as string, s]));
}

const pair = (rtt: number) => [
  { id: 'T01', type: 'transport', timestamp: 0, selectedCandidatePairId: 'CP1' },
  { id: 'CP1', type: 'candidate-pair', timestamp: 0, currentRoundTripTime: rtt, state: 'succeeded', nominated: true },
  { id: 'CP2', type: 'candidate-pair', timestamp: 0, currentRoundTripTime: 9, state: 'failed' },
];

describe('publisher figures', () => {
  const sample = (t: number, videoBytes: number, audioBytes: number, extra: Record<string, unknown> = {}) =>
    report(
      { id: 'OV', type: 'outbound-rtp', kind: 'video', timestamp: t, bytesSent: videoBytes, framesSent: t / 33, framesPerSecond: 30, frameWidth: 1280, frameHeight: 720 },
      { id: 'OA', type: 'outbound-rtp', kind: 'audio', timestamp: t, bytesSent: audioBytes },
      { id: 'RV', type: 'remote-inbound-rtp', kind: 'video', timestamp: t, packetsLost: 12, fractionLost: 0.02, roundTripTime: 0.004, ...extra },
      { id: 'RA', type: 'remote-inbound-rtp', kind: 'audio', timestamp: t, packetsLost: 1, fractionLost: 0.0 },
    );

  it('computes the outgoing bitrate over the interval between two samples', () => {
    const first = publisherFigures(sample(1_000, 100_000, 10_000), null);
    expect(first.figures.bitrateKbps).toBeNull(); // one sample is no rate
    const second = publisherFigures(sample(2_000, 350_000, 14_000), first.sample);
    // (250 000 + 4 000) bytes * 8 in 1 s = 2032 kbit/s
    expect(second.figures.bitrateKbps).toBeCloseTo(2032, 5);
    expect(formatBitrate(second.figures.bitrateKbps)).toBe('2.03 Mbit/s');
  });

  it('reports fps, resolution, the loss from the receiver reports and the RTT', () => {
    const { figures } = publisherFigures(sample(1_000, 1, 1), null);
    expect(figures).toMatchObject({ fps: 30, width: 1280, height: 720, packetLossPercent: 2, packetsLost: 13, rttMs: 4 });
  });

  it('says nothing it does not know (no receiver reports yet)', () => {
    const { figures } = publisherFigures(report({ id: 'OV', type: 'outbound-rtp', kind: 'video', timestamp: 5, bytesSent: 10 }), null);
    expect(figures).toMatchObject({ packetLossPercent: null, packetsLost: null, fps: null, width: null, rttMs: null });
  });
});

describe('player figures', () => {
  const inbound = (t: number, v: Record<string, unknown>, a: Record<string, unknown> = {}) => [
    { id: 'IV', type: 'inbound-rtp', kind: 'video', timestamp: t, ...v },
    { id: 'IA', type: 'inbound-rtp', kind: 'audio', timestamp: t, packetsReceived: 50, packetsLost: 2, bytesReceived: 5_000, ...a },
  ];

  it('estimates latency as the jitter buffer delay of the last interval plus half the RTT', () => {
    const first = playerFigures(
      report(...inbound(1_000, { jitterBufferDelay: 10, jitterBufferEmittedCount: 100, framesDecoded: 100, bytesReceived: 100_000 }), ...pair(0.04)),
      null,
    );
    // Lifetime average at first: 10 s / 100 frames = 100 ms, + 40 ms / 2
    expect(first.figures.jitterBufferMs).toBeCloseTo(100, 6);
    expect(first.figures.latencyMs).toBeCloseTo(120, 6);

    const second = playerFigures(
      report(...inbound(2_000, { jitterBufferDelay: 11.5, jitterBufferEmittedCount: 130, framesDecoded: 130, bytesReceived: 225_000 }, { bytesReceived: 9_000 }), ...pair(0.04)),
      first.sample,
    );
    // Last interval: 1.5 s over 30 frames = 50 ms, + 20 ms
    expect(second.figures.jitterBufferMs).toBeCloseTo(50, 6);
    expect(second.figures.latencyMs).toBeCloseTo(70, 6);
    expect(second.figures.rttMs).toBeCloseTo(40, 6);
    // (125 000 + 4 000) bytes * 8 in 1 s
    expect(second.figures.bitrateKbps).toBeCloseTo(1032, 6);
    // No framesPerSecond in the report: from the decoded frames
    expect(second.figures.fps).toBeCloseTo(30, 6);
  });

  it('adds up lost packets of both kinds and reports dropped frames and resolution', () => {
    const { figures } = playerFigures(
      report(...inbound(1, { framesDecoded: 10, framesDropped: 3, packetsLost: 5, packetsReceived: 900, frameWidth: 640, frameHeight: 360, framesPerSecond: 29 })),
      null,
    );
    expect(figures).toMatchObject({
      framesDecoded: 10,
      framesDropped: 3,
      packetsLost: 7,
      width: 640,
      height: 360,
      fps: 29,
      audioPacketsReceived: 50,
      videoPacketsReceived: 900,
      latencyMs: null, // no jitter buffer figures yet
    });
  });

  it('finds the candidate pair in use without a transport entry (nominated and succeeded)', () => {
    expect(selectedPairRttMs(report(...pair(0.01).slice(1)))).toBeCloseTo(10, 6);
    expect(selectedPairRttMs(report())).toBeNull();
  });
});
