/**
 * The baseline `npm run bench:fanout` prints beside its figures: what one bare
 * node-datachannel peer costs to send an RTP packet on this machine (SRTP, a UDP sendto per
 * packet; no SFU), so the SFU's packets per CPU-second can be read as a ratio that travels
 * between machines. This process only sends; the receiving peer lives in the parent, so
 * the CPU measured here is the sending side alone, like an sfu-worker's.
 *
 * Protocol over IPC: we send {offer}; the parent answers {answer}; we send {result}.
 */
import { connect, createPublisherPeer, SyntheticH264 } from '../../test/helpers/ndc-peer.ts';

const rate = Number(process.env.BASELINE_PPS ?? 30_000);
const seconds = Number(process.env.BASELINE_SECONDS ?? 4);

async function main(): Promise<void> {
  // The same peer the benchmark's publisher is: H.264 on one send-only track.
  const pub = await createPublisherPeer({ audio: false, name: 'baseline-tx' });
  const track = pub.video!;
  const opened = new Promise<void>((resolve) => track.onOpen(() => resolve()));
  process.send!({ offer: pub.offer });
  const answer = await new Promise<string>((resolve) => process.once('message', (m: { answer: string }) => resolve(m.answer)));
  await connect(pub, answer);
  await opened;
  await new Promise((r) => setTimeout(r, 500));

  const gen = new SyntheticH264(0x11111111, 1200, 300);
  let sent = 0;
  let credit = 0;
  let last = performance.now();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      credit += ((now - last) * rate) / 1000;
      last = now;
      while (credit >= 1) {
        credit--;
        track.sendMessageBinary(gen.next(now, sent % 5 === 4));
        sent++;
      }
      if (now - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.send!({ result: { packets: sent, seconds: (performance.now() - t0) / 1000, cpuSeconds } });
  pub.close();
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
