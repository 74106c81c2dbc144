import { useEffect } from 'preact/hooks';
import { Button, ButtonLink } from '../components/button.tsx';
import { ErrorMessage } from '../components/error-message.tsx';
import { Loading } from '../components/loading.tsx';
import { StreamCard } from '../components/stream-card.tsx';
import { useModel } from '../lib/use-model.ts';
import { useServices } from '../lib/use-services.ts';
import { useTitle } from '../lib/use-title.ts';
import { createLiveStreams, documentVisibility } from '../state/live-streams.ts';
import styles from './home.module.css';

export default function HomePage() {
  const { api, session } = useServices();
  const live = useModel(() => createLiveStreams({ api, visibility: documentVisibility() }), [api]);
  useTitle(null);
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);

  const items = live.items.value;
  return (
    <div class={styles.page}>
      <section class={styles.hero}>
        <h1>Live now</h1>
        <p class={styles.lead}>Low-latency streams, straight from the browser or your encoder.</p>
      </section>

      {live.error.value ? (
        <ErrorMessage error={live.error.value}>
          <Button small onClick={() => void live.refresh()}>
            Try again
          </Button>
        </ErrorMessage>
      ) : null}

      {!live.loaded.value ? (
        live.error.value ? null : <Loading label="Loading live streams…" />
      ) : items.length === 0 ? (
        <div class={styles.empty} data-testid="live-empty">
          <h2>Nobody is live right now</h2>
          <p>Check back soon — this page refreshes by itself.</p>
          {session.isLoggedIn.value ? (
            <ButtonLink variant="primary" href="/me/streams">
              Go live from My streams
            </ButtonLink>
          ) : (
            <ButtonLink variant="primary" href="/register">
              Create an account to stream
            </ButtonLink>
          )}
        </div>
      ) : (
        <>
          <ul class={styles.grid} aria-label="Live streams">
            {items.map((stream) => (
              <li key={stream.id}>
                <StreamCard stream={stream} />
              </li>
            ))}
          </ul>
          {live.nextCursor.value ? (
            <div class={styles.more}>
              <Button onClick={() => void live.loadMore()} disabled={live.loadingMore.value}>
                {live.loadingMore.value ? 'Loading…' : 'Load more'}
              </Button>
            </div>
          ) : null}
        </>
      )}
    </div>
  );
}
