import { isOnAir, type StreamView } from '../../../protocol/api.ts';
import { ChatPanel } from '../components/chat-panel.tsx';
import { ReactionOverlay } from '../components/reaction-overlay.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { StreamGate } from '../components/stream-gate.tsx';
import { PlaybackOptions, useWatchPlayback, WatchPlayer } from '../components/watch-player.tsx';
import { ViewerBadge } from '../components/viewer-badge.tsx';
import { formatCount, timeAgo } from '../lib/format.ts';
import { useChat } from '../lib/use-chat.ts';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useStream } from '../lib/use-stream.ts';
import { useTitle } from '../lib/use-title.ts';
import { streamEventsUrl, whepUrl } from '../lib/whep.ts';
import { createPlayer } from '../state/create-player.ts';
import styles from './stream-page.module.css';

/** Plays a stream over WHEP; works logged out and never asks for camera or microphone. */
export default function WatchPage({ params }: { params: Record<string, string> }) {
  const stream = useStream(params.id);
  useTitle(stream.data.value?.title ?? 'Watch');
  return <StreamGate resource={stream}>{(s) => <Watch stream={s} />}</StreamGate>;
}

function Watch({ stream: s }: { stream: StreamView }) {
  const { media } = useServices();
  const player = useModel(
    () =>
      createPlayer({
        fetch: media.fetch,
        whepUrl: whepUrl(media.origin, s.id),
        eventsUrl: streamEventsUrl(media.origin, s.id),
        openEventSource: media.openEventSource,
        createPeerConnection: media.createPeerConnection,
        initialStatus: s.status,
      }),
    // A newer StreamView of the same stream (e.g. after a reload of it) keeps the player.
    [media, s.id],
  );
  // Starts the WebRTC player (or HLS instead) and ends its session when the page is left.
  const playback = useWatchPlayback(s, player);
  const chat = useChat(s);

  const status = player.streamStatus.value ?? s.status;
  return (
    <div class={`${styles.page} ${styles.withChat}`}>
      <div class={styles.stage}>
        <WatchPlayer watch={playback} webrtc={player} />
        <ReactionOverlay chat={chat} />
      </div>
      <div class={styles.info}>
        <div class={styles.titleRow}>
          <h1 data-testid="stream-title">{s.title}</h1>
          <StatusBadge status={status} />
          <ViewerBadge count={isOnAir(status) ? player.viewers.value : null} chat={chat.viewers.value?.chat ?? null} />
        </div>
        <p class={styles.meta}>
          {s.owner ? (
            <a href={`/u/${s.userId}`}>{s.owner.displayName || s.owner.username}</a>
          ) : (
            <a href={`/u/${s.userId}`}>Streamer profile</a>
          )}
          {isOnAir(status) && s.startTime ? <span>started {timeAgo(s.startTime)}</span> : null}
          <span>{formatCount(s.viewCount, 'view', 'views')}</span>
        </p>
        {s.description ? <p class={styles.description}>{s.description}</p> : null}
        <PlaybackOptions watch={playback} streamId={s.id} status={status} />
      </div>
      <aside class={styles.chat} aria-label="Live chat">
        <ChatPanel chat={chat} loginNext={`/watch/${s.id}`} />
      </aside>
    </div>
  );
}
