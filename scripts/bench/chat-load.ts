/**
 * Load process for `npm run bench:chat`: probe sockets that parse every frame as it
 * comes and time delivery (the send time is in the text), and senders at a fixed total
 * rate. The thousands of silent readers are chat-sink.c.
 */
import WebSocket from 'ws';

const url = new URL(process.env.BENCH_URL!);
const streamId = process.env.BENCH_STREAM!;
const tokens = JSON.parse(process.env.BENCH_TOKENS!) as string[];
const clock = () => performance.timeOrigin + performance.now();

const probes: WebSocket[] = [];
let probeMessages = 0;
let probeBytes = 0;
let probeFrames = 0;
let latencies: number[] = [];
const senders: WebSocket[] = [];
let sent = 0;
let refused = 0;

function openWs(token?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url.host}/streams/${streamId}/chat`, token ? ['glint-chat.v1', `bearer.${token}`] : ['glint-chat.v1']);
    ws.once('message', () => resolve(ws)); // the welcome
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const p = await openWs();
    p.on('message', (data) => {
      const text = String(data);
      const parsed = JSON.parse(text) as { type: string; message?: { text: string } } | Array<{ type: string; message?: { text: string } }>;
      const events = Array.isArray(parsed) ? parsed : [parsed];
      const now = clock();
      let n = 0;
      for (const e of events) {
        if (e.type !== 'message' || !e.message) continue;
        n++;
        if (latencies.length < 200_000) latencies.push(now - Number(e.message.text.split(' ')[0]));
      }
      if (n === 0) return;
      probeFrames++;
      probeMessages += n;
      probeBytes += text.length + 4;
    });
    probes.push(p);
  }
  for (const t of tokens) {
    const s = await openWs(t);
    s.on('message', (data) => {
      if (String(data).startsWith('{"type":"error"')) refused++;
    });
    senders.push(s);
  }
  let timer: NodeJS.Timeout | undefined;
  process.on('message', async (m: { cmd: string; n?: number; rate?: number }) => {
    if (m.cmd === 'rate') {
      clearInterval(timer);
      const perTick = (m.rate! / 100);
      let credit = 0;
      let k = 0;
      timer = setInterval(() => {
        credit += perTick;
        while (credit >= 1) {
          credit--;
          const s = senders[k++ % senders.length]!;
          s.send(JSON.stringify({ type: 'send', text: `${clock().toFixed(3)} ${sent++}` }));
        }
      }, 10);
      process.send!({ ok: true });
    } else if (m.cmd === 'sample') {
      const sorted = [...latencies].sort((a, b) => a - b);
      process.send!({
        sent, refused, probeMessages, probeBytes, probeFrames,
        p50: sorted[Math.floor(sorted.length * 0.5)] ?? NaN, p99: sorted[Math.floor(sorted.length * 0.99)] ?? NaN, max: sorted.at(-1) ?? NaN,
        cpu: process.cpuUsage(),
      });
      latencies = [];
    } else if (m.cmd === 'exit') {
      clearInterval(timer);
      for (const w of [...probes, ...senders]) w.terminate();
      setTimeout(() => process.exit(0), 100);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

main().catch((err) => {
  console.error(err);
  setTimeout(() => process.exit(1), 100);
});
