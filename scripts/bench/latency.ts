/**
 * `npm run bench:latency`: glass-to-glass latency through Glint in Chromium, and of a direct
 * peer-to-peer call in the same run. A publisher page draws the clock into a canvas it
 * sends both over WHIP and directly to the viewer page; the viewer reads the clock back
 * from every displayed frame of both videos. Both pages share one clock (one browser).
 *   BENCH_SECONDS=20 npm run bench:latency
 */
import { readFileSync } from 'node:fs';
import { setupBench, summary } from './browser.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const pageScript = readFileSync(new URL('./latency-page.js', import.meta.url), 'utf8');

async function main(): Promise<void> {
  const b = await setupBench('latency');
  try {
    const pub = await (await b.browser.newContext()).newPage();
    const view = await (await b.browser.newContext()).newPage();
    for (const p of [pub, view]) {
      await p.goto(`${b.server.url}/bench`);
      await p.evaluate(pageScript);
    }
    const directOffer = await pub.evaluate(`window.benchPublisher(${JSON.stringify(b.streamKey)})`);
    await new Promise((r) => setTimeout(r, 1500));
    const directAnswer = await view.evaluate(`window.benchViewer(${JSON.stringify(b.streamId)}, ${JSON.stringify(directOffer)})`);
    await pub.evaluate(`window.benchDirectAnswer(${JSON.stringify(directAnswer)})`);
    // Skip the first seconds (bitrate ramp-up, jitter buffer settling), then measure.
    await new Promise((r) => setTimeout(r, 3000));
    await view.evaluate('window.sfuLatency.length = 0; window.directLatency.length = 0;');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const sfu = (await view.evaluate('window.sfuLatency')) as number[];
    const direct = (await view.evaluate('window.directLatency')) as number[];
    console.log(`glass-to-glass latency in Chromium on loopback, 640x360 canvas, H.264, ${seconds} s`);
    console.log(`  through Glint (WHIP -> sfu-worker -> WHEP): ${summary(sfu)}`);
    console.log(`  direct peer-to-peer baseline:               ${summary(direct)}`);
  } finally {
    await b.close();
  }
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
