/**
 * Stream events for players on this node (WHEP server-sent events, the watch page):
 * media active/inactive, live/offline, viewer counts, publisher errors.
 */
import type { StreamId } from '../../protocol/ids.ts';

export type StreamEvent =
  | { type: 'active' }
  | { type: 'inactive' }
  | { type: 'live' }
  | { type: 'offline' }
  | { type: 'viewercount'; viewercount: number }
  | { type: 'error'; message: string };

type Listener = (e: StreamEvent) => void;

export class StreamEvents {
  private readonly listeners = new Map<StreamId, Set<Listener>>();

  subscribe(streamId: StreamId, listener: Listener): () => void {
    let set = this.listeners.get(streamId);
    if (!set) this.listeners.set(streamId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(streamId);
    };
  }

  emit(streamId: StreamId, event: StreamEvent): void {
    for (const l of this.listeners.get(streamId) ?? []) l(event);
  }
}
