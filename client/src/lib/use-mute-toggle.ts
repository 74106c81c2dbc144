import type { RefObject } from 'preact';
import { useState } from 'preact/hooks';

/**
 * A player's sound: videos start muted (browsers block autoplay with sound); the toggle's
 * click is the user gesture that lets audio play.
 */
export function useMuteToggle(video: RefObject<HTMLVideoElement>): { muted: boolean; toggleMute: () => void } {
  const [muted, setMuted] = useState(true);
  function toggleMute() {
    const el = video.current;
    if (!el) return;
    el.muted = !muted;
    setMuted(!muted);
    if (!el.muted) el.play().catch(() => undefined);
  }
  return { muted, toggleMute };
}
