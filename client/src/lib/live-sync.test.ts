import { describe, expect, it } from 'vitest';
import { bufferAhead, liveSyncRate, MAX_RATE } from './live-sync.ts';

const at = (o: Partial<Parameters<typeof liveSyncRate>[0]>) => liveSyncRate({ latency: 0.7, target: 0.7, bufferAhead: 0.5, liveWindow: 2, rate: 1, ...o });

describe('liveSyncRate', () => {
  it('plays faster while behind the target, more the further behind, at most MAX_RATE', () => {
    expect(at({ latency: 0.9 })).toBe(1.1);
    expect(at({ latency: 1.0 })).toBe(MAX_RATE);
    expect(at({ latency: 2.5 })).toBe(MAX_RATE);
  });

  it('plays at normal speed at the target, and keeps its rate between the two thresholds', () => {
    expect(at({ latency: 0.71, rate: 1.1 })).toBe(1);
    expect(at({ latency: 0.75, rate: 1.1 })).toBe(1.1);
    expect(at({ latency: 0.75, rate: 1 })).toBe(1);
  });

  it('never speeds up with little buffered ahead, nor when far behind (DVR)', () => {
    expect(at({ latency: 1.0, bufferAhead: 0.1 })).toBe(1);
    expect(at({ latency: 5, liveWindow: 2 })).toBe(1);
    expect(at({ latency: Number.NaN })).toBe(1);
  });
});

describe('bufferAhead', () => {
  const ranges = (...r: Array<[number, number]>) => ({ length: r.length, start: (i: number) => r[i]![0], end: (i: number) => r[i]![1] });
  it('is the rest of the range the playhead is in', () => {
    expect(bufferAhead(ranges([0, 4], [6, 9]), 3)).toBeCloseTo(1);
    expect(bufferAhead(ranges([0, 4], [6, 9]), 5)).toBe(0);
    expect(bufferAhead(ranges(), 1)).toBe(0);
  });
});
