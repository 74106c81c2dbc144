/**
 * `npm run bench:join`: time from a viewer's WHEP POST to its first decoded frame, in
 * Chromium, while the publisher sends H.264 with a keyframe every 2 s and ignores keyframe
 * requests (so the server cannot just ask for a fresh keyframe). Viewers join at random
 * points of the GOP.
 *   BENCH_JOINS=40 BENCH_GOP=2 npm run bench:join
 */
import { setupBench, summary } from './browser.ts';
import { startFixedGopPublisher } from './fixed-gop-publisher.ts';

const joins = Number(process.env.BENCH_JOINS ?? 40);
const gop = Number(process.env.BENCH_GOP ?? 2);

const TRIAL = `(async (streamId) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.append(video);
  pc.addEventListener('track', (e) => { video.srcObject = new MediaStream([e.track]); video.play().catch(() => {}); });
  await pc.setLocalDescription(await pc.createOffer());
  const t0 = performance.now();
  const res = await fetch('/whep/' + streamId, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + (await res.text()));
  const answered = performance.now() - t0;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  const first = await new Promise((resolve) => {
    video.requestVideoFrameCallback(() => resolve(performance.now() - t0));
    setTimeout(() => resolve(-1), 10000);
  });
  let connected = -1;
  (await pc.getStats()).forEach((r) => { if (r.type === 'transport' && r.dtlsState === 'connected') connected = 0; });
  await fetch(res.headers.get('location'), { method: 'DELETE' });
  pc.close();
  video.remove();
  return { first, answered };
})`;

async function main(): Promise<void> {
  const b = await setupBench('join');
  const publisher = await startFixedGopPublisher(b.server.url, b.streamKey, gop);
  try {
    const page = await (await b.browser.newContext()).newPage();
    await page.goto(`${b.server.url}/bench`);
    await new Promise((r) => setTimeout(r, 2500));
    const firsts: number[] = [];
    const answers: number[] = [];
    let failures = 0;
    for (let i = 0; i < joins; i++) {
      // Join at a random point of the GOP.
      await new Promise((r) => setTimeout(r, 200 + Math.random() * gop * 1000));
      const r = (await page.evaluate(`${TRIAL}(${JSON.stringify(b.streamId)})`)) as { first: number; answered: number };
      if (r.first < 0) failures++;
      else firsts.push(r.first);
      answers.push(r.answered);
    }
    console.log(`join time in Chromium on loopback: publisher with a fixed ${gop} s GOP that ignores keyframe requests, ${joins} joins`);
    console.log(`  WHEP POST -> 201 answer:        ${summary(answers)}`);
    console.log(`  WHEP POST -> first frame shown: ${summary(firsts)}${failures ? `, ${failures} joins without a frame in 10 s` : ''}`);
    console.log(`  (keyframes sent by the publisher meanwhile: ${publisher.keyframesSent()})`);
  } finally {
    publisher.stop();
    await b.close();
  }
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
