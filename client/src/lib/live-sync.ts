/**
 * Keeps a low-latency HLS player at its target latency (the playlist's PART-HOLD-BACK).
 * hls.js speeds playback up only while more than a second is buffered ahead, which a
 * sub-second target never has: it stays as far behind as it happened to start (0.2-0.35 s
 * over the target in bench:hls). This works with the buffer there is: a little faster (at
 * most MAX_RATE; browsers keep the pitch) while behind the target with something buffered
 * ahead, normal speed once near it, and at once when the buffer runs low, so it never causes
 * a stall. Far behind (the viewer seeked into the DVR window) it leaves playback alone.
 */
export const MAX_RATE = 1.15;
/** Behind the target by more than this: catch up. */
const START_S = 0.08;
/** Within this of the target: normal speed again. */
const STOP_S = 0.02;
/** Never play faster with less than this buffered ahead. */
const MIN_BUFFER_S = 0.15;

export interface LiveSyncInput {
  /** Seconds behind the live edge now. */
  latency: number;
  /** Seconds behind the edge the player should be. */
  target: number;
  /** Seconds buffered ahead of the playhead. */
  bufferAhead: number;
  /** How far behind still counts as live (beyond it: DVR, left alone). */
  liveWindow: number;
  /** The playback rate now. */
  rate: number;
}

/** The playback rate to use now. */
export function liveSyncRate(i: LiveSyncInput): number {
  const behind = i.latency - i.target;
  if (!Number.isFinite(behind) || i.bufferAhead < MIN_BUFFER_S || behind > i.liveWindow || behind < STOP_S) return 1;
  if (behind > START_S) return Math.min(MAX_RATE, Math.round((1 + behind * 0.5) * 100) / 100);
  return i.rate; // in between: keep what it does (no flapping at the threshold)
}

/** Seconds buffered ahead of `time` in `buffered` (0 when it is not in a buffered range). */
export function bufferAhead(buffered: { readonly length: number; start(i: number): number; end(i: number): number }, time: number): number {
  for (let i = 0; i < buffered.length; i++) if (buffered.start(i) <= time + 0.05 && time < buffered.end(i)) return buffered.end(i) - time;
  return 0;
}
