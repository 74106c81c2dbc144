import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPlayer, type PlayerDeps } from './create-player.ts';
import { createEventSourceFactory, createFakeMediaServer, createPeerFactory, errorReply, fakeTrack } from './media-testing.ts';

const WHEP = 'http://127.0.0.1:8080/whep/stream-1';
const EVENTS = 'http://127.0.0.1:8080/streams/stream-1/events';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
}

function setup(overrides: Partial<PlayerDeps> = {}) {
  const log: string[] = [];
  const server = createFakeMediaServer(log);
  const peers = createPeerFactory(log);
  const sources = createEventSourceFactory();
  const player = createPlayer({
    fetch: server.fetch,
    whepUrl: WHEP,
    eventsUrl: EVENTS,
    openEventSource: sources.open,
    createPeerConnection: peers.create,
    ...overrides,
  });
  return { player, server, peers, sources, log };
}

const notLive = (seconds = '5') => errorReply(409, 'STREAM_NOT_LIVE', 'This stream is not live yet.', { 'Retry-After': seconds });

/** Connects the current PeerConnection and delivers one video and one audio track. */
function connect(t: ReturnType<typeof setup>) {
  const pc = t.peers.last;
  pc.receive(fakeTrack('video'));
  pc.receive(fakeTrack('audio'));
  pc.setState('connected');
}

/** A player playing a live stream, its event stream open. */
async function playingWithEvents() {
  const t = setup({ initialStatus: 'live' });
  t.player.start();
  t.sources.last.open();
  await settle();
  connect(t);
  return t;
}

/** The browser's figures of the current connection: `frames` decoded by `at` ms. */
function decoded(t: ReturnType<typeof setup>, frames: number, at: number): void {
  t.peers.last.stats.set('in-video', { type: 'inbound-rtp', kind: 'video', framesDecoded: frames, bytesReceived: frames * 33, timestamp: at });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('player', () => {
  it('plays a live stream with a recvonly video + audio offer and no credentials', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    expect(t.player.state.value).toBe('starting');
    await settle();

    const pc = t.peers.last;
    expect(pc.transceivers.map((x) => [x.kind, x.direction])).toEqual([
      ['video', 'recvonly'],
      ['audio', 'recvonly'],
    ]);
    const [post] = t.server.posts();
    expect(post?.url).toBe(WHEP);
    expect(post?.headers.Authorization).toBeUndefined();
    expect(post?.headers['Content-Type']).toBe('application/sdp');
    expect(t.sources.last.url).toBe(EVENTS);

    connect(t);
    expect(t.player.state.value).toBe('playing');
    expect(t.player.tracks.value.map((track) => track.kind)).toEqual(['video', 'audio']);
  });

  it('says where to watch when WebRTC is full, and tries again only after Retry-After', async () => {
    const t = setup({ initialStatus: 'live' });
    t.server.replies.push(() =>
      new Response(JSON.stringify({ error: { code: 'WEBRTC_FULL', message: 'full', hls: { url: '/hls/stream-1/master.m3u8' } } }), {
        status: 503,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '15' },
      }),
    );
    t.player.start();
    await settle();
    expect(t.player.full.value).toEqual({ hlsUrl: '/hls/stream-1/master.m3u8', retryAfterSeconds: 15 });
    await vi.advanceTimersByTimeAsync(14_000);
    expect(t.server.posts()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.server.posts()).toHaveLength(2);
    connect(t);
    expect(t.player.state.value).toBe('playing');
    expect(t.player.full.value).toBeNull();
  });

  it('asks again after Retry-After when the stream is not live yet', async () => {
    const t = setup();
    t.server.replies.push(notLive('5'));
    t.player.start();
    await settle();
    expect(t.server.posts()).toHaveLength(1);
    expect(t.player.state.value).toBe('starting');

    await vi.advanceTimersByTimeAsync(4_900);
    expect(t.server.posts()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await settle();
    expect(t.server.posts()).toHaveLength(2);
    connect(t);
    expect(t.player.state.value).toBe('playing');
  });

  it('waits for the live event when the stream is offline, then plays without being asked', async () => {
    const t = setup({ initialStatus: 'offline' });
    t.player.start();
    t.sources.last.send('offline');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.player.state.value).toBe('offline');
    expect(t.server.posts()).toHaveLength(0);

    t.sources.last.send('live');
    await settle();
    expect(t.server.posts()).toHaveLength(1);
    connect(t);
    expect(t.player.state.value).toBe('playing');
  });

  it('does not poll a stream the events call offline, even after a 409', async () => {
    const t = setup();
    t.server.replies.push(notLive('5'));
    t.player.start();
    await settle(); // 409: a retry is due in 5 s
    t.sources.last.send('offline');
    expect(t.player.state.value).toBe('offline');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.server.posts()).toHaveLength(1);
    expect(t.peers.created.every((pc) => pc.closed)).toBe(true);
  });

  it('asks again at once when the stream went live while a 409 was on its way', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = createFakeMediaServer();
    server.replies.push(notLive('5'));
    const t = setup({
      fetch: async (url, init) => {
        if (server.posts().length === 0) await held;
        return server.fetch(url, init);
      },
    });
    t.player.start();
    await settle();
    t.sources.last.send('live');
    release();
    await settle();
    expect(server.posts()).toHaveLength(2);
  });

  it('waits for Retry-After when the event stream only repeats that the stream is live', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = createFakeMediaServer();
    server.replies.push(notLive('5'));
    const t = setup({
      initialStatus: 'live',
      fetch: async (url, init) => {
        if (server.posts().length === 0) await held;
        return server.fetch(url, init);
      },
    });
    t.player.start();
    await settle();
    t.sources.last.send('live'); // the current status, sent first on every connection
    release();
    await settle();
    expect(server.posts()).toHaveLength(1);
    expect(t.player.waitingForBroadcaster.value).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    await settle();
    expect(server.posts()).toHaveLength(2);
    connect(t);
    expect(t.player.waitingForBroadcaster.value).toBe(false);
  });

  it('shows playing as soon as frames are decoded, even before the server says the media is active', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    t.sources.last.send('live');
    t.sources.last.send('inactive'); // the publisher just connected; the server has not seen media yet
    await settle();
    connect(t);
    expect(t.player.state.value).toBe('starting');
    t.peers.last.stats = new Map([['IV', { id: 'IV', type: 'inbound-rtp', kind: 'video', timestamp: 1, framesDecoded: 3 }]]);
    await vi.advanceTimersByTimeAsync(250);
    expect(t.player.state.value).toBe('playing');
  });

  it('keeps the connection on "inactive" and shows reconnecting until "active"', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);
    t.sources.last.send('inactive');
    expect(t.player.state.value).toBe('reconnecting');
    expect(t.peers.last.closed).toBe(false);
    t.sources.last.send('active');
    expect(t.player.state.value).toBe('playing');
    expect(t.peers.created).toHaveLength(1);
  });

  it('replaces a failed connection with backoff and DELETEs the old session', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);
    t.peers.last.setState('failed');
    expect(t.player.state.value).toBe('reconnecting');
    await settle();
    expect(t.server.deletes().map((r) => r.url)).toEqual(['http://127.0.0.1:8080/whep/sessions/s1']);

    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
    connect(t);
    expect(t.player.state.value).toBe('playing');
  });

  it('tells the server its player width once connected, and again when it was resized meanwhile', async () => {
    const t = setup({ initialStatus: 'live' });
    const layers = { current: 2, target: 2, switches: 0, cap: 2, estimate: null, loss: 0, rttMs: null, layers: [{ width: 320, height: 180, active: true, bitrate: 1 }, { width: 640, height: 360, active: true, bitrate: 1 }, { width: 1280, height: 720, active: true, bitrate: 1 }] };
    t.player.start();
    await settle();
    t.server.replies.push(() => new Response(JSON.stringify({ layers }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    t.server.replies.push(() => new Response(JSON.stringify({ layers: { ...layers, target: 0 } }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    connect(t); // posts its preferences (no width known yet)
    t.player.setViewportWidth(300); // resized while that POST is on its way
    await settle();
    const posts = t.server.posts().filter((r) => r.url.endsWith('/layers'));
    expect(posts.map((r) => JSON.parse(r.body!))).toEqual([{ maxWidth: null, layer: null }, { maxWidth: 300, layer: null }]);
    expect(t.player.layers.value?.target).toBe(0);
  });

  it('builds its first connection with the TURN servers OPTIONS names, and the next with those of the answer', async () => {
    const t = setup({ initialStatus: 'live' });
    const expiry = Math.floor(Date.now() / 1000) + 86_400;
    t.server.iceLinks.push(`<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="${expiry}:a"; credential="pa"; credential-type="password"`);
    t.server.replies.push(
      () =>
        new Response('v=0\r\n', {
          status: 201,
          headers: { Location: '/whep/sessions/s1', Link: `<turn:127.0.0.1:3478?transport=tcp>; rel="ice-server"; username="${expiry}:b"; credential="pb"` },
        }),
    );
    t.player.start();
    await settle();
    expect(t.server.requests.map((r) => r.method)).toEqual(['OPTIONS', 'POST']);
    expect(t.peers.last.config.iceServers).toEqual([{ urls: 'turn:127.0.0.1:3478?transport=udp', username: `${expiry}:a`, credential: 'pa' }]);
    connect(t);
    t.peers.last.setState('failed');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
    expect(t.peers.last.config.iceServers).toEqual([{ urls: 'turn:127.0.0.1:3478?transport=tcp', username: `${expiry}:b`, credential: 'pb' }]);
    expect(t.server.requests.filter((r) => r.method === 'OPTIONS')).toHaveLength(1);
  });

  it('connects without servers when OPTIONS fails', async () => {
    const t = setup({ initialStatus: 'live', fetch: async (url, init) => (init?.method === 'OPTIONS' ? Promise.reject(new TypeError('offline')) : createFakeMediaServer().fetch(url, init)) });
    t.player.start();
    await settle();
    expect(t.peers.created).toHaveLength(1);
    expect(t.peers.last.config.iceServers).toEqual([]);
  });

  it('replaces a connection that stays disconnected for 3 s', async () => {
    const t = await playingWithEvents();
    t.peers.last.setState('disconnected');
    await vi.advanceTimersByTimeAsync(2_999);
    expect(t.player.state.value).toBe('playing');
    await vi.advanceTimersByTimeAsync(1);
    expect(t.player.state.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
  });

  it('replaces a disconnected connection at once when the event stream dropped too (the node is gone)', async () => {
    const t = await playingWithEvents();
    t.sources.last.fail();
    t.peers.last.setState('disconnected');
    expect(t.player.state.value).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(t.peers.created).toHaveLength(2);
  });

  it('replaces a connection whose frames stopped while the event stream is down', async () => {
    const t = await playingWithEvents();
    decoded(t, 30, 1000);
    await vi.advanceTimersByTimeAsync(1_000);
    decoded(t, 60, 2000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.player.state.value).toBe('playing');
    // The event stream drops; frames stop: checked at once, replaced at once (a balancer sends
    // the new offer to a node that is alive).
    t.sources.last.fail();
    await vi.advanceTimersByTimeAsync(450);
    expect(t.player.state.value).toBe('reconnecting');
    await settle();
    expect(t.peers.created).toHaveLength(2);
  });

  it('keeps a connection whose frames stopped while the event stream is up (the publisher is away)', async () => {
    const t = await playingWithEvents();
    decoded(t, 30, 1000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(t.peers.created).toHaveLength(1);
  });

  it('ends the session when the stream goes offline and starts a new one when it is live again', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);

    t.sources.last.send('inactive');
    t.sources.last.send('offline');
    await settle();
    expect(t.player.state.value).toBe('offline');
    expect(t.player.tracks.value).toEqual([]);
    expect(t.peers.created[0]!.closed).toBe(true);
    expect(t.server.deletes()).toHaveLength(1);

    t.sources.last.send('live');
    await settle();
    expect(t.peers.created).toHaveLength(2);
    expect(t.player.state.value).toBe('starting');
    connect(t);
    t.sources.last.send('active');
    expect(t.player.state.value).toBe('playing');
  });

  it('keeps its session while the publisher reconnects, and plays again on it when it is back', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);
    t.sources.last.send('inactive');
    t.sources.last.send('reconnecting');
    expect(t.player.state.value).toBe('reconnecting');
    expect(t.player.streamStatus.value).toBe('reconnecting');
    t.sources.last.send('live');
    t.sources.last.send('active');
    await settle();
    expect(t.player.state.value).toBe('playing');
    expect(t.peers.created).toHaveLength(1);
    expect(t.peers.created[0]!.closed).toBe(false);
  });

  it('joins a stream that is reconnecting and waits on its session for the publisher', async () => {
    const t = setup({ initialStatus: 'reconnecting' });
    t.player.start();
    t.sources.last.send('reconnecting');
    t.sources.last.send('inactive');
    await settle();
    expect(t.server.posts()).toHaveLength(1);
    connect(t);
    expect(t.player.state.value).toBe('starting');
    t.sources.last.send('live');
    t.sources.last.send('active');
    expect(t.player.state.value).toBe('playing');
    expect(t.peers.created).toHaveLength(1);
  });

  it('shows a refusal that retrying cannot fix', async () => {
    const t = setup({ initialStatus: 'live' });
    t.server.replies.push(errorReply(422, 'SDP_UNSUPPORTED', 'The browser cannot decode this H.264 profile.'));
    t.player.start();
    await settle();
    expect(t.player.state.value).toBe('error');
    expect(t.player.error.value).toBe('The browser cannot decode this H.264 profile.');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.server.posts()).toHaveLength(1);
  });

  it('leaves with a keepalive DELETE and closes the event stream', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);
    t.player.stop();
    await settle();
    expect(t.server.deletes()).toMatchObject([{ url: 'http://127.0.0.1:8080/whep/sessions/s1', keepalive: true }]);
    expect(t.peers.last.closed).toBe(true);
    expect(t.sources.last.closed).toBe(true);
    expect(t.player.state.value).toBe('idle');
  });

  it('reports viewers and figures', async () => {
    const t = setup({ initialStatus: 'live' });
    t.player.start();
    await settle();
    connect(t);
    t.sources.last.send('viewercount', { viewercount: 3 });
    expect(t.player.viewers.value).toBe(3);
    t.peers.last.stats = new Map([['IV', { id: 'IV', type: 'inbound-rtp', kind: 'video', timestamp: 1, framesDecoded: 42 }]]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.player.figures.value?.framesDecoded).toBe(42);
  });
});
