/**
 * Small fakes for the media model tests: a PeerConnection whose state the test drives, a
 * WHIP/WHEP server that answers from a script, an EventSource the test pushes events into,
 * and camera tracks. Not imported by the app.
 */
import type { FetchFn } from '../lib/http.ts';
import type { MediaDevicesLike, PeerConnectionLike, TransceiverLike } from '../lib/peer.ts';

type Listener = (event: Event) => void;

class Emitter {
  private readonly listeners = new Map<string, Set<Listener>>();
  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  emit(type: string, event: object = {}): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ type, ...event } as unknown as Event);
  }
}

export interface FakeTrack {
  kind: 'video' | 'audio';
  id: string;
  readyState: 'live' | 'ended';
  stopped: boolean;
  stop(): void;
  getSettings(): { deviceId: string; height?: number };
  /** A copy (simulcast layers send clones of the camera track). */
  clone(): FakeTrack & MediaStreamTrack;
  addEventListener(type: string, listener: Listener): void;
  removeEventListener(type: string, listener: Listener): void;
  /** The browser ends a track (e.g. "Stop sharing"). */
  end(): void;
}

let trackCounter = 0;
export function fakeTrack(kind: 'video' | 'audio', deviceId = `${kind}-default`, height?: number): FakeTrack & MediaStreamTrack {
  const emitter = new Emitter();
  const track: FakeTrack = {
    kind,
    id: `${kind}-${++trackCounter}`,
    readyState: 'live',
    stopped: false,
    stop() {
      track.stopped = true;
      track.readyState = 'ended';
    },
    getSettings: () => (height === undefined ? { deviceId } : { deviceId, height }),
    clone: () => fakeTrack(kind, deviceId, height),
    addEventListener: (type, listener) => emitter.addEventListener(type, listener),
    removeEventListener: (type, listener) => emitter.removeEventListener(type, listener),
    end() {
      track.readyState = 'ended';
      emitter.emit('ended');
    },
  };
  return track as FakeTrack & MediaStreamTrack;
}

export interface FakeTransceiver extends TransceiverLike {
  kind: 'video' | 'audio';
  direction: RTCRtpTransceiverDirection | undefined;
  sender: {
    track: MediaStreamTrack | null;
    replaced: (MediaStreamTrack | null)[];
    replaceTrack(t: MediaStreamTrack | null): Promise<void>;
    getParameters(): RTCRtpSendParameters;
    setParameters(p: RTCRtpSendParameters): Promise<void>;
  };
  init: RTCRtpTransceiverInit | undefined;
  codecPreferences: RTCRtpCodec[] | null;
}

export class FakePeerConnection extends Emitter implements PeerConnectionLike {
  connectionState: RTCPeerConnectionState = 'new';
  iceGatheringState: RTCIceGatheringState = 'new';
  localDescription: { sdp: string } | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  closed = false;
  stats = new Map<string, Record<string, unknown>>();
  /** Log shared with the fake server, so tests can check what happened in which order. */
  constructor(
    readonly config: RTCConfiguration,
    readonly log: string[],
    readonly index: number,
  ) {
    super();
  }

  addTransceiver(trackOrKind: MediaStreamTrack | 'audio' | 'video', init?: RTCRtpTransceiverInit): FakeTransceiver {
    const track = typeof trackOrKind === 'string' ? null : trackOrKind;
    const kind = (typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind) as 'video' | 'audio';
    let params = { encodings: (init?.sendEncodings ?? [{}]).map((e) => ({ active: true, ...e })) } as RTCRtpSendParameters;
    const transceiver: FakeTransceiver = {
      kind,
      direction: init?.direction,
      init,
      codecPreferences: null,
      sender: {
        track,
        replaced: [],
        async replaceTrack(t) {
          transceiver.sender.track = t;
          transceiver.sender.replaced.push(t);
        },
        getParameters: () => structuredClone(params),
        async setParameters(p) {
          params = structuredClone(p);
        },
      },
      setCodecPreferences(codecs) {
        transceiver.codecPreferences = codecs;
      },
    };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  async createOffer(): Promise<RTCSessionDescriptionInit> {
    const lines = this.transceivers.map((t) => `m=${t.kind} 9 UDP/TLS/RTP/SAVPF 96\r\na=${t.direction}\r\n`);
    return { type: 'offer', sdp: `v=0\r\no=- ${this.index} 2 IN IP4 127.0.0.1\r\n${lines.join('')}` };
  }

  async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = { sdp: description?.sdp ?? '' };
    this.iceGatheringState = 'complete';
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.remoteDescription = description;
  }

  async getStats(): Promise<Map<string, Record<string, unknown>>> {
    return new Map(this.stats);
  }

  /** Drives `connectionState` as the browser would. */
  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.emit('connectionstatechange');
  }

  receive(track: MediaStreamTrack): void {
    this.emit('track', { track, streams: [] });
  }

  close(): void {
    this.log.push(`close pc${this.index}`);
    this.closed = true;
    this.connectionState = 'closed';
  }
}

export function createPeerFactory(log: string[] = []) {
  const created: FakePeerConnection[] = [];
  return {
    created,
    log,
    create: (config: RTCConfiguration) => {
      const pc = new FakePeerConnection(config, log, created.length + 1);
      created.push(pc);
      return pc;
    },
    /** The most recent PeerConnection. */
    get last(): FakePeerConnection {
      const pc = created[created.length - 1];
      if (!pc) throw new Error('no PeerConnection was created');
      return pc;
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  keepalive: boolean;
}

type Reply = Response | (() => Response) | Error;

/**
 * A WHIP/WHEP endpoint: POSTs are answered from `replies` (queued) or else with a 201,
 * an SDP answer and `Location: /<kind>/sessions/<n>` (relative, as Glint sends it).
 */
export function createFakeMediaServer(log: string[] = []) {
  const requests: RecordedRequest[] = [];
  /** `Link` values OPTIONS answers with (`<turn:...>; rel="ice-server"; ...`). */
  const iceLinks: string[] = [];
  const replies: Reply[] = [];
  let sessions = 0;
  const fetch: FetchFn = async (input, init = {}) => {
    const url = String(input);
    const method = init.method ?? 'GET';
    const request: RecordedRequest = {
      method,
      url,
      headers: { ...((init.headers as Record<string, string> | undefined) ?? {}) },
      body: typeof init.body === 'string' ? init.body : undefined,
      keepalive: init.keepalive === true,
    };
    requests.push(request);
    log.push(`${method} ${new URL(url).pathname}`);
    if (method === 'DELETE') return new Response('', { status: 200 });
    if (method === 'OPTIONS') return new Response(null, { status: 204, headers: iceLinks.length > 0 ? { Link: iceLinks.join(', ') } : {} });
    const next = replies.shift();
    if (next instanceof Error) throw next;
    if (next) return typeof next === 'function' ? next() : next;
    sessions += 1;
    const kind = new URL(url).pathname.startsWith('/whip') ? 'whip' : 'whep';
    return new Response(`v=0\r\no=- answer ${sessions}\r\n`, {
      status: 201,
      headers: { 'Content-Type': 'application/sdp', Location: `/${kind}/sessions/s${sessions}`, ETag: `"e${sessions}"` },
    });
  };
  return {
    fetch,
    requests,
    replies,
    iceLinks,
    posts: () => requests.filter((r) => r.method === 'POST'),
    deletes: () => requests.filter((r) => r.method === 'DELETE'),
  };
}

export function errorReply(status: number, code: string, message = code, headers: Record<string, string> = {}): () => Response {
  return () =>
    new Response(JSON.stringify({ error: { code, message } }), {
      status,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
}

export class FakeEventSource extends Emitter {
  closed = false;
  constructor(readonly url: string) {
    super();
  }
  open(): void {
    this.emit('open');
  }
  /** A server-sent event (`event: <type>`, `data: <json>`). */
  send(type: string, data: unknown = {}): void {
    this.emit(type, { data: JSON.stringify(data) });
  }
  /** EventSource's own connection error (no data). */
  fail(): void {
    this.emit('error');
  }
  close(): void {
    this.closed = true;
  }
}

export function createEventSourceFactory() {
  const opened: FakeEventSource[] = [];
  return {
    opened,
    open: (url: string) => {
      const source = new FakeEventSource(url);
      opened.push(source);
      return source;
    },
    get last(): FakeEventSource {
      const source = opened[opened.length - 1];
      if (!source) throw new Error('no EventSource was opened');
      return source;
    },
  };
}

/** Cameras and microphones; every getUserMedia hands out new tracks of the asked device. */
export function createFakeDevices(opts: { denied?: boolean; cameraHeight?: number } = {}) {
  const calls: MediaStreamConstraints[] = [];
  const handedOut: (FakeTrack & MediaStreamTrack)[] = [];
  const deviceOf = (c: boolean | MediaTrackConstraints | undefined, fallback: string) => {
    if (typeof c !== 'object') return fallback;
    const id = c.deviceId;
    if (typeof id === 'object' && id !== null && 'exact' in id) return String(id.exact);
    return fallback;
  };
  const stream = (tracks: MediaStreamTrack[]) => ({
    getVideoTracks: () => tracks.filter((t) => t.kind === 'video'),
    getAudioTracks: () => tracks.filter((t) => t.kind === 'audio'),
  });
  const devices: MediaDevicesLike & { calls: MediaStreamConstraints[]; handedOut: typeof handedOut; screenAudio: boolean } = {
    calls,
    handedOut,
    screenAudio: true,
    async getUserMedia(constraints) {
      calls.push(constraints);
      if (opts.denied) throw Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
      const tracks: (FakeTrack & MediaStreamTrack)[] = [];
      if (constraints.video) tracks.push(fakeTrack('video', deviceOf(constraints.video, 'cam1'), opts.cameraHeight));
      if (constraints.audio) tracks.push(fakeTrack('audio', deviceOf(constraints.audio, 'mic1')));
      handedOut.push(...tracks);
      return stream(tracks);
    },
    async getDisplayMedia() {
      const tracks = [fakeTrack('video', 'screen')];
      if (devices.screenAudio) tracks.push(fakeTrack('audio', 'screen-audio'));
      handedOut.push(...tracks);
      return stream(tracks);
    },
    async enumerateDevices() {
      const info = (kind: MediaDeviceKind, deviceId: string, label: string) => ({ kind, deviceId, label, groupId: '' }) as MediaDeviceInfo;
      return [
        info('videoinput', 'cam1', 'Front camera'),
        info('videoinput', 'cam2', ''),
        info('audioinput', 'mic1', 'Built-in microphone'),
        info('audiooutput', 'spk1', 'Speakers'),
      ];
    },
  };
  return devices;
}

/** Chromium's video codecs, in its order. */
export const CHROMIUM_VIDEO_CODECS: RTCRtpCodec[] = [
  { mimeType: 'video/VP8', clockRate: 90000 },
  { mimeType: 'video/rtx', clockRate: 90000 },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { mimeType: 'video/AV1', clockRate: 90000, sdpFmtpLine: 'level-idx=5;profile=0;tier=0' },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
];
