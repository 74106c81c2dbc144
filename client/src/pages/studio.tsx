import { ButtonLink } from '../components/button.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { RequireAuth } from '../components/require-auth.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import styles from './stream-page.module.css';
import { StreamGate } from '../components/stream-gate.tsx';
import { useStream } from '../lib/use-stream.ts';

/** Placeholder: the browser publisher (camera preview, go live) arrives with the media work. */
export default function StudioPage({ params }: { params: Record<string, string> }) {
  useTitle('Studio');
  return (
    <RequireAuth>
      <Studio id={params.id} />
    </RequireAuth>
  );
}

function Studio({ id }: { id: string | undefined }) {
  const { session } = useServices();
  const stream = useStream(id);
  return (
    <StreamGate resource={stream}>
      {(s) =>
        s.userId !== session.user.value?.id ? (
          <ErrorMessage error="Only the owner of this stream can open its studio." />
        ) : (
          <div class={styles.page}>
            <div class={styles.titleRow}>
              <h1 data-testid="stream-title">Studio · {s.title}</h1>
              <StatusBadge status={s.status} />
            </div>
            <div class={styles.player} data-testid="studio-placeholder">
              <span>Camera preview and “Go live” are coming soon. Meanwhile, publish with any WHIP encoder.</span>
            </div>
            <div class={styles.links}>
              <ButtonLink href="/me/streams">Stream key and WHIP URL</ButtonLink>
              <ButtonLink href={`/watch/${s.id}`}>Open watch page</ButtonLink>
            </div>
          </div>
        )
      }
    </StreamGate>
  );
}
