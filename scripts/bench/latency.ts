/**
 * `npm run bench:latency`: glass-to-glass latency through Glint in Chromium, and of a direct
 * peer-to-peer call in the same run. A publisher page draws the clock into a canvas it
 * sends both over WHIP and directly to the viewer page; the viewer reads the clock back
 * from every displayed frame of both videos. Both pages share one clock (one browser).
 * BENCH_NODES=2: a second node of a cluster on this machine too; the viewer page then also
 * watches through it (one pipe between the nodes' workers), next to the origin, same clock.
 *   BENCH_SECONDS=20 [BENCH_NODES=2] npm run bench:latency
 */
import { readFileSync } from 'node:fs';
import { setupBench, summary } from './browser.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const pageScript = readFileSync(new URL('./latency-page.js', import.meta.url), 'utf8');

async function main(): Promise<void> {
  const nodes = Number(process.env.BENCH_NODES ?? 1);
  const b = await setupBench('latency', { nodes });
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
    // The edge's viewer page comes from the edge (its CSP lets a page fetch its own origin only).
    const edge = b.others[0];
    const edgeView = edge ? await (await b.browser.newContext()).newPage() : undefined;
    if (edge && edgeView) {
      await edgeView.goto(`${edge.url}/bench`);
      await edgeView.evaluate(pageScript);
      await edgeView.evaluate(`window.benchEdgeViewer(${JSON.stringify(`/whep/${b.streamId}`)})`);
    }
    // Skip the first seconds (bitrate ramp-up, jitter buffer settling), then measure.
    await new Promise((r) => setTimeout(r, 3000));
    await view.evaluate('window.sfuLatency.length = 0; window.directLatency.length = 0;');
    await edgeView?.evaluate('window.edgeLatency.length = 0');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const sfu = (await view.evaluate('window.sfuLatency')) as number[];
    const direct = (await view.evaluate('window.directLatency')) as number[];
    const viaEdge = edgeView ? ((await edgeView.evaluate('window.edgeLatency')) as number[]) : [];
    console.log(`glass-to-glass latency in Chromium on loopback, 640x360 canvas, H.264, ${seconds} s`);
    console.log(`  through Glint (WHIP -> sfu-worker -> WHEP): ${summary(sfu)}`);
    console.log(`  direct peer-to-peer baseline:               ${summary(direct)}`);
    if (edge) {
      console.log(`  through Glint and one hop between nodes (WHIP -> node 1 -> pipe -> node 2 -> WHEP): ${summary(viaEdge)}`);
      const p95 = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length * 0.95)]!;
      console.log(`  the hop adds ${(p95(viaEdge) - p95(sfu)).toFixed(1)} ms at p95 (target: within 10 ms of the direct path through Glint)`);
    }
  } finally {
    await b.close();
  }
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
