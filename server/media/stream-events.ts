/**
 * Stream events for players on this node (WHEP server-sent events, the watch page):
 * media active/inactive, live/reconnecting/offline, viewer counts, publisher errors.
 */
import type { StreamId } from '../../protocol/ids.ts';
import type { StreamEvent } from '../../protocol/api.ts';

export type { StreamEvent };

type Listener = (e: StreamEvent) => void;
type AnyListener = (streamId: StreamId, e: StreamEvent) => void;

export class StreamEvents {
  private readonly listeners = new Map<StreamId, Set<Listener>>();
  private readonly anyListeners = new Set<AnyListener>();

  /** Every event of every stream (the cluster bridge listens here). */
  onAny(listener: AnyListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

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
    for (const l of this.anyListeners) l(streamId, event);
  }

  /** Delivers to this node's listeners only (events that came from another node). */
  emitLocal(streamId: StreamId, event: StreamEvent): void {
    for (const l of this.listeners.get(streamId) ?? []) l(event);
  }
}
