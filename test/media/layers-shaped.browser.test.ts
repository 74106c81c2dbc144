/**
 * A viewer whose downlink is cut moves down a simulcast layer and back up when the link
 * recovers: `npm run bench:layers` in short form (`--json`, an 8 s steady period), which
 * runs a server, a Chromium Studio and two Chromium viewers in a network namespace of its
 * own and shapes one viewer's UDP port to 400 kbit/s with tc. What is asserted is the
 * behaviour — down while cut without a frozen frame, steady there, back on 720p after, the
 * other viewer untouched, fewer packets for the worker; timings are printed (the benchmark is
 * where they are judged against targets).
 *
 * Needs root (ip netns, tc), Chromium and `dist/client` (`.ci/run` and `npm test` have them).
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { requireBuiltClient } from '../helpers/chromium.ts';

it('moves a viewer on a link cut to 400 kbit/s down a layer, keeps it there, and back up when the link recovers', async () => {
  requireBuiltClient();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/layers.ts', '--json'], {
    env: { ...process.env, BENCH_STEADY_SECONDS: '8', BENCH_LIMIT_KBPS: '400' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  expect(code, `bench:layers failed:\n${err.slice(-3000)}`).toBe(0);
  const figures = JSON.parse(out.trim().split('\n').pop()!);
  console.log(`layers under a cut link: ${JSON.stringify(figures)}`);
  expect(figures.downMs).not.toBeNull();
  expect(figures.widthOnCutLink).toBeLessThan(1280);
  // The viewer's REMB (abs-send-time) moves it before the bottleneck drops anything: Chrome
  // counts no frozen frame from the cut until the lower layer plays.
  expect(figures.freezesDuringDown).toBe(0);
  expect(figures.steadySwitches).toBeLessThanOrEqual(1);
  expect(figures.upMs).not.toBeNull();
  expect(figures.controlWidth).toBe(1280);
  expect(figures.workerPpsOneCut).toBeLessThan(figures.workerPpsAllTop);
}, 240_000);
