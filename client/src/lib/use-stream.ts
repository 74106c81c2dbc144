import { useEffect } from 'preact/hooks';
import type { StreamView } from '../../../protocol/api.ts';
import { asStreamId } from '../../../protocol/ids.ts';
import { createResource, type Resource } from '../state/resource.ts';
import { useModel } from './use-model.ts';
import { useServices } from './use-services.ts';

/** Loads `GET /streams/:id` for as long as the calling page shows it. */
export function useStream(id: string | undefined): Resource<StreamView> {
  const { api } = useServices();
  const streamId = asStreamId(id ?? '');
  const resource = useModel(() => createResource(() => api.stream(streamId).then((r) => r.stream)), [api, streamId]);
  useEffect(() => {
    void resource.load();
  }, [resource]);
  return resource;
}
