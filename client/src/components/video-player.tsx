import { useEffect, useRef, useState } from 'preact/hooks';
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
  usePlayerWidth(video, player);

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
        {hasVideo ? <QualityMenu player={player} /> : null}
        <Button small onClick={() => setShowStats(!showStats)} aria-pressed={showStats} aria-label="Show stats">
          Stats
        </Button>
      </div>

      {showStats ? <StatsOverlay player={player} /> : null}
    </div>
  );
}

/** Tells the player how wide its <video> is on screen, in device pixels, as it changes. */
function usePlayerWidth(video: { current: HTMLVideoElement | null }, player: Player): void {
  useEffect(() => {
    const el = video.current;
    if (!el || typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(() => {
      const width = el.getBoundingClientRect().width;
      if (width > 0) player.setViewportWidth(width * (window.devicePixelRatio || 1));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [video, player]);
}

/** "720p" for a layer of 1280×720. */
function layerLabel(l: { width: number; height: number }, index: number): string {
  return l.height > 0 ? `${l.height}p` : `Layer ${index + 1}`;
}

/** Auto, or one of the stream's simulcast layers (shown only when it has several). */
function QualityMenu({ player }: { player: Player }) {
  const layers = player.layers.value;
  if (!layers || layers.layers.length < 2) return null;
  const quality = player.quality.value;
  return (
    <label class={styles.quality}>
      <span class={styles.qualityLabel}>Quality</span>
      <select
        data-testid="quality-select"
        value={quality === null ? 'auto' : String(quality)}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          player.setQuality(v === 'auto' ? null : Number(v));
        }}
      >
        <option value="auto">Auto</option>
        {layers.layers
          .map((l, i) => ({ l, i }))
          .reverse()
          .map(({ l, i }) => (
            <option key={i} value={String(i)}>
              {layerLabel(l, i)}
            </option>
          ))}
      </select>
    </label>
  );
}

function StatsOverlay({ player }: { player: Player }) {
  const f = player.figures.value;
  const layers = player.layers.value;
  useEffect(() => {
    const timer = setInterval(() => void player.refreshLayers(), 2_000);
    return () => clearInterval(timer);
  }, [player]);
  const current = layers && layers.current >= 0 ? layers.layers[layers.current] : undefined;
  const layerText = !layers
    ? 'One (no simulcast)'
    : `${current ? layerLabel(current, layers.current) : '—'}${layers.target !== layers.current && layers.layers[layers.target] ? ` → ${layerLabel(layers.layers[layers.target]!, layers.target)}` : ''} (${layers.switches} switches)`;
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
          layer: layers ? layers.current : null,
          'layer-switches': layers ? layers.switches : null,
          'layer-cap': layers ? layers.cap : null,
        }}
        figures={[
          { label: 'Latency (est.)', value: formatMs(f?.latencyMs ?? null), testId: 'stat-latency' },
          { label: 'Bitrate', value: formatBitrate(f?.bitrateKbps ?? null) },
          { label: 'Resolution', value: formatResolution(f?.width ?? null, f?.height ?? null) },
          { label: 'Layer', value: layerText, testId: 'stat-layer' },
          {
            label: 'Link (server)',
            value: layers ? `${layers.estimate === null ? 'no estimate' : `est. ${formatBitrate(layers.estimate / 1000)}`} · loss ${(layers.loss * 100).toFixed(1)} %${layers.rttMs === null ? '' : ` · RTT ${layers.rttMs} ms`}` : '—',
          },
          { label: 'Frame rate', value: formatFps(f?.fps ?? null) },
          { label: 'Frames dropped', value: f ? String(f.framesDropped) : '—' },
          { label: 'Packets lost', value: f ? String(f.packetsLost) : '—' },
        ]}
      />
    </div>
  );
}
