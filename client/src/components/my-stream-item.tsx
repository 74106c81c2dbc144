import type { StreamView } from '../../../protocol/api.ts';
import { formatDate, timeAgo } from '../lib/format.ts';
import type { StreamKeyModel } from '../state/my-streams.ts';
import { ButtonLink } from './button.tsx';
import styles from './my-stream-item.module.css';
import { StatusBadge } from './status-badge.tsx';
import { StreamKeyFields } from './stream-key-fields.tsx';

/** One of my streams: status, WHIP URL, the stream key (hidden until revealed) and links. */
export function MyStreamItem({ stream, keyModel }: { stream: StreamView; keyModel: StreamKeyModel }) {
  const titleId = `stream-${stream.id}-title`;

  return (
    <article class={styles.item} aria-labelledby={titleId} data-testid="stream-item" data-stream-id={stream.id}>
      <header class={styles.head}>
        <div class={styles.titleRow}>
          <h3 id={titleId} class={styles.title}>
            {stream.title}
          </h3>
          <StatusBadge status={stream.status} />
        </div>
        <p class={styles.meta}>
          {stream.status === 'reconnecting'
            ? 'Your encoder lost its connection: waiting for it to come back'
            : stream.status === 'live' && stream.startTime
            ? `Live since ${timeAgo(stream.startTime)}`
            : stream.endTime
              ? `Last live ${timeAgo(stream.endTime)}`
              : `Created ${formatDate(stream.createdAt)}`}
        </p>
        {stream.description ? <p class={styles.description}>{stream.description}</p> : null}
      </header>

      <StreamKeyFields ingestUrl={stream.ingestUrl} keyModel={keyModel} />

      <footer class={styles.links}>
        <ButtonLink small variant="primary" href={`/studio/${stream.id}`}>
          Open studio
        </ButtonLink>
        <ButtonLink small href={`/watch/${stream.id}`}>
          Watch page
        </ButtonLink>
      </footer>
    </article>
  );
}
