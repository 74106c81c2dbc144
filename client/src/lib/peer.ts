/**
 * The parts of the WebRTC API the media models use, so tests can hand them small fakes.
 * The browser's RTCPeerConnection, MediaDevices and MediaStream satisfy these as they are.
 */
import type { StatsReportLike } from './rtc-stats.ts';

export interface SenderLike {
  replaceTrack(track: MediaStreamTrack | null): Promise<void>;
  /** Encodings on and off (simulcast layers); absent in fakes that do not need it. */
  getParameters?(): RTCRtpSendParameters;
  setParameters?(parameters: RTCRtpSendParameters): Promise<void>;
  /** This sender's own figures (its outbound-rtp). */
  getStats?(): Promise<StatsReportLike>;
}

export interface TransceiverLike {
  readonly sender: SenderLike;
  setCodecPreferences?(codecs: RTCRtpCodec[]): void;
}

export interface PeerConnectionLike {
  readonly connectionState: RTCPeerConnectionState;
  readonly iceGatheringState: RTCIceGatheringState;
  readonly localDescription: { readonly sdp: string } | null;
  addTransceiver(trackOrKind: MediaStreamTrack | 'audio' | 'video', init?: RTCRtpTransceiverInit): TransceiverLike;
  createOffer(): Promise<RTCSessionDescriptionInit>;
  setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  getStats(): Promise<StatsReportLike>;
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export type CreatePeerConnection = (config: RTCConfiguration) => PeerConnectionLike;

export interface MediaStreamLike {
  getVideoTracks(): MediaStreamTrack[];
  getAudioTracks(): MediaStreamTrack[];
}

export interface MediaDevicesLike {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStreamLike>;
  getDisplayMedia?(options?: DisplayMediaStreamOptions): Promise<MediaStreamLike>;
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
  addEventListener?(type: 'devicechange', listener: () => void): void;
  removeEventListener?(type: 'devicechange', listener: () => void): void;
}

/** Browser implementations of the factories above, for the pages. */
export function browserRtc(win: Window & typeof globalThis) {
  return {
    fetch: win.fetch.bind(win),
    origin: win.location.origin,
    createPeerConnection: ((config: RTCConfiguration) => new win.RTCPeerConnection(config)) as CreatePeerConnection,
    openEventSource: (url: string) => new win.EventSource(url),
    /** Only the Studio touches this; it is undefined outside secure contexts. */
    mediaDevices: () => (win.navigator.mediaDevices as MediaDevicesLike | undefined) ?? null,
    videoCodecs: () => win.RTCRtpSender?.getCapabilities?.('video')?.codecs ?? null,
    /** A stream to group simulcast layers under one a=msid. */
    createMediaStream: (tracks: MediaStreamTrack[]) => new win.MediaStream(tracks),
  };
}
