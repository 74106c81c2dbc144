import { batch, signal } from '@preact/signals';
import type { MediaDevicesLike, MediaStreamLike } from '../lib/peer.ts';
import { createSerialQueue } from './serial-queue.ts';

export type VideoSource = 'camera' | 'screen';

export interface DeviceOption {
  id: string;
  label: string;
}

/**
 * Whoever sends the tracks (the publisher): told about every replacement before the old
 * track is stopped, so it can swap it on its sender first.
 */
export type TrackSink = (kind: 'video' | 'audio', track: MediaStreamTrack | null) => Promise<void>;

export type LocalMedia = ReturnType<typeof createLocalMedia>;

/**
 * The Studio's own camera, microphone or screen: the device lists, the chosen devices and
 * the current video and audio tracks. Device changes run one at a time.
 */
export function createLocalMedia(deps: { mediaDevices: MediaDevicesLike | null }) {
  const cameras = signal<DeviceOption[]>([]);
  const microphones = signal<DeviceOption[]>([]);
  const cameraId = signal('');
  const microphoneId = signal('');
  const source = signal<VideoSource>('camera');
  const videoTrack = signal<MediaStreamTrack | null>(null);
  const audioTrack = signal<MediaStreamTrack | null>(null);
  /** Why the last device change failed, in words (permission refused, no device, ...). */
  const error = signal<string | null>(null);
  const busy = signal(false);

  const queue = createSerialQueue();
  let audioFromScreen = false;
  let sink: TrackSink | null = null;
  let closed = false;
  let unsubscribeDevices: (() => void) | null = null;

  function requireDevices(): MediaDevicesLike {
    if (!deps.mediaDevices) {
      throw new DeviceProblem('This browser offers no camera here. Open the Studio over HTTPS (or on localhost).');
    }
    return deps.mediaDevices;
  }

  async function refreshDevices(): Promise<void> {
    const md = deps.mediaDevices;
    if (!md) return;
    const list = await md.enumerateDevices().catch(() => [] as MediaDeviceInfo[]);
    const options = (kind: MediaDeviceKind, noun: string) =>
      list
        .filter((d) => d.kind === kind && d.deviceId !== '')
        .map((d, i) => ({ id: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
    batch(() => {
      cameras.value = options('videoinput', 'Camera');
      microphones.value = options('audioinput', 'Microphone');
      const v = videoTrack.peek();
      if (!cameraId.peek() && v && source.peek() === 'camera') cameraId.value = v.getSettings?.().deviceId ?? '';
      const a = audioTrack.peek();
      if (!microphoneId.peek() && a && !audioFromScreen) microphoneId.value = a.getSettings?.().deviceId ?? '';
    });
    if (!unsubscribeDevices && md.addEventListener) {
      const onChange = () => void refreshDevices();
      md.addEventListener('devicechange', onChange);
      unsubscribeDevices = () => md.removeEventListener?.('devicechange', onChange);
    }
  }

  /** Shows a track and hands it to the sink (the live sender) first; then stops the one it replaces. */
  async function setTrack(kind: 'video' | 'audio', track: MediaStreamTrack | null): Promise<void> {
    const holder = kind === 'video' ? videoTrack : audioTrack;
    const old = holder.peek();
    if (old === track) return;
    holder.value = track;
    if (sink) await sink(kind, track).catch(() => undefined);
    old?.stop();
  }

  async function openCamera(md: MediaDevicesLike, id: string): Promise<MediaStreamTrack> {
    const stream = await md.getUserMedia({ video: videoConstraints(id) });
    return firstTrack(stream, 'video');
  }

  async function openMicrophone(md: MediaDevicesLike, id: string): Promise<MediaStreamTrack> {
    const stream = await md.getUserMedia({ audio: audioConstraints(id) });
    return firstTrack(stream, 'audio');
  }

  function devicesTask(task: (md: MediaDevicesLike) => Promise<void>): Promise<void> {
    return queue.run(async () => {
      if (closed) return;
      busy.value = true;
      try {
        await task(requireDevices());
        error.value = null;
      } catch (err) {
        error.value = describeDeviceError(err);
      } finally {
        busy.value = false;
      }
    });
  }

  /** Opens the chosen (or default) camera and microphone for the preview. */
  function startCamera(): Promise<void> {
    return devicesTask(async (md) => {
      let stream: MediaStreamLike;
      try {
        stream = await md.getUserMedia({ video: videoConstraints(cameraId.peek()), audio: audioConstraints(microphoneId.peek()) });
      } catch (err) {
        // No microphone (or no camera): go on with what there is.
        if (!isMissingDevice(err)) throw err;
        stream = await md.getUserMedia({ video: videoConstraints('') }).catch(() => md.getUserMedia({ audio: audioConstraints('') }));
      }
      if (closed) return stopAll(stream);
      audioFromScreen = false;
      source.value = 'camera';
      await setTrack('video', stream.getVideoTracks()[0] ?? null);
      await setTrack('audio', stream.getAudioTracks()[0] ?? null);
      await refreshDevices();
    });
  }

  function selectCamera(id: string): Promise<void> {
    cameraId.value = id;
    if (source.peek() === 'screen') return Promise.resolve(); // used when going back to the camera
    return devicesTask(async (md) => {
      const track = await openCamera(md, id);
      if (closed) return track.stop();
      await setTrack('video', track);
    });
  }

  function selectMicrophone(id: string): Promise<void> {
    microphoneId.value = id;
    return devicesTask(async (md) => {
      const track = await openMicrophone(md, id);
      if (closed) return track.stop();
      audioFromScreen = false;
      await setTrack('audio', track);
    });
  }

  /** Shares a screen, window or tab (with its audio when the browser offers it) instead of the camera. */
  function shareScreen(): Promise<void> {
    return devicesTask(async (md) => {
      if (!md.getDisplayMedia) throw new DeviceProblem('This browser cannot share the screen.');
      const stream = await md.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: true });
      const video = firstTrack(stream, 'video');
      const audio = stream.getAudioTracks()[0] ?? null;
      if (closed) return stopAll(stream);
      // The browser's own "Stop sharing" button ends the track: go back to the camera.
      video.addEventListener?.('ended', () => {
        if (videoTrack.peek() === video) void useCamera();
      });
      source.value = 'screen';
      await setTrack('video', video);
      if (audio) {
        audioFromScreen = true;
        await setTrack('audio', audio);
      }
    });
  }

  /** Back from screen sharing to the selected camera (and microphone, if the screen's audio was used). */
  function useCamera(): Promise<void> {
    return devicesTask(async (md) => {
      const video = await openCamera(md, cameraId.peek());
      if (closed) return video.stop();
      source.value = 'camera';
      await setTrack('video', video);
      if (audioFromScreen || !audioTrack.peek()) {
        const audio = await openMicrophone(md, microphoneId.peek()).catch(() => null);
        audioFromScreen = false;
        if (audio) await setTrack('audio', audio);
      }
    });
  }

  function stopTracks(): void {
    videoTrack.peek()?.stop();
    audioTrack.peek()?.stop();
    batch(() => {
      videoTrack.value = null;
      audioTrack.value = null;
    });
  }

  /** Stops the tracks (the camera light goes off). */
  function stop(): void {
    stopTracks();
  }

  function close(): void {
    if (closed) return;
    closed = true;
    stopTracks();
    unsubscribeDevices?.();
    unsubscribeDevices = null;
    sink = null;
  }

  return {
    cameras,
    microphones,
    cameraId,
    microphoneId,
    source,
    videoTrack,
    audioTrack,
    error,
    busy,
    /** Opens the chosen (or default) camera and microphone. */
    start: startCamera,
    refreshDevices,
    selectCamera,
    selectMicrophone,
    shareScreen,
    useCamera,
    stop,
    close,
    setSink(next: TrackSink | null) {
      sink = next;
    },
  };
}

function videoConstraints(id: string): MediaTrackConstraints {
  return {
    ...(id ? { deviceId: { exact: id } } : {}),
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 30 },
  };
}

function audioConstraints(id: string): MediaTrackConstraints {
  return { ...(id ? { deviceId: { exact: id } } : {}), echoCancellation: true, noiseSuppression: true };
}

function firstTrack(stream: MediaStreamLike, kind: 'video' | 'audio'): MediaStreamTrack {
  const track = (kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks())[0];
  if (!track) throw new DeviceProblem(`The browser returned no ${kind} track.`);
  return track;
}

function stopAll(stream: MediaStreamLike): void {
  for (const track of [...stream.getVideoTracks(), ...stream.getAudioTracks()]) track.stop();
}

class DeviceProblem extends Error {
  override readonly name = 'DeviceProblem';
}

function isMissingDevice(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError';
}

/** getUserMedia/getDisplayMedia failures in words. */
export function describeDeviceError(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Access to the camera, microphone or screen was refused. Allow it for this site (or share your screen instead).';
    case 'NotFoundError':
      return 'No camera or microphone was found.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another application, or could not be started.';
    case 'OverconstrainedError':
      return 'The selected device is no longer available.';
    default:
      return err instanceof Error && err.message ? err.message : 'The device could not be opened.';
  }
}

