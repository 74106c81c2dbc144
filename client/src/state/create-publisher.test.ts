import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLocalMedia } from './create-local-media.ts';
import { createPublisher, type PublisherDeps } from './create-publisher.ts';
import {
  CHROMIUM_VIDEO_CODECS,
  createFakeDevices,
  createFakeMediaServer,
  createPeerFactory,
  errorReply,
} from './media-testing.ts';

const WHIP = 'http://127.0.0.1:8080/whip';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
}

function setup(overrides: Partial<PublisherDeps> = {}, devices = createFakeDevices()) {
  const log: string[] = [];
  const server = createFakeMediaServer(log);
  const peers = createPeerFactory(log);
  const local = createLocalMedia({ mediaDevices: devices });
  let keyRequests = 0;
  const publisher = createPublisher({
    fetch: server.fetch,
    whipUrl: WHIP,
    streamKey: async () => `glint_sk_${++keyRequests}`,
    createPeerConnection: peers.create,
    media: local,
    videoCodecs: () => CHROMIUM_VIDEO_CODECS,
    ...overrides,
  });
  return { publisher, local, server, peers, devices, log };
}

/** Opens the camera, goes live and connects the PeerConnection. */
async function live(t: ReturnType<typeof setup>) {
  await t.local.start();
  await t.publisher.goLive();
  await settle();
  t.peers.last.setState('connecting');
  t.peers.last.setState('connected');
  expect(t.publisher.status.value).toBe('live');
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('going live', () => {
  it('fails with the device error when there is nothing to broadcast', async () => {
    const { publisher, local, server } = setup({}, createFakeDevices({ denied: true }));
    await publisher.goLive();
    expect(local.error.value).toMatch(/refused/);
    expect(publisher.status.value).toBe('error');
    expect(publisher.error.value).toMatch(/refused/);
    expect(server.posts()).toHaveLength(0);
  });

  it('posts a max-bundle sendonly offer with the stream key, H.264 first, and is live once connected', async () => {
    const t = setup();
    await t.local.start();
    await t.publisher.goLive();
    await settle();

    const pc = t.peers.last;
    expect(pc.config.bundlePolicy).toBe('max-bundle');
    expect(pc.transceivers.map((x) => [x.kind, x.direction, x.sender.track?.kind])).toEqual([
      ['video', 'sendonly', 'video'],
      ['audio', 'sendonly', 'audio'],
    ]);
    expect(pc.transceivers[0]!.codecPreferences?.[0]?.sdpFmtpLine).toContain('packetization-mode=1;profile-level-id=42e01f');

    const [post] = t.server.posts();
    expect(post?.url).toBe(WHIP);
    expect(post?.headers).toMatchObject({ Authorization: 'Bearer glint_sk_1', 'Content-Type': 'application/sdp' });
    expect(post?.body).toBe(pc.localDescription?.sdp);
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'v=0\r\no=- answer 1\r\n' });
    expect(t.publisher.status.value).toBe('connecting');

    pc.setState('connected');
    expect(t.publisher.status.value).toBe('live');
  });

  it('stops by DELETEing the session at its resolved URL before closing, then stops the camera', async () => {
    const t = setup();
    await live(t);
    const tracks = [t.local.videoTrack.value!, t.local.audioTrack.value!];
    await t.publisher.stop();

    expect(t.server.deletes().map((r) => r.url)).toEqual(['http://127.0.0.1:8080/whip/sessions/s1']);
    // A WHIP session URL needs the stream key it was opened with.
    expect(t.server.deletes()[0]!.headers.Authorization).toBe(`Bearer ${t.server.posts()[0]!.headers.Authorization!.slice('Bearer '.length)}`);
    expect(t.server.deletes()[0]!.headers.Authorization).toMatch(/^Bearer glint_sk_/);
    // The PeerConnection closes only after the DELETE.
    expect(t.log.filter((line) => line === 'DELETE /whip/sessions/s1' || line === 'close pc1')).toEqual([
      'DELETE /whip/sessions/s1',
      'close pc1',
    ]);
    expect(tracks.every((track) => track.readyState === 'ended')).toBe(true);
    expect(t.publisher.status.value).toBe('idle');
    expect(t.local.videoTrack.value).toBeNull();
  });

  it('shows the server refusal and stops trying when the stream key is wrong', async () => {
    const t = setup();
    t.server.replies.push(errorReply(401, 'STREAM_KEY_INVALID', 'The stream key is wrong or was rotated.'));
    await t.local.start();
    await t.publisher.goLive();
    await settle();
    expect(t.publisher.status.value).toBe('error');
    expect(t.publisher.error.value).toBe('The stream key is wrong or was rotated.');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.server.posts()).toHaveLength(1);
    expect(t.peers.last.closed).toBe(true);
  });

  it('ends the session a POST created after Stop was pressed', async () => {
    const server = createFakeMediaServer();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const t = setup({
      fetch: async (url, init) => {
        if (init?.method === 'POST') await held;
        return server.fetch(url, init);
      },
    });
    await t.local.start();
    await t.publisher.goLive();
    await settle();
    await t.publisher.stop();
    release();
    await settle();
    expect(server.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'OPTIONS /whip',
      'POST /whip',
      'DELETE /whip/sessions/s1',
    ]);
    expect(t.publisher.status.value).toBe('idle');
  });
});

describe('reconnecting', () => {
  it('replaces a failed connection: new PeerConnection with the same tracks, POST naming the old session, no DELETE', async () => {
    const t = setup();
    await live(t);
    const [video, audio] = [t.local.videoTrack.value, t.local.audioTrack.value];

    t.peers.last.setState('failed');
    expect(t.publisher.status.value).toBe('reconnecting');
    // Closing it now would tell the server (DTLS close_notify) that the broadcast is over:
    // it stays open until the server has handed its session over to the next one.
    expect(t.peers.created[0]!.closed).toBe(false);

    await vi.advanceTimersByTimeAsync(999);
    expect(t.server.posts()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();

    expect(t.log).not.toContain('DELETE /whip/sessions/s1');
    expect(t.server.posts()).toHaveLength(2);
    expect(new URL(t.server.posts()[1]!.url).searchParams.get('replaces')).toBe('s1');
    const second = t.peers.last;
    expect(second).not.toBe(t.peers.created[0]);
    expect(second.transceivers.map((x) => x.sender.track)).toEqual([video, audio]);
    expect(t.peers.created[0]!.closed).toBe(true);

    second.setState('connected');
    expect(t.publisher.status.value).toBe('live');
    expect(t.publisher.attempt.value).toBe(0);
  });

  it('backs off 1 s, 2 s, 4 s while the server cannot take the session', async () => {
    const t = setup();
    await live(t);
    for (let i = 0; i < 3; i++) t.server.replies.push(errorReply(503, 'MEDIA_UNAVAILABLE', 'busy'));

    t.peers.last.setState('failed');
    const postTimes: number[] = [];
    const started = Date.now();
    for (let ms = 0; ms < 20_000; ms += 100) {
      const before = t.server.posts().length;
      await vi.advanceTimersByTimeAsync(100);
      if (t.server.posts().length > before) postTimes.push(Date.now() - started);
    }
    // Retries at +1 s, then 2 s and 4 s after each refusal; the fourth attempt gets a session.
    expect(postTimes).toEqual([1000, 3000, 7000, 15000]);
    expect(t.publisher.status.value).toBe('reconnecting');
    t.peers.last.setState('connected');
    expect(t.publisher.status.value).toBe('live');
  });

  it('waits 3 s in "disconnected" before replacing the connection, and keeps one that recovers', async () => {
    const t = setup();
    await live(t);
    const pc = t.peers.last;

    pc.setState('disconnected');
    await vi.advanceTimersByTimeAsync(2_900);
    pc.setState('connected');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.peers.created).toHaveLength(1);
    expect(t.publisher.status.value).toBe('live');

    pc.setState('disconnected');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(t.publisher.status.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
  });

  it('gives a connection that never connects 15 s before trying again', async () => {
    const t = setup();
    await t.local.start();
    await t.publisher.goLive();
    await settle();
    await vi.advanceTimersByTimeAsync(14_999);
    expect(t.peers.created).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1 + 1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
    expect(t.publisher.status.value).toBe('connecting');
  });
});

describe('a stream ended elsewhere', () => {
  it('stops instead of reconnecting when the stream goes offline while live', async () => {
    const t = setup();
    await live(t);
    t.publisher.streamEnded();
    await settle();
    expect(t.publisher.status.value).toBe('idle');
    expect(t.publisher.error.value).toMatch(/ended elsewhere/);
    expect(t.peers.last.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(t.server.posts()).toHaveLength(1);
  });

  it('does not stop for an offline event while reconnecting', async () => {
    const t = setup();
    await live(t);
    t.peers.last.setState('failed');
    t.publisher.streamEnded();
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    t.peers.last.setState('connected');
    expect(t.publisher.status.value).toBe('live');
    t.publisher.streamEnded();
    await settle();
    expect(t.publisher.status.value).toBe('idle');
  });
});

describe('switching devices while live', () => {
  it('swaps the camera on the sender with replaceTrack, without a new offer', async () => {
    const t = setup();
    await live(t);
    const old = t.local.videoTrack.value!;
    await t.local.selectCamera('cam2');

    const sender = t.peers.last.transceivers[0]!.sender;
    expect(sender.replaced).toHaveLength(1);
    expect(sender.track).toBe(t.local.videoTrack.value);
    expect(t.local.videoTrack.value?.getSettings().deviceId).toBe('cam2');
    expect(old.readyState).toBe('ended');
    expect(t.server.posts()).toHaveLength(1);
    expect(t.devices.calls.at(-1)).toMatchObject({ video: { deviceId: { exact: 'cam2' } } });
  });

  it('shares the screen with its audio, and goes back to the camera when sharing ends', async () => {
    const t = setup();
    await live(t);
    await t.local.shareScreen();
    expect(t.local.source.value).toBe('screen');
    const screen = t.local.videoTrack.value as unknown as { end(): void; getSettings(): { deviceId: string } };
    expect(screen.getSettings().deviceId).toBe('screen');
    expect(t.peers.last.transceivers[1]!.sender.track?.getSettings().deviceId).toBe('screen-audio');

    screen.end();
    await settle();
    expect(t.local.source.value).toBe('camera');
    expect(t.peers.last.transceivers[0]!.sender.track?.getSettings().deviceId).toBe('cam1');
    expect(t.peers.last.transceivers[1]!.sender.track?.getSettings().deviceId).toBe('mic1');
    expect(t.server.posts()).toHaveLength(1);
  });
});

describe('simulcast', () => {
  const simulcastSetup = () => setup({ createMediaStream: (tracks) => ({ id: 'stream-1', tracks }) as unknown as MediaStream }, createFakeDevices({ cameraHeight: 720 }));

  it('sends a 720p camera as three layers (a quarter, half, full size) of one stream, lowest first, then audio', async () => {
    const t = simulcastSetup();
    await live(t);
    const x = t.peers.last.transceivers;
    expect(x.map((r) => r.kind)).toEqual(['video', 'video', 'video', 'audio']);
    expect(x.slice(0, 3).map((r) => r.init?.sendEncodings?.[0]?.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    expect(x.slice(0, 3).map((r) => r.init?.sendEncodings?.[0]?.maxBitrate)).toEqual([150_000, 500_000, 2_000_000]);
    expect(new Set(x.slice(0, 3).map((r) => (r.init?.streams?.[0] as unknown as { id: string }).id))).toEqual(new Set(['stream-1']));
    // The top layer sends the camera track itself, the others clones of it.
    expect(x[2]!.sender.track).toBe(t.local.videoTrack.value);
    expect(x[0]!.sender.track).not.toBe(t.local.videoTrack.value);
    expect(x[0]!.sender.track?.getSettings().deviceId).toBe('cam1');
    for (const r of x.slice(0, 3)) expect(r.codecPreferences?.[0]?.sdpFmtpLine).toContain('packetization-mode=1');
  });

  it('sends one layer from a camera below 540 lines, or without a way to group layers', async () => {
    const low = setup({ createMediaStream: (tracks) => ({ id: 's', tracks }) as unknown as MediaStream }, createFakeDevices({ cameraHeight: 480 }));
    await live(low);
    expect(low.peers.last.transceivers.map((r) => r.kind)).toEqual(['video', 'audio']);
    const plain = setup({}, createFakeDevices({ cameraHeight: 720 }));
    await live(plain);
    expect(plain.peers.last.transceivers.map((r) => r.kind)).toEqual(['video', 'audio']);
  });

  it('puts a new camera on every layer, and pauses the lower layers while the screen is shared', async () => {
    const t = simulcastSetup();
    await live(t);
    const x = t.peers.last.transceivers;
    const oldClone = x[0]!.sender.track as unknown as { stopped: boolean };
    await t.local.selectCamera('cam2');
    await settle();
    expect(x.slice(0, 3).map((r) => r.sender.track?.getSettings().deviceId)).toEqual(['cam2', 'cam2', 'cam2']);
    expect(oldClone.stopped).toBe(true);
    await t.local.shareScreen();
    await settle();
    expect(x.slice(0, 3).map((r) => r.sender.getParameters().encodings[0]!.active)).toEqual([false, false, true]);
    expect(x[2]!.sender.track?.getSettings().deviceId).toBe('screen');
  });
});

describe('figures', () => {
  it('samples getStats every second while live', async () => {
    const t = setup();
    await live(t);
    const pc = t.peers.last;
    const at = (ms: number, bytes: number) =>
      new Map<string, Record<string, unknown>>([
        ['OV', { id: 'OV', type: 'outbound-rtp', kind: 'video', timestamp: ms, bytesSent: bytes, framesPerSecond: 30, frameWidth: 640, frameHeight: 480 }],
      ]);
    pc.stats = at(1_000, 0);
    await vi.advanceTimersByTimeAsync(1_000);
    pc.stats = at(2_000, 125_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.publisher.figures.value).toMatchObject({ bitrateKbps: 1000, fps: 30, width: 640, height: 480 });
    await t.publisher.stop();
    expect(t.publisher.figures.value).toBeNull();
  });
});
