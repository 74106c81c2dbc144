import { useEffect } from 'preact/hooks';
import { isOnAir, type StreamStatus, type StreamView } from '../../../protocol/api.ts';
import { asStreamId } from '../../../protocol/ids.ts';
import { useModel } from '../lib/use-model.ts';
import { usePageHide } from '../lib/use-page-hide.ts';
import { useServices } from '../lib/use-services.ts';
import { createHlsPlayer, type HlsModule } from '../state/create-hls-player.ts';
import type { Player } from '../state/create-player.ts';
import { createWatchMode, type WatchModeModel } from '../state/create-watch-mode.ts';
import { Button } from './button.tsx';
import { HlsPlayerView } from './hls-player.tsx';
import { Loading } from './loading.tsx';
import { VideoPlayer } from './video-player.tsx';
import { VodList } from './vod-list.tsx';
import styles from './watch-player.module.css';

/** hls.js, fetched the first time a viewer uses HLS (it is not part of the main bundle). */
const loadHls = () => import('hls.js/light').then((m) => m.default as unknown as HlsModule);

/**
 * How the Watch page plays: WebRTC first, "HLS (large audience) / DVR" on request (or from
 * the start when the server says the stream has too many WebRTC viewers), or a past
 * broadcast. Only one player runs at a time: the WebRTC session is started only in WebRTC
 * mode, and ends when the page is left.
 */
export function useWatchPlayback(s: StreamView, webrtc: Player): WatchModeModel {
  const { api } = useServices();
  const watch = useModel(() => createWatchMode({ playback: () => api.playback(asStreamId(s.id)) }), [api, s.id]);
  useEffect(() => void watch.start(), [watch]);
  const mode = watch.mode.value;
  useEffect(() => {
    if (mode === 'webrtc') webrtc.start();
    else webrtc.stop();
  }, [webrtc, mode]);
  usePageHide(webrtc.stop, () => watch.mode.peek() === 'webrtc' && webrtc.start());
  // Every media worker is full: LL-HLS until there is room again (when the stream is recorded).
  const full = webrtc.full.value;
  useEffect(() => {
    if (full?.hlsUrl && watch.mode.peek() === 'webrtc') watch.overflow(full.hlsUrl, full.retryAfterSeconds);
  }, [watch, full]);
  return watch;
}

/** The player of the current mode. */
export function WatchPlayer({ watch, webrtc }: { watch: WatchModeModel; webrtc: Player }) {
  const { media } = useServices();
  const mode = watch.mode.value;
  const vod = watch.vod.value;
  const live = watch.hlsUrl.value;
  if (mode === 'pending') return <Loading label="Starting the player…" />;
  const url = mode === 'vod' && vod ? vod.playlistUrl : mode === 'hls' ? live : null;
  if (url) {
    const abs = new URL(url, media.origin).href;
    return <HlsStage key={abs} url={abs} live={mode === 'hls'} onEnded={mode === 'hls' ? watch.endedLive : undefined} />;
  }
  return <VideoPlayer player={webrtc} />;
}

/** One HLS playback (a live stream or a VOD) for as long as it is shown. */
function HlsStage({ url, live, onEnded }: { url: string; live: boolean; onEnded: (() => void) | undefined }) {
  const player = useModel(() => createHlsPlayer({ loadHls, url, live }), [url, live]);
  const ended = player.state.value === 'ended';
  useEffect(() => {
    if (ended) onEnded?.();
  }, [ended, onEnded]);
  return <HlsPlayerView player={player} />;
}

/** The playback choices (WebRTC / HLS-DVR) and the stream's past broadcasts. */
export function PlaybackOptions({ watch, streamId, status }: { watch: WatchModeModel; streamId: string; status: StreamStatus }) {
  const mode = watch.mode.value;
  const vod = watch.vod.value;
  return (
    <div class={styles.wrap}>
      <div class={styles.modes} role="group" aria-label="Playback" data-testid="playback-mode" data-mode={mode}>
        {isOnAir(status) || mode === 'hls' ? (
          <>
            <Button small variant={mode === 'webrtc' ? 'primary' : 'secondary'} onClick={watch.useWebRtc} aria-pressed={mode === 'webrtc'}>
              WebRTC (lowest latency)
            </Button>
            <Button small variant={mode === 'hls' ? 'primary' : 'secondary'} onClick={() => void watch.useHls()} aria-pressed={mode === 'hls'}>
              HLS (large audience) / DVR
            </Button>
          </>
        ) : mode === 'vod' ? (
          <Button small onClick={watch.useWebRtc}>
            Back to the live player
          </Button>
        ) : null}
        {watch.preferredHls.value && mode === 'hls' ? <span>Many viewers: playing over HLS.</span> : null}
        {watch.overflowed.value && mode === 'hls' ? (
          <span class={styles.notice} data-testid="overflow-notice">
            High demand: watching with ~1 s delay. Low-latency playback comes back by itself when there is room.
          </span>
        ) : null}
        {watch.notice.value ? <span class={styles.notice}>{watch.notice.value}</span> : null}
      </div>
      <VodList streamId={streamId} reloadKey={`${status}:${watch.liveEnded.value}`} playing={mode === 'vod' ? vod?.id ?? null : null} onPlay={watch.playVod} />
    </div>
  );
}
