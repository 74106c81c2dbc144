import type { ComponentChildren } from 'preact';
import type { StreamView } from '../../../protocol/api.ts';
import type { Resource } from '../state/resource.ts';
import { ErrorMessage } from './error-message.tsx';
import { Loading } from './loading.tsx';

/** Loading and error states of a stream; renders `children` once it has loaded. */
export function StreamGate({
  resource,
  children,
}: {
  resource: Resource<StreamView>;
  children: (stream: StreamView) => ComponentChildren;
}) {
  const stream = resource.data.value;
  if (resource.error.value && !stream) {
    const notFound = resource.error.value.code === 'STREAM_NOT_FOUND';
    return <ErrorMessage error={notFound ? 'This stream does not exist (or was deleted).' : resource.error.value} />;
  }
  if (!stream) return <Loading label="Loading stream…" />;
  return <>{children(stream)}</>;
}
