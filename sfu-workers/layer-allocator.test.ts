import { expect, it } from 'vitest';
import { LayerAllocator } from './layer-allocator.ts';

const second = (sent: number, nacked: number, current: number, currentBitrate = 1_000_000) => ({ sent, nacked, current, currentBitrate });

it('steps down at once on a lossy second, and up one layer after 6 clean seconds', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(100, 1, 2), 1_000)).toBe(2);
  expect(a.assess(second(100, 20, 2), 2_000)).toBe(1);
  let t = 2_000;
  for (let i = 0; i < 5; i++) expect(a.assess(second(100, 0, 1), (t += 1_000))).toBe(1);
  expect(a.assess(second(100, 0, 1), (t += 1_000))).toBe(2);
});

it('waits twice as long after a step up that failed, up to a minute', () => {
  const a = new LayerAllocator(2, 0);
  a.assess(second(100, 30, 2), 1_000); // down to 1
  let t = 1_000;
  while (a.cap < 2) a.assess(second(100, 0, 1), (t += 1_000));
  const up = t;
  a.assess(second(100, 30, 2), (t += 1_000)); // the step failed
  expect(a.cap).toBe(1);
  while (a.cap < 2) a.assess(second(100, 0, 1), (t += 1_000));
  expect(up - 1_000).toBe(6_000);
  expect(t - (up + 1_000)).toBe(12_000);
});

it('steps down when REMB stays under what the current layer needs, and ignores a stale one', () => {
  const a = new LayerAllocator(2, 0);
  a.onRemb(400_000, 500);
  expect(a.assess(second(100, 0, 2), 1_000)).toBe(2);
  a.onRemb(400_000, 1_500);
  expect(a.assess(second(100, 0, 2), 2_000)).toBe(1);
  const b = new LayerAllocator(2, 0);
  b.onRemb(100_000, 0);
  b.assess(second(100, 0, 2), 4_000);
  expect(b.assess(second(100, 0, 2), 5_000)).toBe(2);
});

it('does not judge a second with too few packets, and keeps layer 0 as the floor', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(10, 5, 2), 1_000)).toBe(2);
  a.assess(second(100, 50, 2), 2_000);
  a.assess(second(100, 50, 1), 3_000);
  expect(a.assess(second(100, 50, 0), 4_000)).toBe(0);
});
