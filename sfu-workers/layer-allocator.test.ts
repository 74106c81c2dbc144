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

const BITRATES = [150_000, 500_000, 2_000_000];

it('steps down at once when REMB is cut under the current layer, to the highest layer that fits', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.onRemb(3_000_000, 100, 2, BITRATES)).toBe(false);
  expect(a.onRemb(2_900_000, 1_100, 2, BITRATES)).toBe(false); // a clean link's wobble
  expect(a.onRemb(340_000, 1_300, 2, BITRATES)).toBe(true); // a 400 kbit/s link: past 500k straight to 150k
  expect(a.cap).toBe(0);
  expect(a.estimate).toBe(340_000);
  // Layer 0 is the floor.
  expect(a.onRemb(100_000, 2_000, 0, BITRATES)).toBe(false);
});

it('steps down again when REMB keeps being cut after a step down (the new layer overloads the link too)', () => {
  const a = new LayerAllocator(2, 0);
  a.onRemb(3_000_000, 0, 2, BITRATES);
  expect(a.onRemb(700_000, 300, 2, BITRATES)).toBe(true);
  expect(a.cap).toBe(1);
  // The switch to layer 1 is still pending (current 2): judged against layer 1.
  expect(a.onRemb(560_000, 500, 2, BITRATES)).toBe(false); // cut, but covers 500k
  expect(a.onRemb(300_000, 800, 2, BITRATES)).toBe(true);
  expect(a.cap).toBe(0);
});

it('does not step down on an estimate that is low but not cut, nor on a cut that still covers the layer', () => {
  const a = new LayerAllocator(2, 0);
  // After a step up Chrome's estimate climbs from below the new layer's bitrate: no cut, no step.
  for (let t = 0, r = 700_000; t < 5_000; t += 500, r *= 1.04) expect(a.onRemb(r, t, 2, BITRATES)).toBe(false);
  expect(a.cap).toBe(2);
  // A cut that leaves more than 90 % of the layer (a busy CPU, a burst): nothing.
  const b = new LayerAllocator(2, 0);
  b.onRemb(2_600_000, 0, 2, BITRATES);
  expect(b.onRemb(1_900_000, 500, 2, BITRATES)).toBe(false);
  expect(b.cap).toBe(2);
  // An estimate that sat under the layer already (Chrome's can, for a long time) and is cut again: nothing new.
  const c = new LayerAllocator(2, 0);
  c.onRemb(400_000, 0, 1, BITRATES);
  expect(c.onRemb(300_000, 500, 1, BITRATES)).toBe(false);
  expect(c.cap).toBe(2);
});

it('ends a probe when REMB is cut during it, without stepping down', () => {
  const a = new LayerAllocator(2, 0);
  a.assess(second(100, 30, 2), 1_000); // down to 1
  let t = 1_000;
  while (!a.probing) a.assess(second(100, 0, 1, 250_000, 450_000, true), (t += 1_000));
  a.onRemb(600_000, t + 100, 1, BITRATES);
  expect(a.onRemb(200_000, t + 300, 1, BITRATES)).toBe(false);
  expect(a.probing).toBe(false);
  expect(a.cap).toBe(1);
  // Chrome's estimate then sits at 85 % of the media alone, under the layer, and may be cut
  // once more as the probe's queue drains: measured from the first cut, that says nothing.
  expect(a.onRemb(170_000, t + 500, 1, BITRATES)).toBe(false);
  expect(a.cap).toBe(1);
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
  expect(t - failed).toBe(6_000); // 6 clean seconds (failed probes wait at most 6 s), the first one held
  wants();
  expect(a.cap).toBe(1);
  wants(); // 2 s of clean probing
  expect(a.cap).toBe(2);
});

it('climbs a recovered link quickly: after a step a probe proved, the next probe starts after one clean second', () => {
  const a = new LayerAllocator(2, 0);
  a.onRemb(3_000_000, 0, 2, BITRATES);
  a.onRemb(200_000, 500, 2, BITRATES); // down to 0
  expect(a.cap).toBe(0);
  let t = 1_000;
  const wants = () => a.assess(second(100, 0, a.cap, BITRATES[a.cap], BITRATES[a.cap + 1] ?? 0, true), (t += 1_000));
  while (a.cap < 1) wants();
  const first = t;
  while (a.cap < 2) wants();
  expect(first).toBe(11_000); // held until 3.5 s (clean from the 3 s assessment), 6 clean seconds, a 2 s probe
  expect(t - first).toBe(3_000); // one clean second, a 2 s probe
});

it('does not judge a second with too few packets, and keeps layer 0 as the floor', () => {
  const a = new LayerAllocator(2, 0);
  expect(a.assess(second(10, 5, 2), 1_000)).toBe(2);
  a.assess(second(100, 50, 2), 2_000);
  a.assess(second(100, 50, 1), 5_000);
  expect(a.assess(second(100, 50, 0), 8_000)).toBe(0);
});

it("ends a probe when the round trip rises above the link's floor (the probe is filling a queue), not on jitter", () => {
  const a = new LayerAllocator(2, 0);
  a.assess(second(100, 30, 2), 1_000); // down to 1
  let t = 1_000;
  for (let i = 0; i < 20; i++) a.onRtt(20 + (i % 3) * 5, 1_000 + i * 300); // floor 20 ms, jitter to 30
  while (!a.probing) a.assess(second(100, 0, 1, 250_000, 450_000, true), (t += 1_000));
  expect(a.onRtt(45, t + 100)).toBe(false); // within floor + 30 ms
  expect(a.probing).toBe(true);
  a.onRemb(600_000, t + 250, 1, BITRATES);
  expect(a.onRtt(70, t + 300)).toBe(true);
  expect(a.probing).toBe(false);
  expect(a.cap).toBe(1);
  // Chrome's cut for the probe's queue, in the same RTCP packet or just after: not the link's.
  expect(a.onRemb(200_000, t + 301, 1, BITRATES)).toBe(false);
  expect(a.cap).toBe(1);
  // Outside a probe a high round trip alone changes nothing.
  expect(a.onRtt(300, t + 500)).toBe(false);
  expect(a.cap).toBe(1);
  // The probe's queue drains: its loss is not the link's, and the clean period runs on.
  a.assess(second(100, 16, 1, 250_000, 450_000, true), t + 1_000);
  a.assess(second(100, 16, 1, 250_000, 450_000, true), t + 2_000);
  expect(a.cap).toBe(1);
  let next = t + 2_000;
  while (!a.probing) a.assess(second(100, 0, 1, 250_000, 450_000, true), (next += 1_000));
  expect(next - (t + 300)).toBeLessThanOrEqual(7_000); // 6 s, assessed once a second
});
