/**
 * Killing an sfu-worker mid-stream: the server notices, cleans the lost sessions up, the
 * stream goes offline after the reconnect grace, nothing hangs, and a new publish works
 * on the restarted worker.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';
import { connect, createPublisherPeer, createViewerPeer, SyntheticH264, type ClientPeer } from '../helpers/ndc-peer.ts';

let server: TestServer;
const peers: ClientPeer[] = [];
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  server = await startTestServer({ config: { rtc: { reconnectGraceSeconds: 1 } } });
});
afterAll(async () => {
  timers.forEach(clearInterval);
  peers.forEach((p) => p.close());
  await server?.stop();
});

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function publishAndView(key: string, streamId: string) {
  const pub = await createPublisherPeer();
  peers.push(pub);
  const whip = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` }, body: pub.offer });
  expect(whip.status).toBe(201);
  await connect(pub, await whip.text());
  const gen = new SyntheticH264(0x11111111);
  timers.push(setInterval(() => {
    try {
      pub.video!.sendMessageBinary(gen.next(performance.now(), true));
    } catch {
      // closed
    }
  }, 10));
  await until(() => server.app.media.isActive(streamId as never));
  const viewer = await createViewerPeer();
  peers.push(viewer);
  let received = 0;
  viewer.video!.onMessage(() => received++);
  const whep = await fetch(`${server.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: viewer.offer });
  expect(whep.status).toBe(201);
  await connect(viewer, await whep.text());
  await until(() => received > 10);
  return { whipLocation: whip.headers.get('location')!, whepLocation: whep.headers.get('location')!, received: () => received };
}

it('cleans up after a killed worker and accepts a new publish on its replacement', async () => {
  const call = api(server.url);
  const reg = await call('POST', '/auth/register', { json: { username: 'crasher', email: 'crash@example.com', password: 'purple tiger moon' } });
  const s = await call('POST', '/streams', { token: reg.body.accessToken, json: { title: 'crash' } });
  const streamId = s.body.stream.id;
  const first = await publishAndView(s.body.streamKey, streamId);
  expect((await call('GET', `/streams/${streamId}`)).body.stream.status).toBe('live');
  expect(server.app.media.viewerCount(streamId)).toBe(1);

  const other = await call('POST', '/streams', { token: reg.body.accessToken, json: { title: 'probe' } });
  const probe = await createPublisherPeer();
  peers.push(probe);

  const worker = server.app.workers.all()[0]!;
  const oldPid = worker.child.pid;
  worker.child.kill('SIGKILL');

  // While the worker is down, a new publish is answered at once with 503 + Retry-After.
  const t0 = Date.now();
  const during = await fetch(`${server.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${other.body.streamKey}` }, body: probe.offer });
  expect(during.status).toBe(503);
  expect(during.headers.get('retry-after')).toBe('2');
  expect(Date.now() - t0).toBeLessThan(5000);

  // The server notices: sessions are gone (a late DELETE is told so: 200, the WHIP one with
  // its key), viewers counted out, the stream reconnecting, then offline after the grace.
  await until(() => server.app.media.viewerCount(streamId) === 0);
  expect((await fetch(server.url + first.whepLocation, { method: 'DELETE' })).status).toBe(200);
  expect((await fetch(server.url + first.whipLocation, { method: 'DELETE' })).status).toBe(401);
  expect((await fetch(server.url + first.whipLocation, { method: 'DELETE', headers: { authorization: `Bearer ${s.body.streamKey}` } })).status).toBe(200);
  await until(async () => (await call('GET', `/streams/${streamId}`)).body.stream.status === 'offline');
  expect(server.logs()).toContain('publisher connection lost: waiting for it to come back');
  expect(server.logs()).toContain('sfu-worker exited; its sessions are lost');

  // A restarted worker is a new handle in the same slot.
  await until(() => server.app.workers.all()[0]!.ready && server.app.workers.all()[0]!.child.pid !== oldPid);
  expect(worker.closed).toBe(true);
  const second = await publishAndView(s.body.streamKey, streamId);
  expect((await call('GET', `/streams/${streamId}`)).body.stream.status).toBe('live');
  expect(second.received()).toBeGreaterThan(10);
  expect((await call('GET', '/readyz')).status).toBe(200);
}, 60_000);
