import { batch, signal } from '@preact/signals';
import { STREAM_EVENT_TYPES, type StreamEvent, type StreamStatus } from '../../../protocol/api.ts';

/** What `GET /streams/:id/events` sends (docs/api.md). */
export type StreamEventMessage = StreamEvent;

/** The part of EventSource the model uses (a fake in tests). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export type OpenEventSource = (url: string) => EventSourceLike;

export type StreamEvents = ReturnType<typeof createStreamEvents>;

/**
 * A stream's server-sent events as signals: live/reconnecting/offline, media active or not, viewers,
 * the last error the server reported about the publisher. EventSource reconnects by
 * itself; the server sends the current state first on every (re)connection.
 */
export function createStreamEvents(deps: { url: string; open: OpenEventSource }) {
  const status = signal<StreamStatus | null>(null);
  const active = signal<boolean | null>(null);
  const viewers = signal<number | null>(null);
  const lastError = signal<string | null>(null);
  /** The event stream is open (false before the first open and while EventSource retries). */
  const connected = signal(false);
  const listeners = new Set<(event: StreamEventMessage) => void>();
  let source: EventSourceLike | null = null;

  function dispatch(event: StreamEventMessage): void {
    batch(() => {
      switch (event.type) {
        case 'live':
          status.value = 'live';
          lastError.value = null;
          break;
        case 'reconnecting':
          status.value = 'reconnecting';
          break;
        case 'offline':
          status.value = 'offline';
          break;
        case 'active':
          active.value = true;
          break;
        case 'inactive':
          active.value = false;
          break;
        case 'viewercount':
          viewers.value = event.viewercount;
          break;
        case 'error':
          lastError.value = event.message;
          break;
      }
    });
    for (const listener of [...listeners]) listener(event);
  }

  function start(): void {
    if (source) return;
    const es = deps.open(deps.url);
    source = es;
    es.addEventListener('open', () => {
      if (source === es) connected.value = true;
    });
    for (const type of STREAM_EVENT_TYPES) {
      es.addEventListener(type, (event) => {
        if (source !== es) return;
        const data = (event as MessageEvent).data;
        // EventSource also fires a plain `error` Event (no data) when the connection drops.
        if (type === 'error' && typeof data !== 'string') {
          connected.value = false;
          return;
        }
        const message = parse(type, data);
        if (message) dispatch(message);
      });
    }
  }

  function close(): void {
    source?.close();
    source = null;
    connected.value = false;
  }

  /** Hears every event after the signals were updated; returns the unsubscribe function. */
  function subscribe(listener: (event: StreamEventMessage) => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  return { status, active, viewers, lastError, connected, start, close, subscribe };
}

function parse(type: (typeof STREAM_EVENT_TYPES)[number], data: unknown): StreamEventMessage | null {
  let body: Record<string, unknown> = {};
  if (typeof data === 'string' && data !== '') {
    try {
      const parsed = JSON.parse(data) as unknown;
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: keep the empty body; the event type alone is enough for most events.
    }
  }
  switch (type) {
    case 'viewercount': {
      const n = Number(body.viewercount);
      return Number.isFinite(n) && n >= 0 ? { type, viewercount: n } : null;
    }
    case 'error':
      return { type, message: typeof body.message === 'string' ? body.message : String(data) };
    default:
      return { type };
  }
}
