import { describe, expect, it } from 'vitest';
import type { Page, StreamView } from '../../../protocol/api.ts';
import type { StreamId, UserId } from '../../../protocol/ids.ts';
import { ApiError } from '../lib/api-error.ts';
import { createLiveStreams, type Visibility } from './live-streams.ts';

function stream(n: number): StreamView {
  return {
    id: `stream-${n}` as StreamId,
    userId: 'user-1' as UserId,
    title: `Stream ${n}`,
    description: '',
    status: 'live',
    startTime: '2025-01-01T00:00:00.000Z',
    endTime: null,
    viewCount: n,
    ingestUrl: `https://glint.test/whip/stream-${n}`,
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

/** Pages of `all`, `size` at a time; the cursor is the next index. Records each query. */
function fakeApi(all: () => StreamView[]) {
  const queries: { limit?: number; cursor?: string | null }[] = [];
  let failNext: ApiError | null = null;
  return {
    queries,
    failNext(err: ApiError) {
      failNext = err;
    },
    async liveStreams(query: { limit?: number; cursor?: string | null } = {}): Promise<Page<StreamView>> {
      queries.push(query);
      await Promise.resolve();
      if (failNext) {
        const err = failNext;
        failNext = null;
        throw err;
      }
      const start = Number(query.cursor ?? 0);
      const limit = query.limit ?? 20;
      const items = all().slice(start, start + limit);
      const next = start + limit < all().length ? String(start + limit) : null;
      return { items, nextCursor: next };
    },
  };
}

function fakeTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let id = 0;
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      id += 1;
      pending.set(id, { fn, ms });
      return id;
    },
    clearTimer: (handle: unknown) => void pending.delete(handle as number),
    /** Fires every timer that is due now. */
    fire() {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, timer] of due) timer.fn();
    },
  };
}

function fakeVisibility(initial = true) {
  let visible = initial;
  const listeners = new Set<() => void>();
  const visibility: Visibility & { set(v: boolean): void } = {
    visible: () => visible,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(v) {
      visible = v;
      for (const l of listeners) l();
    },
  };
  return visibility;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('live streams', () => {
  it('shows an empty, loaded list when nothing is live', async () => {
    const api = fakeApi(() => []);
    const timers = fakeTimers();
    const live = createLiveStreams({ api, visibility: fakeVisibility(), ...timers });
    expect(live.loaded.value).toBe(false);
    live.start();
    await settle();
    expect(live.loaded.value).toBe(true);
    expect(live.items.value).toEqual([]);
    expect(live.nextCursor.value).toBeNull();
    live.stop();
  });

  it('follows the cursor on "load more" and then refreshes as many items as are shown', async () => {
    const streams = Array.from({ length: 5 }, (_, i) => stream(i));
    const api = fakeApi(() => streams);
    const timers = fakeTimers();
    const live = createLiveStreams({ api, visibility: fakeVisibility(), pageSize: 2, ...timers });

    await live.refresh();
    expect(live.items.value.map((s) => s.id)).toEqual(['stream-0', 'stream-1']);
    await live.loadMore();
    expect(live.items.value.map((s) => s.id)).toEqual(['stream-0', 'stream-1', 'stream-2', 'stream-3']);
    expect(live.nextCursor.value).toBe('4');

    await live.refresh();
    expect(api.queries.at(-1)).toEqual({ limit: 4 });
    expect(live.items.value).toHaveLength(4);
  });

  it('polls every 10 seconds while visible, stops while hidden and reloads on return', async () => {
    const api = fakeApi(() => [stream(1)]);
    const timers = fakeTimers();
    const visibility = fakeVisibility(true);
    const live = createLiveStreams({ api, visibility, ...timers });

    live.start();
    await settle();
    expect(api.queries).toHaveLength(1);
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([10_000]);

    timers.fire();
    await settle();
    expect(api.queries).toHaveLength(2);

    visibility.set(false);
    expect(timers.pending.size).toBe(0);

    visibility.set(true);
    await settle();
    expect(api.queries).toHaveLength(3);
    expect(timers.pending.size).toBe(1);

    live.stop();
    expect(timers.pending.size).toBe(0);
  });

  it('keeps the shown streams and reports the error when a refresh fails', async () => {
    const api = fakeApi(() => [stream(1)]);
    const live = createLiveStreams({ api, visibility: fakeVisibility(), ...fakeTimers() });
    await live.refresh();
    api.failNext(new ApiError('SERVICE_UNAVAILABLE', 'The server is draining.', { status: 503 }));

    await live.refresh();

    expect(live.items.value).toHaveLength(1);
    expect(live.error.value?.message).toBe('The server is draining.');
    await live.refresh();
    expect(live.error.value).toBeNull();
  });
});
