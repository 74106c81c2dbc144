/**
 * Worker figures are pushed by the worker every second, not asked for: a worker too busy to
 * answer a request (here: stopped with SIGSTOP) cannot make /metrics or a benchmark wait
 * for it or fail; they read the last figures it sent, stamped with when it took them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStreamer } from '../helpers/http.ts';
import { connect, createPublisherPeer, sendSynthetic, type ClientPeer } from '../helpers/ndc-peer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

let server: TestServer;
let pub: ClientPeer;
let sender: { stop(): void } | undefined;

beforeAll(async () => {
  server = await startTestServer();
  const s = await createStreamer(server.url, 'counted', 'stats');
  pub = await createPublisherPeer({ audio: false });
  const res = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` }, body: pub.offer });
  await connect(pub, await res.text());
  sender = sendSynthetic(pub.video!);
});

afterAll(async () => {
  sender?.stop();
  pub?.close();
  await server?.stop();
});

it('keeps /metrics answering with the last pushed figures while a worker cannot answer requests', async () => {
  const worker = server.app.workers.all()[0]!;
  const first = await until('figures that count the publisher', () => (worker.stats && worker.stats.packetsIn > 20 ? worker.stats : undefined), 10_000);
  const next = await until('the next push', () => (worker.stats!.sampledAt > first.sampledAt ? worker.stats : undefined), 5_000, 50);
  expect(next!.packetsIn).toBeGreaterThanOrEqual(first.packetsIn);

  process.kill(worker.child.pid!, 'SIGSTOP');
  try {
    // Asking now is what the old benchmark and scrape did: no answer.
    await expect(worker.channel.request('getStats', {}, { timeoutMs: 1_000 })).rejects.toThrow(/did not answer getStats/);
    const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    const received = Number(/glint_sfu_rtp_packets_received\{worker="0"\} (\d+)/.exec(await res.text())?.[1]);
    expect(received).toBeGreaterThan(20);
  } finally {
    process.kill(worker.child.pid!, 'SIGCONT');
  }
  const resumed = worker.stats!.sampledAt;
  await until('pushes to resume', () => (worker.stats!.sampledAt > resumed ? true : undefined), 5_000, 50);
});
