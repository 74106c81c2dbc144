import { batch, signal, type Signal } from '@preact/signals';
import type { CreateStreamBody, CreatedStream, StreamKeyView, StreamView } from '../../../protocol/api.ts';
import type { StreamId } from '../../../protocol/ids.ts';
import type { GlintApi } from '../lib/api.ts';
import { ApiError } from '../lib/api-error.ts';

export type MyStreamsApi = Pick<GlintApi, 'myStreams' | 'createStream' | 'streamKey' | 'rotateStreamKey'>;

/** The stream key of one stream: hidden until revealed, rotated only after confirming. */
export interface StreamKeyModel {
  /** The revealed key, or null while hidden. */
  key: Signal<StreamKeyView | null>;
  busy: Signal<'reveal' | 'rotate' | null>;
  confirmingRotate: Signal<boolean>;
  error: Signal<ApiError | null>;
  reveal(): Promise<void>;
  hide(): void;
  /** The key for copying: the revealed one, or fetched without showing it (screen sharing). */
  valueForCopy(): Promise<string | null>;
  askRotate(): void;
  cancelRotate(): void;
  /** Rotates and shows the new key. Only runs after `askRotate()`. */
  rotate(): Promise<void>;
}

export type MyStreams = ReturnType<typeof createMyStreams>;

/** The caller's streams on "My streams": list, create, and per-stream key handling. */
export function createMyStreams(api: MyStreamsApi) {
  const items = signal<StreamView[]>([]);
  const loaded = signal(false);
  const loading = signal(false);
  const error = signal<ApiError | null>(null);
  const keys = new Map<StreamId, StreamKeyModel>();

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const { items: streams } = await api.myStreams();
      batch(() => {
        items.value = streams;
        loaded.value = true;
        error.value = null;
      });
    } catch (err) {
      error.value = asApiError(err);
    } finally {
      loading.value = false;
    }
  }

  /** Creates a stream and puts it first. Rejects with the ApiError for the form to show. */
  async function create(body: CreateStreamBody): Promise<CreatedStream> {
    const created = await api.createStream(body);
    items.value = [created.stream, ...items.peek().filter((s) => s.id !== created.stream.id)];
    return created;
  }

  function keyFor(id: StreamId): StreamKeyModel {
    let model = keys.get(id);
    if (!model) {
      model = createStreamKeyModel(api, id, (ingestUrl) => {
        items.value = items.peek().map((s) => (s.id === id && s.ingestUrl !== ingestUrl ? { ...s, ingestUrl } : s));
      });
      keys.set(id, model);
    }
    return model;
  }

  /** Forgets revealed keys (leaving the page should not leave secrets in memory). */
  function close(): void {
    keys.clear();
  }

  return { items, loaded, loading, error, load, create, keyFor, close };
}

/** The key of one stream on its own (the Studio); `onIngestUrl` hears the URL each answer carries. */
export function createStreamKeyModel(
  api: Pick<MyStreamsApi, 'streamKey' | 'rotateStreamKey'>,
  id: StreamId,
  onIngestUrl: (url: string) => void = () => undefined,
): StreamKeyModel {
  const key = signal<StreamKeyView | null>(null);
  const busy = signal<'reveal' | 'rotate' | null>(null);
  const confirmingRotate = signal(false);
  const error = signal<ApiError | null>(null);

  async function run(
    kind: 'reveal' | 'rotate',
    call: () => Promise<StreamKeyView>,
    show = true,
  ): Promise<StreamKeyView | null> {
    if (busy.peek() !== null) return null;
    batch(() => {
      busy.value = kind;
      error.value = null;
    });
    try {
      const view = await call();
      if (show) key.value = view;
      onIngestUrl(view.ingestUrl);
      return view;
    } catch (err) {
      error.value = asApiError(err);
      return null;
    } finally {
      busy.value = null;
    }
  }

  return {
    key,
    busy,
    confirmingRotate,
    error,
    async reveal() {
      await run('reveal', () => api.streamKey(id));
    },
    hide() {
      key.value = null;
    },
    async valueForCopy() {
      const shown = key.peek();
      if (shown) return shown.streamKey;
      return (await run('reveal', () => api.streamKey(id), false))?.streamKey ?? null;
    },
    askRotate() {
      confirmingRotate.value = true;
    },
    cancelRotate() {
      confirmingRotate.value = false;
    },
    async rotate() {
      if (!confirmingRotate.peek()) return;
      confirmingRotate.value = false;
      await run('rotate', () => api.rotateStreamKey(id));
    },
  };
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('BAD_RESPONSE', err instanceof Error ? err.message : String(err));
}
