import { batch, signal } from '@preact/signals';
import type { Page, StreamView } from '../../../protocol/api.ts';
import type { GlintApi } from '../lib/api.ts';
import { ApiError } from '../lib/api-error.ts';
import { createSerialQueue } from './serial-queue.ts';

/** Whether the page is on screen, and a way to hear when that changes. */
export interface Visibility {
  visible(): boolean;
  subscribe(listener: () => void): () => void;
}

export interface LiveStreamsDeps {
  api: Pick<GlintApi, 'liveStreams'>;
  visibility: Visibility;
  pageSize?: number;
  pollMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const MAX_LIMIT = 100;

export type LiveStreams = ReturnType<typeof createLiveStreams>;

/**
 * The home page's list of live streams. `start()` loads it and refreshes it every `pollMs`
 * while the page is visible (at once when it becomes visible again); `loadMore()` follows
 * the cursor. Loads run one at a time so a refresh and a "load more" cannot interleave.
 */
export function createLiveStreams(deps: LiveStreamsDeps) {
  const pageSize = deps.pageSize ?? 20;
  const pollMs = deps.pollMs ?? 10_000;
  const setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = deps.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));

  const items = signal<StreamView[]>([]);
  const nextCursor = signal<string | null>(null);
  /** True once the first page has arrived (so "nothing is live" can be told from "loading"). */
  const loaded = signal(false);
  const loadingMore = signal(false);
  const error = signal<ApiError | null>(null);

  const queue = createSerialQueue();
  let timer: unknown = null;
  let running = false;
  let unsubscribe: (() => void) | null = null;

  function toApiError(err: unknown): ApiError {
    return err instanceof ApiError ? err : new ApiError('BAD_RESPONSE', String(err));
  }

  /** Reloads from the top, keeping as many items as are shown now (up to the API's limit). */
  function refresh(): Promise<void> {
    return queue.run(async () => {
      const limit = Math.min(MAX_LIMIT, Math.max(pageSize, items.peek().length));
      try {
        const page = await deps.api.liveStreams({ limit });
        batch(() => {
          items.value = page.items;
          nextCursor.value = page.nextCursor;
          loaded.value = true;
          error.value = null;
        });
      } catch (err) {
        error.value = toApiError(err);
      }
    });
  }

  function loadMore(): Promise<void> {
    const cursor = nextCursor.peek();
    if (cursor === null || loadingMore.peek()) return Promise.resolve();
    loadingMore.value = true;
    return queue.run(async () => {
      try {
        // A refresh may have replaced the list while we waited; follow its cursor.
        const current = nextCursor.peek();
        if (current === null) return;
        const page: Page<StreamView> = await deps.api.liveStreams({ limit: pageSize, cursor: current });
        const seen = new Set(items.peek().map((s) => s.id));
        batch(() => {
          items.value = [...items.peek(), ...page.items.filter((s) => !seen.has(s.id))];
          nextCursor.value = page.nextCursor;
          error.value = null;
        });
      } catch (err) {
        error.value = toApiError(err);
      } finally {
        loadingMore.value = false;
      }
    });
  }

  function schedule(): void {
    if (timer !== null) clearTimer(timer);
    timer = null;
    if (!running || !deps.visibility.visible()) return;
    timer = setTimer(() => {
      timer = null;
      void refresh().then(schedule);
    }, pollMs);
  }

  function onVisibility(): void {
    if (!running) return;
    if (deps.visibility.visible()) void refresh().then(schedule);
    else schedule(); // clears the timer
  }

  /** Loads now and keeps the list fresh until `stop()`. */
  function start(): void {
    if (running) return;
    running = true;
    unsubscribe = deps.visibility.subscribe(onVisibility);
    void refresh().then(schedule);
  }

  function stop(): void {
    running = false;
    unsubscribe?.();
    unsubscribe = null;
    if (timer !== null) clearTimer(timer);
    timer = null;
  }

  return { items, nextCursor, loaded, loadingMore, error, refresh, loadMore, start, stop, close: stop };
}

/** Page visibility from `document`. */
export function documentVisibility(doc: Document = document): Visibility {
  return {
    visible: () => doc.visibilityState === 'visible',
    subscribe(listener) {
      doc.addEventListener('visibilitychange', listener);
      return () => doc.removeEventListener('visibilitychange', listener);
    },
  };
}
