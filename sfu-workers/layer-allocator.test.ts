import { expect, it } from 'vitest';
import { LayerAllocator } from './layer-allocator.ts';

const second = (sent: number, nacked: number, current: number, currentBitrate = 1_000_000, nextBitrate = 0, wantsHigher = false) => ({ sent, nacked, current, currentBitrate, nextBitrate, wantsHigher });

it('steps down at once on a lossy second, holds while the queue drains, and steps up after 6 clean seconds', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(100, 1, 2), 1_000)).toBe(2);
  expect(a.assess(second(100, 30, 2), 2_000)).toBe(1);
  // The queue drains: loss right after the step down is not held against the lower layer.
  expect(a.assess(second(100, 30, 1), 3_000)).toBe(1);
  let t = 3_000;
  while (a.cap < 2) a.assess(second(100, 0, 1), (t += 1_000));
  expect(t).toBe(10_000); // held until 4 s, then 6 clean seconds
});

it('waits twice as long after a step up that failed, up to a minute', () => {
  const a = new LayerAllocator(2, 0);
  a.assess(second(100, 30, 2), 1_000); // down to 1
  let t = 1_000;
  while (a.cap < 2) a.assess(second(100, 0, 1), (t += 1_000));
  const up = t;
  a.assess(second(100, 30, 2), (t += 1_000)); // the step failed
  expect(a.cap).toBe(1);
  const failed = t;
  while (a.cap < 2) a.assess(second(100, 0, 1), (t += 1_000));
  expect(up - 1_000).toBe(8_000); // two held seconds, then 6 clean seconds
  expect(t - failed).toBe(14_000); // two held seconds, then 12 clean seconds
});

it('steps down after two seconds of moderate loss, not after one (a keyframe burst)', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(100, 10, 2), 1_000)).toBe(2);
  expect(a.assess(second(100, 0, 2), 2_000)).toBe(2);
  expect(a.assess(second(100, 10, 2), 3_000)).toBe(2);
  expect(a.assess(second(100, 10, 2), 4_000)).toBe(1);
});

it('shows REMB without acting on it', () => {
  const a = new LayerAllocator(2, 0);
  a.onRemb(100_000, 500);
  expect(a.assess(second(100, 0, 2), 1_000)).toBe(2);
  expect(a.assess(second(100, 0, 2), 2_000)).toBe(2);
  expect(a.estimate).toBe(100_000);
});

it('probes the link for 2 s before stepping up for a viewer that wants more; a lossy probe waits longer', () => {
  const a = new LayerAllocator(2, 0);
  a.assess(second(100, 30, 2), 1_000); // down to 1, held until 4 s
  let t = 1_000;
  const wants = (nacked = 0) => a.assess(second(100, nacked, 1, 250_000, 450_000, true), (t += 1_000));
  while (!a.probing) wants();
  expect(t).toBe(9_000); // held at 2 and 3 s, then 6 clean seconds
  expect(a.cap).toBe(1);
  wants(10); // the probe lost packets: no step
  expect(a.probing).toBe(false);
  expect(a.cap).toBe(1);
  const failed = t;
  while (!a.probing) wants();
  expect(t - failed).toBe(10_000); // two held seconds, then 8 clean ones (failed probes wait at most 8 s)
  wants();
  expect(a.cap).toBe(1);
  wants(); // 2 s of clean probing
  expect(a.cap).toBe(2);
});

it('does not judge a second with too few packets, and keeps layer 0 as the floor', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(10, 5, 2), 1_000)).toBe(2);
  a.assess(second(100, 50, 2), 2_000);
  a.assess(second(100, 50, 1), 5_000);
  expect(a.assess(second(100, 50, 0), 8_000)).toBe(0);
});
