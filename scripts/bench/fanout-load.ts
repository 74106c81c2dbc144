/**
 * Load process for `npm run bench:fanout`: one synthetic publisher (WHIP) sending ~150
 * packets/s of 1200-byte H.264 RTP, and viewers (WHEP) added on command. A few "probe"
 * viewers read every packet (loss by sequence gaps, delay from the send time carried in the
 * payload); every fourth viewer counts its packets (receiving costs the load process more
 * than forwarding costs the worker; a sample keeps the load generator from being the limit).
 * The publisher pauses while viewers join. Talks to the parent over IPC. With
 * BENCH_VIEWER_URLS (nodes of a cluster) viewer i joins node i mod n, probes included.
 */
import { connect, createPublisherPeer, createViewerPeer, SyntheticH264, type ClientPeer } from '../../test/helpers/ndc-peer.ts';
import { rtpPayloadOffset } from '../../sfu-workers/rtp.ts';

import nodeDataChannel from 'node-datachannel';
if (process.env.BENCH_RTC_LOG) nodeDataChannel.initLogger(process.env.BENCH_RTC_LOG as 'Debug', (l, m) => console.error(l, m));
const base = process.env.BENCH_URL!;
const streamKey = process.env.BENCH_KEY!;
const streamId = process.env.BENCH_STREAM!;
const pps = Number(process.env.BENCH_PPS ?? 157);
const PROBES = 8;
/** Where viewers join: the publisher's node, or every node of a cluster in turn. */
const viewerBases = (process.env.BENCH_VIEWER_URLS ?? base).split(',');

interface Probe {
  /** Its WHEP session URL (the parent finds the worker it is on), and the node it joined. */
  location: string;
  base: string;
  packets: number;
  lost: number;
  lastSeq: number;
  delays: number[];
}

const viewers: ClientPeer[] = [];
/** Per viewer: packets received and packets missing (sequence gaps); -1 when not observed. */
const counts: number[] = [];
const gaps: number[] = [];
const probes: Probe[] = [];
let sent = 0;
let paused = false;

async function post(path: string, sdp: string, headers: Record<string, string> = {}, to = base): Promise<{ answer: string; location: string }> {
  const res = await fetch(to + path, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: sdp });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${path} answered ${res.status}: ${text}`);
  return { answer: text, location: res.headers.get('location') ?? '' };
}

async function addViewer(): Promise<void> {
  const v = await createViewerPeer({ name: `v${viewers.length}` });
  const index = counts.push(0) - 1;
  const to = viewerBases[index % viewerBases.length]!;
  gaps.push(0);
  let probe: Probe | undefined;
  if (probes.length < PROBES) {
    const pr: Probe = { location: '', base: to, packets: 0, lost: 0, lastSeq: -1, delays: [] };
    probes.push(pr);
    probe = pr;
    v.video!.onMessage((buf) => {
      if (buf.length < 24 || (buf[1]! >= 192 && buf[1]! <= 223)) return;
      counts[index]!++;
      const seq = buf.readUInt16BE(2);
      if (pr.lastSeq >= 0) {
        const gap = (seq - pr.lastSeq - 1) & 0xffff;
        if (gap > 0 && gap < 1000) {
          pr.lost += gap;
          gaps[index]! += gap;
        }
      }
      pr.lastSeq = seq;
      pr.packets++;
      if (pr.delays.length < 20000) pr.delays.push(performance.now() - buf.readDoubleBE(rtpPayloadOffset(buf) + 4)); // the publisher's byte 16: payload byte 4
    });
  } else if (index % 4 === 0) {
    let lastSeq = -1;
    v.video!.onMessage((buf) => {
      if (buf.length < 12 || (buf[1]! >= 192 && buf[1]! <= 223)) return;
      const seq = (buf[2]! << 8) | buf[3]!;
      if (lastSeq >= 0) {
        const gap = (seq - lastSeq - 1) & 0xffff;
        if (gap > 0 && gap < 1000) gaps[index]! += gap;
      }
      lastSeq = seq;
      counts[index]!++;
    });
  } else {
    counts[index] = -1; // not observed
  }
  const { answer, location } = await post(`/whep/${streamId}`, v.offer, {}, to);
  if (probe) probe.location = location;
  await connect(v, answer);
  viewers.push(v);
}

async function main(): Promise<void> {
  const pub = await createPublisherPeer({ audio: false, name: 'bench-pub' });
  await connect(pub, (await post('/whip', pub.offer, { authorization: `Bearer ${streamKey}` })).answer);
  const gen = new SyntheticH264(0x11111111, 1200, 300);
  // ~5 packets per frame at 30 fps = 150 packets/s; paced in 10 ms ticks.
  let credit = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    credit += ((now - last) * pps) / 1000;
    last = now;
    if (paused) credit = 0;
    while (credit >= 1) {
      credit--;
      sent++;
      try {
        pub.video!.sendMessageBinary(gen.next(performance.now(), sent % 5 === 0));
      } catch {
        // closing
      }
    }
  }, 10);

  process.on('message', async (m: { cmd: string; n?: number }) => {
    if (m.cmd === 'add') {
      const times: number[] = [];
      paused = true;
      try {
        for (let i = 0; i < m.n!; i++) {
          const t0 = performance.now();
          await addViewer();
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        paused = false;
        process.send!({ ok: true, viewers: viewers.length, joinP50: times[Math.floor(times.length / 2)], joinMax: times.at(-1) });
      } catch (err) {
        paused = false;
        process.send!({ ok: false, error: (err as Error).message, viewers: viewers.length });
      }
    } else if (m.cmd === 'reset') {
      for (const p of probes) {
        p.lost = 0;
        p.packets = 0;
        p.delays = [];
      }
      process.send!({ ok: true, counts: [...counts], gaps: [...gaps], sent, cpu: process.cpuUsage() });
    } else if (m.cmd === 'sample') {
      const delays = probes.flatMap((p) => p.delays).sort((a, b) => a - b);
      process.send!({
        ok: true,
        sent,
        counts: [...counts],
        gaps: [...gaps],
        cpu: process.cpuUsage(),
        probeLost: probes.reduce((a, p) => a + p.lost, 0),
        probePackets: probes.reduce((a, p) => a + p.packets, 0),
        delayP50: delays[Math.floor(delays.length * 0.5)] ?? NaN,
        delayP95: delays[Math.floor(delays.length * 0.95)] ?? NaN,
        probes: probes.map((p) => ({ location: p.location, base: p.base, delays: p.delays })),
      });
    } else if (m.cmd === 'exit') {
      for (const v of viewers) v.close();
      pub.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  // Never outlive the benchmark that started us.
  process.on('disconnect', () => process.exit(0));
  process.send!({ ok: true, ready: true });
}

main().catch((err) => {
  console.error(err);
  setTimeout(() => process.exit(1), 500);
});
