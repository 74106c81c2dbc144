import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { StreamView } from '../../../protocol/api.ts';
import { Button, ButtonLink } from '../components/button.tsx';
import { ChatPanel } from '../components/chat-panel.tsx';
import { ChatSettings } from '../components/chat-settings.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { Figures } from '../components/figures.tsx';
import { RequireAuth } from '../components/require-auth.tsx';
import { ReactionOverlay } from '../components/reaction-overlay.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { StreamGate } from '../components/stream-gate.tsx';
import { StreamKeyFields } from '../components/stream-key-fields.tsx';
import { ViewerBadge } from '../components/viewer-badge.tsx';
import { formatBitrate, formatFps, formatPercent, formatResolution, type LayerFigures } from '../lib/rtc-stats.ts';
import { useChat } from '../lib/use-chat.ts';
import { useMediaStream } from '../lib/use-media-stream.ts';
import { useModel } from '../lib/use-model.ts';
import { usePageHide } from '../lib/use-page-hide.ts';
import { useServices } from '../lib/use-services.ts';
import { useStream } from '../lib/use-stream.ts';
import { useTitle } from '../lib/use-title.ts';
import { streamEventsUrl } from '../lib/whep.ts';
import { whipUrl } from '../lib/whip.ts';
import { createChatAdmin } from '../state/chat-admin.ts';
import { createLocalMedia, type LocalMedia } from '../state/create-local-media.ts';
import { createPublisher, type Publisher, type PublisherStatus } from '../state/create-publisher.ts';
import { createStreamKeyModel } from '../state/my-streams.ts';
import { createStreamEvents } from '../state/stream-events.ts';
import styles from './studio.module.css';

/** The browser publisher: camera/microphone or screen, preview, Go live / Stop, live figures. */
export default function StudioPage({ params }: { params: Record<string, string> }) {
  useTitle('Studio');
  return (
    <RequireAuth>
      <Studio id={params.id} />
    </RequireAuth>
  );
}

function Studio({ id }: { id: string | undefined }) {
  const { session } = useServices();
  const stream = useStream(id);
  return (
    <StreamGate resource={stream}>
      {(s) =>
        s.userId !== session.user.value?.id ? (
          <ErrorMessage error="Only the owner of this stream can open its studio." />
        ) : (
          <StudioView stream={s} />
        )
      }
    </StreamGate>
  );
}

function StudioView({ stream }: { stream: StreamView }) {
  const { api, media } = useServices();
  const local = useModel(() => createLocalMedia({ mediaDevices: media.mediaDevices() }), [media]);
  const publisher = useModel(
    () =>
      createPublisher({
        fetch: media.fetch,
        whipUrl: whipUrl(media.origin),
        streamKey: () => api.streamKey(stream.id).then((k) => k.streamKey),
        createPeerConnection: media.createPeerConnection,
        media: local,
        videoCodecs: media.videoCodecs,
        createMediaStream: media.createMediaStream,
      }),
    [api, media, local, stream.id],
  );
  const events = useModel(
    () => createStreamEvents({ url: streamEventsUrl(media.origin, stream.id), open: media.openEventSource }),
    [media, stream.id],
  );
  const keyModel = useModel(() => createStreamKeyModel(api, stream.id), [api, stream.id]);
  const chat = useChat(stream);
  const chatAdmin = useModel(() => createChatAdmin({ api, streamId: stream.id, chat }), [api, stream.id, chat]);

  useEffect(() => {
    const unsubscribe = events.subscribe((e) => {
      if (e.type === 'offline') publisher.streamEnded();
    });
    events.start();
    void local.start();
    return unsubscribe;
  }, [publisher, events, local]);
  // Closing the tab ends the broadcast at once (DELETE with keepalive), not after the grace period.
  usePageHide(
    () => publisher.leave(),
    () => void publisher.stop(),
  );

  const status = publisher.status.value;
  const broadcasting = status === 'connecting' || status === 'live' || status === 'reconnecting';

  return (
    <div class={styles.page}>
      <div class={styles.titleRow}>
        <h1 data-testid="stream-title">Studio · {stream.title}</h1>
        <StatusBadge status={events.status.value ?? stream.status} />
        <ViewerBadge count={broadcasting ? events.viewers.value : null} chat={chat.viewers.value?.chat ?? null} />
      </div>

      <div class={styles.layout}>
        <section class={styles.stage} aria-label="Broadcast">
          <Preview local={local} live={status === 'live'}>
            <ReactionOverlay chat={chat} />
          </Preview>
          <StatusLine status={status} publisher={publisher} />
          <Controls local={local} publisher={publisher} broadcasting={broadcasting} />
          <ErrorMessage error={local.error.value} />
          {events.lastError.value ? <ErrorMessage error={`The server stopped the broadcast: ${events.lastError.value}`} /> : null}
          {broadcasting ? <LiveFigures publisher={publisher} viewers={events.viewers.value} /> : null}
        </section>

        <div class={styles.sideColumn}>
          <aside class={styles.chat} aria-label="Live chat">
            <ChatPanel chat={chat} loginNext={`/studio/${stream.id}`} />
          </aside>
          <aside class={styles.side} aria-labelledby="obs-title">
            <h2 id="obs-title">Prefer OBS?</h2>
            <p class={styles.hint}>
              In OBS 30 or later: Settings → Stream → Service “WHIP”, paste the WHIP URL as Server and the stream key as
              Bearer Token. Use x264 with the “zerolatency” tune (no B-frames) and a keyframe every 1–2 s.
            </p>
            <StreamKeyFields ingestUrl={stream.ingestUrl} keyModel={keyModel} allowRotate={false} stacked />
            <div class={styles.links}>
              <ButtonLink small href={`/watch/${stream.id}`}>
                Open watch page
              </ButtonLink>
              <ButtonLink small href="/me/streams">
                My streams
              </ButtonLink>
            </div>
          </aside>
        </div>
      </div>

      <ChatSettings admin={chatAdmin} />
    </div>
  );
}

function Preview({ local, live, children }: { local: LocalMedia; live: boolean; children?: ComponentChildren }) {
  const video = useRef<HTMLVideoElement>(null);
  const track = local.videoTrack.value;
  useMediaStream(video, track ? [track] : []);
  return (
    <div class={styles.preview}>
      {/* The preview is always muted: hearing yourself is an echo. */}
      <video
        ref={video}
        class={`${styles.video} ${local.source.value === 'camera' ? styles.mirrored : ''}`}
        autoPlay
        playsInline
        muted
        data-testid="studio-preview"
        aria-label="Preview of what you broadcast"
        hidden={!track}
      />
      {!track ? (
        <div class={styles.empty}>
          <p>{local.busy.value ? 'Opening the camera…' : 'No camera is on.'}</p>
          <Button small onClick={() => void local.start()} disabled={local.busy.value}>
            Start camera
          </Button>
        </div>
      ) : null}
      {live ? <span class={styles.onAir}>On air</span> : null}
      {children}
    </div>
  );
}

const STATUS_TEXT: Record<PublisherStatus, string> = {
  idle: 'Not broadcasting.',
  connecting: 'Connecting…',
  live: 'Live: you are broadcasting.',
  reconnecting: 'Reconnecting…',
  error: 'Broadcast failed.',
};

function StatusLine({ status, publisher }: { status: PublisherStatus; publisher: Publisher }) {
  const attempt = publisher.attempt.value;
  const detail = publisher.error.value;
  return (
    <p class={`${styles.status} ${styles[status]}`} role="status" data-testid="studio-status" data-status={status}>
      <span class={styles.dot} aria-hidden="true" />
      <strong>{STATUS_TEXT[status]}</strong>
      {status === 'reconnecting' && attempt > 1 ? <span> Attempt {attempt}.</span> : null}
      {detail && status !== 'live' ? (
        <span class={styles.detail} data-testid="studio-status-detail">
          {detail}
        </span>
      ) : null}
    </p>
  );
}

function Controls({ local, publisher, broadcasting }: { local: LocalMedia; publisher: Publisher; broadcasting: boolean }) {
  const busy = local.busy.value;
  const screen = local.source.value === 'screen';
  return (
    <div class={styles.controls}>
      <label class={styles.field}>
        <span>Camera</span>
        <select
          value={local.cameraId.value}
          disabled={busy || local.cameras.value.length === 0}
          onChange={(e) => void local.selectCamera(e.currentTarget.value)}
          data-testid="camera-select"
        >
          {local.cameras.value.length === 0 ? <option value="">No camera</option> : null}
          {local.cameras.value.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
      <label class={styles.field}>
        <span>Microphone</span>
        <select
          value={local.microphoneId.value}
          disabled={busy || local.microphones.value.length === 0}
          onChange={(e) => void local.selectMicrophone(e.currentTarget.value)}
          data-testid="microphone-select"
        >
          {local.microphones.value.length === 0 ? <option value="">No microphone</option> : null}
          {local.microphones.value.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
      <div class={styles.buttons}>
        {screen ? (
          <Button onClick={() => void local.useCamera()} disabled={busy}>
            Use camera
          </Button>
        ) : (
          <Button onClick={() => void local.shareScreen()} disabled={busy}>
            Share screen/tab
          </Button>
        )}
        {broadcasting ? (
          <Button variant="danger" onClick={() => void publisher.stop()}>
            Stop
          </Button>
        ) : (
          <Button variant="primary" onClick={() => void publisher.goLive()} disabled={busy}>
            Go live
          </Button>
        )}
      </div>
    </div>
  );
}

/** "320×180 · 640×360 · 1280×720 (paused: not enough bandwidth)": what each simulcast layer sends. */
function describeLayers(layers: LayerFigures[] | null | undefined): string {
  if (!layers || layers.length === 0) return 'One (no simulcast)';
  return layers
    .map((l) => {
      const size = formatResolution(l.width, l.height);
      if (l.pausedForBandwidth) return `${size} (paused: not enough bandwidth)`;
      if (!l.active) return `${size} (off)`;
      return l.kbps === null ? size : `${size} ${formatBitrate(l.kbps)}`;
    })
    .join(' · ');
}

function LiveFigures({ publisher, viewers }: { publisher: Publisher; viewers: number | null }) {
  const f = publisher.figures.value;
  const layers = f?.layers ?? null;
  return (
    <Figures
      label="Broadcast figures"
      testId="studio-figures"
      data={{
        'bitrate-kbps': f?.bitrateKbps === null || !f ? null : Math.round(f.bitrateKbps),
        fps: f?.fps ?? null,
        width: f?.width ?? null,
        height: f?.height ?? null,
        viewers,
        layers: layers ? layers.map((l) => `${l.width ?? 0}x${l.height ?? 0}`).join(',') : null,
        'layers-active': layers ? layers.map((l) => (l.active ? 1 : 0)).join(',') : null,
      }}
      figures={[
        { label: 'Bitrate', value: formatBitrate(f?.bitrateKbps ?? null), testId: 'figure-bitrate' },
        { label: 'Frame rate', value: formatFps(f?.fps ?? null) },
        { label: 'Resolution', value: formatResolution(f?.width ?? null, f?.height ?? null) },
        { label: 'Layers', value: describeLayers(layers), testId: 'figure-layers' },
        { label: 'Packet loss', value: formatPercent(f?.packetLossPercent ?? null) },
        { label: 'Packets lost', value: f?.packetsLost == null ? '—' : String(f.packetsLost) },
        { label: 'Viewers', value: viewers === null ? '—' : String(viewers), testId: 'figure-viewers' },
      ]}
    />
  );
}
