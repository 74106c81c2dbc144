/**
 * Fuzz-style robustness of the media plane: thousands of malformed SDP offers (through
 * the worker channel and over HTTP) and random datagrams on the worker's UDP port. The
 * worker must stay up and keep forwarding to a real viewer throughout.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { connect, createPublisherPeer, createViewerPeer, SyntheticH264, type ClientPeer } from '../helpers/ndc-peer.ts';

let server: TestServer;
const peers: ClientPeer[] = [];
let timer: NodeJS.Timeout | undefined;
let received = 0;
let streamId = '';
let streamKey = '';

let seed = 0x9e3779b9;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

function mutate(sdp: string): string {
  const lines = sdp.split('\r\n');
  const choice = rnd(10);
  switch (choice) {
    case 0: // drop lines
      return lines.filter(() => rnd(4) !== 0).join('\r\n');
    case 1: // duplicate a line
      lines.splice(rnd(lines.length), 0, lines[rnd(lines.length)]!);
      return lines.join('\r\n');
    case 2: // truncate
      return sdp.slice(0, rnd(sdp.length));
    case 3: // random bytes in a line
      lines[rnd(lines.length)] = Array.from({ length: rnd(80) }, () => String.fromCharCode(rnd(256))).join('');
      return lines.join('\r\n');
    case 4: // absurd numbers
      return sdp.replace(/\d+/g, (m) => (rnd(3) === 0 ? String(2 ** (20 + rnd(50))) : m));
    case 5: // shuffle
      return lines.sort(() => rnd(3) - 1).join('\r\n');
    case 6: // swap directions and codecs
      return sdp.replace(/sendonly|recvonly/g, () => ['sendonly', 'recvonly', 'inactive', 'sendrecv'][rnd(4)]!).replace(/H264|opus/g, () => ['VP9', 'AV1', 'H265', 'PCMU', 'H264'][rnd(5)]!);
    case 7: // drop the value of attributes
      return sdp.replace(/^(a=[\w-]+:)(.*)$/gm, (m, a) => (rnd(3) === 0 ? a : m));
    case 8: // remove fingerprint or credentials or mids
      return lines.filter((l) => !(/^a=(fingerprint|ice-ufrag|ice-pwd|mid|ssrc|group)/.test(l) && rnd(2) === 0)).join('\r\n');
    default: // huge line
      lines[rnd(lines.length)] = `a=${'x'.repeat(1000 + rnd(20000))}`;
      return lines.join('\r\n');
  }
}

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  server = await startTestServer({ config: { log: { level: 'warn' } } });
  const call = api(server.url);
  const reg = await call('POST', '/auth/register', { json: { username: 'fuzzer', email: 'fuzz@example.com', password: 'quartz lantern field' } });
  const s = await call('POST', '/streams', { token: reg.body.accessToken, json: { title: 'fuzz' } });
  streamId = s.body.stream.id;
  streamKey = s.body.streamKey;
  const pub = await createPublisherPeer();
  peers.push(pub);
  const whip = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` }, body: pub.offer });
  await connect(pub, await whip.text());
  const gen = new SyntheticH264(0x11111111);
  timer = setInterval(() => {
    try {
      pub.video!.sendMessageBinary(gen.next(performance.now(), true));
    } catch {
      // closed
    }
  }, 10);
  await until(() => server.app.media.isActive(streamId as never));
  const viewer = await createViewerPeer();
  peers.push(viewer);
  viewer.video!.onMessage(() => received++);
  const whep = await fetch(`${server.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: viewer.offer });
  await connect(viewer, await whep.text());
  await until(() => received > 10);
});

afterAll(async () => {
  clearInterval(timer);
  peers.forEach((p) => p.close());
  await server?.stop();
});

it('survives thousands of malformed offers and keeps forwarding', async () => {
  const worker = server.app.workers.all()[0]!;
  const pid = worker.child.pid;
  const base = (await createViewerPeer()).offer;
  const pubBase = (await createPublisherPeer()).offer;
  const codes = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const viewing = i % 2 === 0;
    const offer = mutate(viewing ? base : pubBase);
    const routerId = `fuzz-${i}` as never;
    await worker.channel.request('createRouter', { routerId, streamId: streamId as never });
    try {
      await worker.channel.request('createWebRtcTransport', { routerId, transportId: `fz${i}` as never, offer, role: viewing ? 'consume' : 'produce' });
      codes.set('accepted', (codes.get('accepted') ?? 0) + 1);
    } catch (err) {
      const code = (err as { code: string }).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      expect(['SDP_MALFORMED', 'SDP_UNSUPPORTED', 'NOT_PUBLISHING'], (err as Error).message + '\n' + offer).toContain(code);
    }
    await worker.channel.request('closeRouter', { routerId });
  }
  expect(codes.get('SDP_MALFORMED')).toBeGreaterThan(200);
  expect(codes.get('SDP_UNSUPPORTED')).toBeGreaterThan(50);

  // Over HTTP: always a 4xx with a code (or a 201 for a mutation that is still valid).
  for (let i = 0; i < 300; i++) {
    const viewing = i % 2 === 0;
    const res = await fetch(`${server.url}${viewing ? `/whep/${streamId}` : '/whip'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(viewing ? {} : { authorization: `Bearer ${streamKey}` }) },
      body: mutate(viewing ? base : pubBase),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(500);
    if (res.status === 201) await fetch(server.url + res.headers.get('location')!, { method: 'DELETE', headers: viewing ? {} : { authorization: `Bearer ${streamKey}` } });
    else expect((await res.json()).error.code).toMatch(/^(SDP_MALFORMED|SDP_UNSUPPORTED|STREAM_ALREADY_PUBLISHING|BODY_TOO_LARGE)$/);
  }

  expect(worker.child.pid).toBe(pid);
  const before = received;
  await until(() => received > before + 20);
}, 120_000);

it('ignores random RTP, RTCP, STUN and junk datagrams on its UDP port', async () => {
  const worker = server.app.workers.all()[0]!;
  const pid = worker.child.pid;
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const buf = Buffer.alloc(1500);
  for (let i = 0; i < 20_000; i++) {
    const len = 1 + rnd(1400);
    for (let j = 0; j < len; j++) buf[j] = rnd(256);
    const kind = i % 4;
    if (kind === 0) buf[0] = 0x80; // RTP-looking
    else if (kind === 1) {
      buf[0] = 0x80;
      buf[1] = 200 + rnd(8); // RTCP-looking
    } else if (kind === 2) {
      buf[0] = 0;
      buf[1] = 1; // STUN binding request-looking
      buf.writeUInt32BE(0x2112a442, 4);
    }
    sock.send(buf.subarray(0, len), worker.port, '127.0.0.1');
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise<void>((r) => sock.close(() => r()));
  expect(worker.child.pid).toBe(pid);
  const before = received;
  await until(() => received > before + 50);
  const stats = await worker.channel.request('getStats', {});
  expect(stats.viewers).toBe(1);
}, 60_000);
