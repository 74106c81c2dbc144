import { useEffect, useRef } from 'preact/hooks';
import { formatClock } from '../lib/media-time.ts';
import { useMuteToggle } from '../lib/use-mute-toggle.ts';
import type { HlsPlayer } from '../state/create-hls-player.ts';
import { Button } from './button.tsx';
import styles from './hls-player.module.css';
import frame from './video-player.module.css';

const MESSAGES: Partial<Record<string, string>> = {
  loading: 'Loading…',
  waiting: 'Buffering…',
  ended: 'The broadcast has ended.',
};

/**
 * The HLS player: a muted autoplaying <video> driven by hls.js, a seek bar over the DVR
 * window (or the whole VOD), the time behind live, and "Go live".
 */
export function HlsPlayerView({ player }: { player: HlsPlayer }) {
  const video = useRef<HTMLVideoElement>(null);
  const { muted, toggleMute } = useMuteToggle(video);
  useEffect(() => {
    if (video.current) void player.attach(video.current);
  }, [player]);

  const state = player.state.value;
  const t = player.timeline.value;
  const message = state === 'error' ? player.error.value ?? 'Playback failed.' : MESSAGES[state];
  const span = Math.max(0, t.end - t.start);

  return (
    <div class={frame.player} data-testid="hls-player" data-state={state} data-live={player.live ? 'true' : 'false'}>
      <video ref={video} class={frame.video} autoPlay playsInline muted={muted} data-testid="hls-video" aria-label={player.live ? 'Live video (HLS)' : 'Recorded video'} />
      {message ? (
        <div class={`${frame.message} ${frame.onVideo}`} role="status" data-testid="hls-message">
          {message}
        </div>
      ) : null}
      <div class={styles.bar}>
        <Button small onClick={player.togglePause} aria-label={state === 'paused' ? 'Play' : 'Pause'}>
          {state === 'paused' ? 'Play' : 'Pause'}
        </Button>
        <input
          class={styles.seek}
          type="range"
          min={t.start}
          max={Math.max(t.end, t.start + 0.1)}
          step={0.1}
          value={t.current}
          disabled={span <= 0}
          onInput={(e) => player.seek(Number((e.target as HTMLInputElement).value))}
          aria-label={player.live ? 'Seek in the DVR window' : 'Seek'}
          data-testid="hls-seek"
          data-start={t.start.toFixed(2)}
          data-end={t.end.toFixed(2)}
          data-current={t.current.toFixed(2)}
        />
        {player.live ? (
          <span class={`${styles.clock} ${t.atLive ? styles.live : ''}`} data-testid="hls-behind-live" data-seconds={(t.behindLive ?? 0).toFixed(1)} data-latency={t.latency?.toFixed(2)}>
            {t.atLive ? 'LIVE' : `-${formatClock(t.behindLive ?? 0)}`}
          </span>
        ) : (
          <span class={styles.clock} data-testid="hls-clock">
            {formatClock(t.current)} / {formatClock(t.end)}
          </span>
        )}
        {player.live ? (
          <Button small variant={t.atLive ? 'secondary' : 'primary'} onClick={player.goLive} disabled={t.atLive} data-testid="go-live">
            Go live
          </Button>
        ) : null}
        <Button small variant={muted ? 'primary' : 'secondary'} onClick={toggleMute} aria-pressed={!muted}>
          {muted ? 'Unmute' : 'Mute'}
        </Button>
      </div>
    </div>
  );
}
