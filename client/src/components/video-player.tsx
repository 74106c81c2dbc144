import { useRef, useState } from 'preact/hooks';
import { formatBitrate, formatFps, formatMs, formatResolution } from '../lib/rtc-stats.ts';
import { useMediaStream } from '../lib/use-media-stream.ts';
import { useMuteToggle } from '../lib/use-mute-toggle.ts';
import type { Player, PlayerState } from '../state/create-player.ts';
import { Button } from './button.tsx';
import { Figures } from './figures.tsx';
import styles from './video-player.module.css';

const MESSAGES: Partial<Record<PlayerState, string>> = {
  idle: 'Starting…',
  starting: 'Starting…',
  offline: 'This stream is offline. It starts here by itself when the broadcaster goes live.',
  reconnecting: 'Reconnecting…',
};

/**
 * The WebRTC player: a muted autoplaying <video> (browsers block autoplay with sound) with
 * an unmute button, the state on top of it, and a stats overlay behind a toggle.
 */
export function VideoPlayer({ player }: { player: Player }) {
  const video = useRef<HTMLVideoElement>(null);
  const { muted, toggleMute } = useMuteToggle(video);
  const [showStats, setShowStats] = useState(false);
  const tracks = player.tracks.value;
  const state = player.state.value;
  useMediaStream(video, tracks);

  const message =
    state === 'starting' && player.waitingForBroadcaster.value
      ? 'Waiting for the broadcaster… The video starts here by itself.'
      : MESSAGES[state];
  const hasVideo = tracks.length > 0 && state !== 'offline';
  return (
    <div class={styles.player} data-testid="player" data-state={state}>
      <video
        ref={video}
        class={styles.video}
        autoPlay
        playsInline
        muted={muted}
        data-testid="player-video"
        aria-label="Live video"
        hidden={!hasVideo}
      />
      {message || state === 'error' ? (
        <div class={`${styles.message} ${hasVideo ? styles.onVideo : ''}`} data-testid="player-message" role="status">
          {state === 'error' ? (
            <>
              <span>{player.error.value ?? 'Playback failed.'}</span>
              <Button small onClick={player.retry}>
                Try again
              </Button>
            </>
          ) : (
            <span>{message}</span>
          )}
        </div>
      ) : null}

      <div class={styles.controls}>
        {hasVideo ? (
          <Button small variant={muted ? 'primary' : 'secondary'} onClick={toggleMute} aria-pressed={!muted}>
            {muted ? 'Unmute' : 'Mute'}
          </Button>
        ) : null}
        <Button small onClick={() => setShowStats(!showStats)} aria-pressed={showStats} aria-label="Show stats">
          Stats
        </Button>
      </div>

      {showStats ? <StatsOverlay player={player} /> : null}
    </div>
  );
}

function StatsOverlay({ player }: { player: Player }) {
  const f = player.figures.value;
  return (
    <div class={styles.stats}>
      <Figures
        overlay
        label="Playback stats"
        testId="player-stats"
        data={{
          'frames-decoded': f?.framesDecoded ?? null,
          'audio-packets': f?.audioPacketsReceived ?? null,
          'video-packets': f?.videoPacketsReceived ?? null,
          'latency-ms': f?.latencyMs === null || !f ? null : Math.round(f.latencyMs),
        }}
        figures={[
          { label: 'Latency (est.)', value: formatMs(f?.latencyMs ?? null), testId: 'stat-latency' },
          { label: 'Bitrate', value: formatBitrate(f?.bitrateKbps ?? null) },
          { label: 'Resolution', value: formatResolution(f?.width ?? null, f?.height ?? null) },
          { label: 'Frame rate', value: formatFps(f?.fps ?? null) },
          { label: 'Frames dropped', value: f ? String(f.framesDropped) : '—' },
          { label: 'Packets lost', value: f ? String(f.packetsLost) : '—' },
        ]}
      />
    </div>
  );
}
