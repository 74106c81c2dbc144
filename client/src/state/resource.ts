import { batch, signal } from '@preact/signals';
import { ApiError } from '../lib/api-error.ts';

export type Resource<T> = ReturnType<typeof createResource<T>>;

/**
 * One thing loaded from the API (a profile, a stream): its data, the error, and whether it
 * is loading. Answers that arrive after a newer `load()` started, or after `close()`, are dropped.
 */
export function createResource<T>(loader: () => Promise<T>) {
  const data = signal<T | null>(null);
  const error = signal<ApiError | null>(null);
  const loading = signal(false);
  let generation = 0;

  async function load(): Promise<void> {
    const mine = ++generation;
    loading.value = true;
    try {
      const value = await loader();
      if (mine !== generation) return;
      batch(() => {
        data.value = value;
        error.value = null;
      });
    } catch (err) {
      if (mine !== generation) return;
      error.value = err instanceof ApiError ? err : new ApiError('BAD_RESPONSE', String(err));
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  function close(): void {
    generation += 1;
  }

  return { data, error, loading, load, close };
}
