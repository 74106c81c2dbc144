import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';

/**
 * Shows `tracks` in a <video> (a new MediaStream whenever the set of tracks changes) and
 * asks it to play; a refused play() (autoplay with sound) is left to the page's unmute button.
 */
export function useMediaStream(ref: RefObject<HTMLVideoElement>, tracks: readonly MediaStreamTrack[]): void {
  const key = tracks.map((t) => t.id).join(',');
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    video.srcObject = tracks.length > 0 ? new MediaStream([...tracks]) : null;
    if (tracks.length > 0) video.play().catch(() => undefined);
    // `key` stands for `tracks` (a new array on every render).
  }, [ref, key]);
}
